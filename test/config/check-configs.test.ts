// `npm run check-configs -- DIR`: the porting aid lists, per config, what tser lacks and the
// missing names by how many configs need them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers/proxy.js';

describe('scripts/check-configs.mjs', () => {
  it('reports passing configs, what the others lack, and the missing names by frequency', () => {
    const dir = tempDir('tser-check-');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'good.cfg'), '#!KAMAILIO\nloadmodule "sl.so"\nrequest_route { sl_send_reply("404", "x"); }\n');
    const lacking = (f: string) =>
      `#!KAMAILIO\nloadmodule "sl.so"\nloadmodule "nosuchmod.so"\nrequest_route { ${f}("x"); sl_send_reply("404", "$nopv(a)"); }\n`;
    writeFileSync(join(dir, 'a.cfg'), lacking('frobnicate'));
    writeFileSync(join(dir, 'sub', 'b.cfg'), lacking('twiddle'));
    writeFileSync(join(dir, 'notes.txt'), 'not a config');
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/check-configs.mjs'), dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ok    good.cfg: OK');
    expect(r.stdout).toMatch(/FAIL {2}a\.cfg: module nosuchmod, function frobnicate/);
    expect(r.stdout).toMatch(/FAIL {2}sub\/b\.cfg: module nosuchmod, function twiddle/);
    expect(r.stdout).toContain('1 of 3 configs pass tser -c');
    expect(r.stdout).toMatch(/\n {4}2 {2}module nosuchmod\n/);
    expect(r.stdout).toMatch(/\n {4}1 {2}function frobnicate\n/);
  });
});
