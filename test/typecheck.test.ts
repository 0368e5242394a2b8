import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    typecheckFile: string;
  }
}

describe('typescript', () => {
  it('the whole project type-checks in strict mode', () => {
    const errors = readFileSync(inject('typecheckFile'), 'utf8');
    expect(errors).toBe('');
  });
});
