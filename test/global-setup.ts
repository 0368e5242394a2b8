// Build once before the tests so end-to-end tests that spawn `node dist/src/cli.js` run
// the code under test, never a stale build. Type errors do not stop the emit; they are
// saved for test/typecheck.test.ts, which fails on them.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';


export default function setup({ provide }: { provide: (k: string, v: string) => void }): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { encoding: 'utf8' });
  const file = join(tmpdir(), `tser-typecheck-${process.pid}.txt`);
  writeFileSync(file, r.status === 0 ? '' : `${r.stdout}${r.stderr}`);
  provide('typecheckFile', file);
}
