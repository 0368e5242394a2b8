// Finds the modules shipped in modules/<name>/index (one folder per Kamailio module name)
// and runs their lifecycle. The core knows no module by name: `loadmodule "x.so"` looks
// for folder x, or a module declaring x among its aliases.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModuleDef, ParamSpec } from './module-api.js';

export type AnyModuleDef = ModuleDef<unknown, Record<string, ParamSpec>>;

const here = dirname(fileURLToPath(import.meta.url));
/** modules/ next to src/ (works from the TS sources and from dist/) */
const modulesDir = join(here, '..', '..', 'modules');

let catalog: Promise<Map<string, AnyModuleDef>> | null = null;

/** every available module, by name and by alias (lower case) */
export function moduleCatalog(): Promise<Map<string, AnyModuleDef>> {
  catalog ??= loadCatalog();
  return catalog;
}

function indexFile(dir: string): string | null {
  const js = join(modulesDir, dir, 'index.js');
  const ts = join(modulesDir, dir, 'index.ts');
  return existsSync(js) ? js : existsSync(ts) ? ts : null;
}

async function importDef(file: string): Promise<AnyModuleDef | null> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: AnyModuleDef };
  return mod.default ?? null;
}

// aliases the shipped modules declare (checked against the module when used): lets
// namedModules() import only db_mysql for `loadmodule "mysql.so"`
const KNOWN_ALIASES: Record<string, string> = { mysql: 'db_mysql', dbtext: 'db_text', rewrite: 'textops', textopsx: 'textops' };

/**
 * Only the modules a config loads, by the names in its loadmodule lines (lower case), as
 * moduleCatalog() would resolve them — without importing every other module (their code
 * would stay in the process's memory). null when a name is neither a module folder nor a
 * known alias: the caller then needs the whole catalog.
 */
export async function namedModules(names: Iterable<string>): Promise<Map<string, AnyModuleDef> | null> {
  const out = new Map<string, AnyModuleDef>();
  for (const name of new Set(names)) {
    if (out.has(name)) continue;
    if (!/^[a-z0-9_]+$/.test(name)) return null;
    const dir = indexFile(name) ? name : KNOWN_ALIASES[name];
    const file = dir === undefined ? null : indexFile(dir);
    const def = file ? await importDef(file) : null;
    if (!def || def.name.toLowerCase() !== dir || (dir !== name && !(def.aliases ?? []).some((a) => a.toLowerCase() === name))) return null;
    out.set(def.name.toLowerCase(), def);
    out.set(name, def);
  }
  return out;
}

async function loadCatalog(): Promise<Map<string, AnyModuleDef>> {
  const out = new Map<string, AnyModuleDef>();
  if (!existsSync(modulesDir)) return out;
  const dirs = readdirSync(modulesDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  const defs = await Promise.all(
    dirs.map(async (d) => {
      const file = indexFile(d.name);
      return file ? importDef(file) : null;
    }),
  );
  for (const def of defs) {
    if (!def) continue;
    out.set(def.name.toLowerCase(), def);
  }
  for (const def of defs) {
    if (!def) continue;
    for (const a of def.aliases ?? []) if (!out.has(a.toLowerCase())) out.set(a.toLowerCase(), def);
  }
  return out;
}

/** `"/usr/local/lib/ser/modules/mysql.so"` → `"mysql"` */
export function moduleNameFromPath(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.so$/i, '').toLowerCase();
}
