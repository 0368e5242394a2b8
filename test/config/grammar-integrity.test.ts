// The generated parser is committed; it must be exactly what grammar/ser.peggy produces.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface BuildScript {
  buildParserSource: () => string;
  buildParserDts: () => string;
}

const load = async (): Promise<BuildScript> =>
  (await import(pathToFileURL(join(root, 'scripts', 'build-grammar.mjs')).href)) as BuildScript;

describe('src/config/parser.generated.js', () => {
  it('is up to date with grammar/ser.peggy (run `npm run build:grammar`)', async () => {
    const committed = readFileSync(join(root, 'src', 'config', 'parser.generated.js'), 'utf8');
    expect((await load()).buildParserSource() === committed).toBe(true);
  });

  it('has an up-to-date .d.ts', async () => {
    const committed = readFileSync(join(root, 'src', 'config', 'parser.generated.d.ts'), 'utf8');
    expect((await load()).buildParserDts()).toBe(committed);
  });
});
