// Every stock Kamailio 5.6 config (Debian package: /etc/kamailio/kamailio.cfg and
// /usr/share/doc/kamailio/examples, copied into test/fixtures/kamailio-configs) and every
// example in examples/ must parse without errors, with #!ifdef sections off and on.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DiagnosticBag } from '../../src/config/diagnostics.js';
import { parseConfigFile } from '../../src/config/parse.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'kamailio-configs');

function cfgFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? cfgFiles(p) : p.endsWith('.cfg') ? [p] : [];
    })
    .sort();
}

// kamailio-basic-kemi.cfg includes its native routes from the install location
const readFile = (p: string): string =>
  readFileSync(p.replace('/usr/local/etc/kamailio/', join(fixtures, 'examples', 'kemi') + '/'), 'utf8');

const COMMON = ['WITH_MYSQL', 'WITH_AUTH', 'WITH_USRLOCDB', 'WITH_NAT'];

// sections that are broken upstream when switched on (a truncated line and a doubled `else`)
const BROKEN: Record<string, string[]> = {
  'examples/pkg/sipcapture.cfg': ['WITH_STATISTIC_INVITE_1XX', 'WITH_STATISTIC_METHOD_EXTRA'],
};

function errorsOf(file: string, defines: string[]): string {
  const bag = new DiagnosticBag();
  const r = parseConfigFile(file, { bag, readFile, defines: new Map(defines.map((d) => [d, true as const])) });
  expect(r).not.toBeNull();
  expect(r!.ast.items.length).toBeGreaterThan(0);
  return bag.errors().map((d) => `${d.code} ${d.loc?.source}:${d.loc?.start.line}:${d.loc?.start.column} ${d.message}`).join('\n');
}

describe('stock Kamailio configs', () => {
  const files = cfgFiles(fixtures);

  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
  });

  for (const file of files) {
    const name = relative(fixtures, file);
    it(`parses ${name}`, () => {
      const text = readFileSync(file, 'utf8');
      const withs = [...new Set([...text.matchAll(/#!ifn?def\s+(WITH_\w+)/g)].map((m) => m[1]!))].filter(
        (d) => !(BROKEN[name] ?? []).includes(d),
      );
      expect(errorsOf(file, [])).toBe('');
      expect(errorsOf(file, COMMON)).toBe('');
      expect(errorsOf(file, withs)).toBe('');
    });
  }
});

describe('examples/', () => {
  for (const file of cfgFiles(join(root, 'examples'))) {
    it(`parses ${relative(root, file)}`, () => {
      expect(errorsOf(file, [])).toBe('');
    });
  }

  it('reads the SER 0.9 auth example as written', () => {
    const bag = new DiagnosticBag();
    const r = parseConfigFile(join(root, 'examples', 'ser-auth.cfg'), { bag })!;
    const items = r.ast.items;
    expect(r.mode).toBeNull();
    expect(items.filter((i) => i.kind === 'route_block').map((i) => (i.kind === 'route_block' ? i.name : null))).toEqual([
      null,
      '1',
      '2',
      '3',
    ]);
    expect(items).toContainEqual(expect.objectContaining({ kind: 'global_param', name: 'listen', values: [expect.objectContaining({ value: '127.0.0.1' })] }));
    expect(items).toContainEqual(expect.objectContaining({ kind: 'global_param', name: 'fifo', values: [expect.objectContaining({ value: '/tmp/ser_fifo' })] }));
    expect(items).toContainEqual(
      expect.objectContaining({ kind: 'modparam', module: 'auth_db|uri_db|usrloc', param: 'db_url', value: expect.objectContaining({ value: 'mysql://root@127.0.0.1/tser' }) }),
    );
  });
});
