// `tser test -f proxy.cfg cases.yaml [--tap | --junit FILE] [--watch]`: run a routing script
// on the case files' messages with no network and check what it did. Exit 0 when every
// case passes, 1 on a failed case, 2 when the config or a case file cannot be used.
import { readFileSync, watch, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CaseFileError, parseCaseFile, type CaseFile } from './case-file.js';
import { check } from './check.js';
import { TestHarness } from './harness.js';

export const TEST_HELP = `Usage: tser test -f CONFIG CASES.yaml... [options]
  -f FILE        routing script (default ./tser.cfg)
  -A NAME[=VAL]  preprocessor define, repeatable
  --tap          TAP version 13 on stdout
  --junit FILE   also write a JUnit XML report
  --watch        run again when the config or a case file changes
Exit: 0 all passed, 1 a case failed, 2 the config or a case file is unusable.
`;

interface Result {
  file: string;
  name: string;
  failures: string[];
  ms: number;
}

const xml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

function junit(results: Result[]): string {
  const failed = results.filter((r) => r.failures.length).length;
  const cases = results
    .map((r) => {
      const body = r.failures.length ? `<failure message="${xml(r.failures[0])}">${xml(r.failures.join('\n'))}</failure>` : '';
      return `  <testcase classname="${xml(r.file)}" name="${xml(r.name)}" time="${(r.ms / 1000).toFixed(3)}">${body}</testcase>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="tser test" tests="${results.length}" failures="${failed}">\n${cases}\n</testsuite>\n`;
}

async function runOnce(cfgFile: string, caseFiles: string[], defines: Map<string, string | true>, tap: boolean, junitFile: string | undefined): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const suites: { file: string; cases: CaseFile }[] = [];
  try {
    for (const f of caseFiles) suites.push({ file: f, cases: parseCaseFile(readFileSync(f, 'utf8'), f) });
  } catch (e) {
    process.stderr.write(`tser test: ${e instanceof CaseFileError ? e.message : (e as Error).message}\n`);
    return 2;
  }
  const log = pino({ level: process.env.TSER_TEST_LOG ?? 'silent' });
  const results: Result[] = [];
  if (tap) out(`TAP version 13\n1..${suites.reduce((n, s) => n + s.cases.cases.length, 0)}\n`);
  for (const s of suites) {
    let h: TestHarness;
    try {
      h = await TestHarness.start(cfgFile, s.cases, { defines, log });
    } catch (e) {
      process.stderr.write(`tser test: ${cfgFile} with ${s.file}: ${(e as Error).message}\n`);
      return 2;
    }
    try {
      for (const c of s.cases.cases) {
        const t0 = Date.now();
        let failures: string[];
        try {
          const o = await h.run(c);
          failures = await check(c.expect, o, (t) => h.rows(t), (code) => h.replySites(code));
        } catch (e) {
          failures = [`error: ${(e as Error).message}`];
        }
        const r = { file: s.file, name: c.name, failures, ms: Date.now() - t0 };
        results.push(r);
        const n = results.length;
        if (tap) out(`${failures.length ? 'not ok' : 'ok'} ${n} - ${c.name}\n${failures.length ? `  ---\n  file: ${s.file}\n  failures:\n${failures.map((f) => `    - ${JSON.stringify(f)}`).join('\n')}\n  ...\n` : ''}`);
        else out(`${failures.length ? '✗' : '✓'} ${c.name}${failures.map((f) => `\n    ${f}`).join('')}\n`);
      }
    } finally {
      await h.stop();
    }
  }
  const failed = results.filter((r) => r.failures.length).length;
  if (junitFile) writeFileSync(junitFile, junit(results));
  out(`${tap ? '# ' : ''}${results.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

export async function runTestCommand(argv: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: { f: { type: 'string' }, A: { type: 'string', multiple: true }, tap: { type: 'boolean' }, junit: { type: 'string' }, watch: { type: 'boolean' }, h: { type: 'boolean' } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`tser test: ${(e as Error).message}\n${TEST_HELP}`);
    return 2;
  }
  // `tser test … | head` closes stdout early: not an error of the run
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  if (a.values.h) {
    process.stdout.write(TEST_HELP);
    return 0;
  }
  if (a.positionals.length === 0) {
    process.stderr.write(`tser test: no case file\n${TEST_HELP}`);
    return 2;
  }
  const cfg = a.values.f ?? 'tser.cfg';
  const defines = new Map<string, string | true>();
  for (const d of a.values.A ?? []) {
    const i = d.indexOf('=');
    if (i < 0) defines.set(d, true);
    else defines.set(d.slice(0, i), d.slice(i + 1));
  }
  const go = () => runOnce(cfg, a.positionals, defines, a.values.tap === true, a.values.junit);
  const code = await go();
  if (!a.values.watch) return code;
  // --watch: rerun (one at a time) when the config or a case file changes
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  const rerun = () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    process.stdout.write('\n--- change detected: running again ---\n');
    void go().finally(() => {
      running = false;
      if (again) {
        again = false;
        rerun();
      }
    });
  };
  for (const f of [cfg, ...a.positionals])
    watch(f, () => {
      clearTimeout(timer);
      timer = setTimeout(rerun, 150);
    });
  return new Promise<number>(() => undefined); // until interrupted
}
