// The carrier examples pass `tser -c` with the built CLI (modules, functions, arguments and
// subst expressions all checked), as an operator would check them before a start; a broken
// subst expression fails the check with its location.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, writeCfg } from '../helpers/proxy.js';

function check(file: string) {
  return spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli.js'), '-c', '-f', file], { encoding: 'utf8', timeout: 30000 });
}

describe('tser -c on the carrier examples', () => {
  for (const f of ['carrier-switch.cfg', 'number-rewrite.cfg']) {
    it(`accepts examples/${f}`, () => {
      const r = check(join(repoRoot, 'examples', f));
      expect(r.stderr + r.stdout).toMatch(/config OK/);
      expect(r.status).toBe(0);
    });
  }

  it('rejects a subst expression that does not compile, pointing at it', () => {
    const file = writeCfg('#!KAMAILIO\nloadmodule "textops.so"\nrequest_route {\n\tsubst_user(\'/^(0/44/\');\n}\n', 'bad-subst.cfg');
    const r = check(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TSER_E_BAD_ARG/);
    expect(r.stderr).toMatch(/bad-subst\.cfg:4:13/);
  });
});
