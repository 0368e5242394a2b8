// TypeScript strict mode over everything: the build (src/, modules/) and the tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from './helpers/proxy.js';

declare module 'vitest' {
  export interface ProvidedContext {
    typecheckFile: string;
  }
}

describe('typescript', () => {
  it('the build (src/, modules/) type-checks in strict mode', () => {
    const errors = readFileSync(inject('typecheckFile'), 'utf8');
    expect(errors).toBe('');
  });

  it('the tests type-check too', () => {
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.test.json'], { cwd: repoRoot, encoding: 'utf8' });
    expect(`${r.stdout}`.trim()).toBe('');
    expect(r.status).toBe(0);
  }, 180_000);
});
