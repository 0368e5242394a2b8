import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GlobalParam, ModParam, RouteBlock, TopLevel } from '../../src/config/ast.js';
import { DiagnosticBag } from '../../src/config/diagnostics.js';
import { parseConfigFile, parseConfigText, type ParsedConfig } from '../../src/config/parse.js';

function run(text: string, defines?: Map<string, string | true>, files: Record<string, string> = {}) {
  const bag = new DiagnosticBag();
  const readFile = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw new Error(`ENOENT: ${p}`);
    return t;
  };
  const parsed = parseConfigText(text, '/cfg/main.cfg', { bag, defines, readFile }) as ParsedConfig;
  return { parsed, bag, items: parsed.ast.items };
}

function ok(text: string, defines?: Map<string, string | true>, files?: Record<string, string>) {
  const r = run(text, defines, files);
  expect(r.bag.format()).toBe('');
  return r;
}

const params = (items: TopLevel[]): Record<string, unknown> =>
  Object.fromEntries(
    items.filter((i): i is GlobalParam => i.kind === 'global_param').map((p) => [p.name, p.values[0]?.value]),
  );

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('#!define', () => {
  it('substitutes names in params, modparams and route code', () => {
    const { items } = ok(
      '#!define DBURL "mysql://root@127.0.0.1/tser"\n#!define CHILDREN 4\n#!def FLT_ACC 1\n' +
        'children=CHILDREN\nmodparam("usrloc", "db_url", DBURL)\nroute { setflag(FLT_ACC); }\n',
    );
    expect(params(items)).toEqual({ children: 4 });
    expect((items[1] as ModParam).value).toMatchObject({ type: 'str', value: 'mysql://root@127.0.0.1/tser' });
    expect((items[2] as RouteBlock).body.body[0]).toMatchObject({ expr: { args: [{ kind: 'int', value: 1 }] } });
  });

  it('expands nested defines and leaves names without a value alone', () => {
    const { items } = ok('#!define A B\n#!define B 7\n#!define FLAG\nx=A\ny=FLAG\n');
    expect(params(items)).toEqual({ x: 7, y: 'FLAG' });
  });

  it('does not substitute inside strings or pseudo-variables', () => {
    const { items } = ok('#!define X 5\nroute { $var(X) = "X"; }\n');
    expect((items[0] as RouteBlock).body.body[0]).toMatchObject({ target: { inner: 'X' }, value: { value: 'X' } });
  });

  it('reads multi-line values with backslash continuation', () => {
    const { items } = ok('#!define LIST "a," \\\n  "b"\nx=LIST\ny=2\n');
    expect(params(items)).toEqual({ x: 'a,b', y: 2 });
  });

  it('trydef keeps the first value, redefine replaces, define twice is an error', () => {
    expect(params(ok('#!define A 1\n#!trydef A 2\n#!trydef B 3\nx=A\ny=B\n').items)).toEqual({ x: 1, y: 3 });
    expect(params(ok('#!define A 1\n#!redefine A 2\n#!redef A 3\nx=A\n').items)).toEqual({ x: 3 });
    const { bag } = run('#!define A 1\n#!define A 2\n');
    expect(bag.items).toMatchObject([{ code: 'TSER_E_PREPROC', loc: { start: { line: 2, column: 1 } } }]);
  });

  it('takes -A defines from the caller and returns the final map', () => {
    const { items, parsed } = ok(
      '#!ifdef WITH_AUTH\nauth=yes\n#!endif\nurl=DBURL\n#!define LOCAL 1\n',
      new Map<string, string | true>([['WITH_AUTH', true], ['DBURL', '"mysql://x"']]),
    );
    expect(params(items)).toEqual({ auth: true, url: 'mysql://x' });
    expect(parsed.defines.get('LOCAL')).toBe('1');
  });

  it('keeps columns right after a substitution', () => {
    const { bag } = run('#!define GREETING "a much longer value"\nroute {\n  xlog(GREETING) oops;\n}\n');
    expect(bag.items).toMatchObject([{ code: 'TSER_E_SYNTAX', loc: { start: { line: 3, column: 18 } } }]);
  });

  it('points errors inside a substituted value at the name', () => {
    const { bag } = run('#!define BAD 1 2\nroute {\n  $var(x) = BAD;\n}\n');
    expect(bag.items[0]).toMatchObject({ code: 'TSER_E_SYNTAX', loc: { start: { line: 3, column: 13 } } });
  });
});

