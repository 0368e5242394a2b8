// typescript-eslint (type-checked rules, no import cycles) over src/ and modules/: the same
// command a developer runs, failing the suite on any finding.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

it('eslint finds nothing in src/ and modules/', () => {
  const root = resolve(import.meta.dirname, '..');
  const r = spawnSync('npx', ['eslint', 'src', 'modules'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  expect(r.status).toBe(0);
}, 300_000);
