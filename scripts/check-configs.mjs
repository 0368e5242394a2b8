#!/usr/bin/env node
// The porting aid: run `tser -c`'s checks over every config in a folder and print what each
// still lacks in tser (modules, functions, pseudo-variables, parameters), then the missing
// names by how many configs need them. Needs `npm run build`.
//   npm run check-configs -- DIR [-A DEFINE ...] [--json]
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { loadConfig } = await import(join(root, 'dist/src/config/load.js'));

const args = process.argv.slice(2);
const defines = new Map();
let dir = null;
let json = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-A') defines.set(args[++i], true);
  else if (args[i] === '--json') json = true;
  else dir = args[i];
}
if (!dir) {
  process.stderr.write('usage: npm run check-configs -- DIR [-A DEFINE ...] [--json]\n');
  process.exit(2);
}

function configs(d) {
  const out = [];
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...configs(p));
    else if (/\.cfg$/i.test(name)) out.push(p);
  }
  return out.sort();
}

// what a diagnostic says is missing: [kind, name], or null for other errors
const MISSING = [
  ['TSER_E_UNKNOWN_MODULE', 'module', /module "([^"]+)"/],
  ['TSER_E_UNKNOWN_FUNCTION', 'function', /function "([^"]+)"/],
  ['TSER_E_UNKNOWN_PV', 'pseudo-variable', /pseudo-variable (\S+)/],
  ['TSER_E_UNKNOWN_PARAM', 'core parameter', /parameter "([^"]+)"/],
  ['TSER_E_UNKNOWN_MODPARAM', 'module parameter', /module (\S+) has no parameter "([^"]+)"/],
];

function missingOf(d) {
  for (const [code, kind, re] of MISSING) {
    if (d.code !== code) continue;
    const m = re.exec(d.message);
    if (!m) continue;
    if (kind === 'pseudo-variable') return [kind, m[1].replace(/^(\$\w+)\(.*$/s, '$1(...)')];
    return [kind, m[2] ? `${m[1]}.${m[2]}` : m[1]];
  }
  return null;
}

const files = configs(dir);
const need = new Map(); // "kind name" → set of configs
const rows = [];
for (const file of files) {
  const name = relative(dir, file) || file;
  const cfg = await loadConfig(file, { defines });
  const errors = cfg.bag.errors();
  const lacks = [];
  const other = [];
  for (const d of errors) {
    const m = missingOf(d);
    if (m) {
      const key = `${m[0]} ${m[1]}`;
      if (!lacks.includes(key)) lacks.push(key);
      if (!need.has(key)) need.set(key, new Set());
      need.get(key).add(name);
    } else other.push(`${d.code}: ${d.message}`);
  }
  rows.push({ config: name, ok: errors.length === 0, lacks, other });
}

if (json) {
  process.stdout.write(`${JSON.stringify({ configs: rows, missing: [...need].map(([k, s]) => ({ what: k, configs: s.size })) }, null, 2)}\n`);
} else {
  for (const r of rows) {
    const what = r.ok ? 'OK' : [...r.lacks, ...r.other.map((o) => `(${o})`)].join(', ');
    process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.config}: ${what}\n`);
  }
  process.stdout.write(`\n${rows.filter((r) => r.ok).length} of ${rows.length} configs pass tser -c\n`);
  if (need.size > 0) {
    process.stdout.write('\nmissing in tser, by number of configs that need it:\n');
    for (const [k, s] of [...need].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0])))
      process.stdout.write(`${String(s.size).padStart(5)}  ${k}\n`);
  }
}