describe('#!ifdef', () => {
  it('selects sections, with #!else and nesting', () => {
    const text =
      '#!ifdef A\na=1\n#!ifdef B\nab=1\n#!else\nanb=1\n#!endif\n#!else\nna=1\n#!ifndef B\nnanb=1\n#!endif\n#!endif\n';
    expect(params(ok(text).items)).toEqual({ na: 1, nanb: 1 });
    expect(params(ok(text, new Map([['A', true]])).items)).toEqual({ a: 1, anb: 1 });
    expect(params(ok(text, new Map([['A', true], ['B', true]])).items)).toEqual({ a: 1, ab: 1 });
  });

  it('ignores directives other than conditionals inside a disabled section', () => {
    const { items, parsed } = ok('#!ifdef NOPE\n#!define X 1\ninclude_file "missing.cfg"\njunk here {\n#!endif\nx=X\n');
    expect(params(items)).toEqual({ x: 'X' });
    expect(parsed.defines.has('X')).toBe(false);
  });

  it('works inside route blocks and expressions', () => {
    const { items } = ok('route {\n  if (a()\n#!ifdef B\n   && b()\n#!endif\n  ) { f(); }\n}\n');
    const r = items[0] as RouteBlock;
    expect(r.body.body[0]).toMatchObject({ kind: 'if', cond: { kind: 'call', name: 'a' } });
  });

  it('accepts !! as a synonym of #!', () => {
    expect(params(ok('!!define X 3\n!!ifdef X\nx=X\n!!endif\n').items)).toEqual({ x: 3 });
  });

  it('warns, as Kamailio does, about #!endif without #!ifdef and an unclosed #!ifdef', () => {
    const { bag } = run('x=1\n  #!endif\n#!ifdef A\ny=2\n');
    expect(bag.items.map((d) => [d.code, d.severity, d.loc?.start.line, d.loc?.start.column])).toEqual([
      ['TSER_W_PREPROC', 'warning', 2, 3],
      ['TSER_W_PREPROC', 'warning', 3, 1],
    ]);
  });
});

describe('#!subst and #!substdef', () => {
  it('substdef defines the name and rewrites strings', () => {
    const { items } = ok('#!substdef "!MY_DOMAIN!example.com!g"\nalias=MY_DOMAIN\nroute { xlog("at MY_DOMAIN\\n"); }\n');
    expect(params(items)).toEqual({ alias: 'example.com' });
    expect((items[1] as RouteBlock).body.body[0]).toMatchObject({ expr: { args: [{ value: 'at example.com\n' }] } });
  });

  it('substdefs defines a quoted value', () => {
    const { items } = ok('#!substdefs "/DBURL/mysql:\\/\\/u@h\\/db/"\nmodparam("m", "db_url", DBURL)\n');
    expect((items[0] as ModParam).value).toMatchObject({ type: 'str', value: 'mysql://u@h/db' });
  });

  it('subst rewrites strings only, with back-references', () => {
    const { items } = ok('#!subst "/user-([a-z]+)/u_\\1/g"\nx="user-bob"\ny=user\n');
    expect(params(items)).toEqual({ x: 'u_bob', y: 'user' });
  });
});

describe('#!defenv', () => {
  it('defines from the environment', () => {
    vi.stubEnv('TSER_TEST_PORT', '5080');
    vi.stubEnv('TSER_TEST_HOST', 'h.example');
    const { items } = ok('#!defenv PORT=TSER_TEST_PORT\n#!defenvs TSER_TEST_HOST\nport=PORT\nalias=TSER_TEST_HOST\n');
    expect(params(items)).toEqual({ port: 5080, alias: 'h.example' });
  });

  it('reports a missing variable unless trydefenv', () => {
    expect(run('#!trydefenv X=TSER_TEST_UNSET_VAR\n').bag.items).toEqual([]);
    expect(run('#!defenv X=TSER_TEST_UNSET_VAR\n').bag.items).toMatchObject([{ code: 'TSER_E_PREPROC' }]);
  });
});

describe('mode lines', () => {
  it('records the mode and where it was set', () => {
    const r = ok('\n#!KAMAILIO\nx=1\n');
    expect(r.parsed.mode).toBe('KAMAILIO');
    expect(r.parsed.modeLoc?.start).toMatchObject({ line: 2, column: 1 });
    expect(ok('#!SER\n').parsed.mode).toBe('SER');
    expect(ok('#!OPENSER\n').parsed.mode).toBe('OPENSER');
    expect(ok('#!MAXCOMPAT\n').parsed.mode).toBe('MAXCOMPAT');
    expect(ok('#!ALL\n').parsed.mode).toBe('MAXCOMPAT');
    expect(ok('x=1\n').parsed.mode).toBeNull();
  });

  it('treats unknown #! words as comments', () => {
    expect(params(ok('#!notadirective whatever\nx=1\n').items)).toEqual({ x: 1 });
  });
});

describe('comments', () => {
  it('skips #, // and nested /* */ comments', () => {
    const text = '# hash\nx=1 // slashes\n/* outer /* inner */ still comment */\ny=2 # tail\nroute { /* c */ f(); // x\n}\n';
    const { items } = ok(text);
    expect(params(items)).toEqual({ x: 1, y: 2 });
  });
});

describe('include_file / import_file', () => {
  const files = {
    '/cfg/sub/routes.cfg': '#!define FROM_SUB 9\nroute[A] { f(); }\nimport_file "more.cfg"\n',
    '/cfg/sub/more.cfg': 'route[B] { g(); }\n',
  };

  it('splices included items in place, paths relative to the including file', () => {
    const { items, parsed, bag } = ok('x=1\ninclude_file "sub/routes.cfg"\n#!include_file "sub/more.cfg"\ny=FROM_SUB\n', undefined, files);
    expect(items.map((i) => (i.kind === 'route_block' ? `route:${i.name}` : i.kind))).toEqual([
      'global_param',
      'route:A',
      'route:B',
      'route:B',
      'global_param',
    ]);
    expect(params(items)).toEqual({ x: 1, y: 9 });
    expect(items[1]!.loc.source).toBe('/cfg/sub/routes.cfg');
    expect(parsed.files).toEqual(['/cfg/main.cfg', '/cfg/sub/routes.cfg', '/cfg/sub/more.cfg']);
    expect([...bag.sources.keys()]).toEqual(parsed.files);
  });

  it('import_file skips a missing file, include_file reports it', () => {
    expect(run('import_file "nope.cfg"\nx=1\n').bag.items).toEqual([]);
    const { bag } = run('x=1\ninclude_file "nope.cfg"\n');
    expect(bag.items).toMatchObject([{ code: 'TSER_E_INCLUDE', loc: { source: '/cfg/main.cfg', start: { line: 2, column: 1 } } }]);
  });

  it('reports an include cycle', () => {
    const { bag } = run('include_file "a.cfg"\n', undefined, { '/cfg/a.cfg': 'include_file "a.cfg"\n' });
    expect(bag.items).toMatchObject([{ code: 'TSER_E_INCLUDE', loc: { source: '/cfg/a.cfg' } }]);
  });
});

describe('parseConfigFile', () => {
  it('returns null and reports when the file cannot be read', () => {
    const bag = new DiagnosticBag();
    expect(parseConfigFile('/no/such/file.cfg', { bag })).toBeNull();
    expect(bag.items).toMatchObject([{ code: 'TSER_E_CONFIG_READ' }]);
  });

  it('reads through the given readFile', () => {
    const bag = new DiagnosticBag();
    const r = parseConfigFile('/x/main.cfg', { bag, readFile: () => 'debug=2\n' });
    expect(r?.ast.items).toMatchObject([{ kind: 'global_param', name: 'debug' }]);
    expect(bag.sources.get('/x/main.cfg')).toBe('debug=2\n');
  });
});
