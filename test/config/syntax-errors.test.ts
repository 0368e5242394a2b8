import { describe, expect, it } from 'vitest';
import { DiagnosticBag } from '../../src/config/diagnostics.js';
import { parseConfigText } from '../../src/config/parse.js';

interface Where {
  code: string;
  line: number;
  column: number;
  source?: string;
}

function diagnose(text: string, files: Record<string, string> = {}) {
  const bag = new DiagnosticBag();
  const readFile = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw new Error(`ENOENT: ${p}`);
    return t;
  };
  const parsed = parseConfigText(text, '/cfg/main.cfg', { bag, readFile });
  const found: Where[] = bag.items.map((d) => ({
    code: d.code,
    line: d.loc?.start.line ?? 0,
    column: d.loc?.start.column ?? 0,
    source: d.loc?.source,
  }));
  return { bag, found, items: parsed?.ast.items ?? [] };
}

/** exactly these diagnostics (code + position), in any order */
function expectReports(text: string, expected: Where[], files?: Record<string, string>) {
  const { found, bag } = diagnose(text, files);
  const key = (w: Where) => `${w.source ?? '/cfg/main.cfg'} ${w.code} ${w.line}:${w.column}`;
  expect(found.map(key).sort(), bag.format()).toEqual(expected.map(key).sort());
  return bag;
}

describe('syntax errors', () => {
  it("reports a missing ';' right after the call", () => {
    const bag = expectReports('route {\n  f()\n  g();\n}\n', [{ code: 'TSER_E_SYNTAX', line: 2, column: 6 }]);
    expect(bag.items[0]!.message).toMatch(/expected ';' after function call/);
  });

  it("reports a missing ';' after an assignment and a return", () => {
    expectReports('route {\n  $var(x) = 1\n  return 1\n}\n', [
      { code: 'TSER_E_SYNTAX', line: 2, column: 14 },
      { code: 'TSER_E_SYNTAX', line: 3, column: 11 },
    ]);
  });

  it('reports an unterminated string at its opening quote, once', () => {
    const bag = expectReports('route {\n  f();\n  xlog("L_INFO", "hello);\n}\n', [{ code: 'TSER_E_SYNTAX', line: 3, column: 18 }]);
    expect(bag.items[0]!.message).toBe('unterminated string');
  });

  it('reports a block left open at the unclosed brace, and keeps the next route', () => {
    const { found, items } = diagnose('route[A] {\n  if (x()) {\n    f();\n}\n\nroute[B] {\n  g();\n}\n');
    expect(found).toEqual([{ code: 'TSER_E_SYNTAX', line: 1, column: 10, source: '/cfg/main.cfg' }]);
    expect(items.map((i) => (i.kind === 'route_block' ? i.name : i.kind))).toEqual(['A', 'B']);
  });

  it("reports a '}' with no open block", () => {
    const bag = expectReports('route {\n  f();\n}\n}\nx=1\n', [{ code: 'TSER_E_SYNTAX', line: 4, column: 1 }]);
    expect(bag.items[0]!.message).toMatch(/unexpected '}'/);
  });

  it('reports junk at top level', () => {
    const bag = expectReports('debug=3\nhello world\n12 + 3\nfork=no\n', [
      { code: 'TSER_E_SYNTAX', line: 2, column: 7 },
      { code: 'TSER_E_SYNTAX', line: 3, column: 1 },
    ]);
    expect(bag.items[0]!.message).toMatch(/expected '=' after the parameter name, found 'world'/);
    expect(bag.items[1]!.message).toMatch(/expected a top-level statement/);
  });

  it('reports an unknown route block keyword with a suggestion', () => {
    const bag = expectReports('requst_route {\n  f();\n}\n', [{ code: 'TSER_E_SYNTAX', line: 1, column: 1 }]);
    expect(bag.items[0]!.message).toBe('unknown route block keyword "requst_route"');
    expect(bag.items[0]!.help).toMatch(/request_route/);
  });

  it('reports a bad expression once, without cascades', () => {
    const bag = expectReports('route {\n  if ($var(x) == ) {\n    f();\n  } else {\n    g();\n  }\n  h();\n}\n', [
      { code: 'TSER_E_SYNTAX', line: 2, column: 18 },
    ]);
    expect(bag.items[0]!.message).toBe("expected an expression, found ')'");
  });

  it('names what was expected and what was found', () => {
    const bag = expectReports('route {\n  if ($x == 1 {\n    f();\n  }\n}\nmodparam("tm", "x" 1)\n', [
      { code: 'TSER_E_SYNTAX', line: 2, column: 15 },
      { code: 'TSER_E_SYNTAX', line: 6, column: 20 },
    ]);
    expect(bag.items.map((d) => d.message)).toEqual(["expected ')' or operator, found '{'", "expected ',', found '1'"]);
  });

  it('reports three separate errors in one file', () => {
    const text = [
      'debug=3',
      'route {',
      '  f()',
      '  g();',
      '}',
      'modparam("tm", "fr_timer" 5)',
      'failure_route[1] {',
      '  if (t_check_status("408") {',
      '    exit;',
      '  }',
      '  t_relay();',
      '}',
      '',
    ].join('\n');
    const { found, items } = diagnose(text);
    expect(found.map((w) => `${w.line}:${w.column}`)).toEqual(['3:6', '6:27', '8:29']);
    expect(items.map((i) => i.kind)).toEqual(['global_param', 'route_block', 'route_block']);
  });

  it('points an error inside an included file at that file', () => {
    expectReports('x=1\ninclude_file "routes.cfg"\n', [{ code: 'TSER_E_SYNTAX', line: 3, column: 11, source: '/cfg/routes.cfg' }], {
      '/cfg/routes.cfg': 'route[R] {\n  f();\n  $var(x) 1;\n}\n',
    });
  });

  it('reports include_file inside a block', () => {
    expectReports('route {\n  include_file "r.cfg"\n  f();\n}\n', [{ code: 'TSER_E_INCLUDE', line: 2, column: 3 }], {
      '/cfg/r.cfg': 'g();\n',
    });
  });

  it('reports #!endif without #!ifdef', () => {
    const bag = expectReports('x=1\n#!endif\n', [{ code: 'TSER_W_PREPROC', line: 2, column: 1 }]);
    expect(bag.items[0]!.severity).toBe('warning');
  });

  it('reports an unterminated block comment', () => {
    expectReports('x=1\n/* never closed\ny=2\n', [{ code: 'TSER_E_SYNTAX', line: 2, column: 1 }]);
  });

  it('hints at a missing quote when a string runs over lines', () => {
    const { bag } = diagnose('route {\n  xlog("L_INFO", "abc);\n  sl_send_reply("404", "Not here");\n}\n');
    const withHint = bag.items.find((d) => d.help?.includes('closing quote'));
    expect(withHint?.help).toMatch(/main\.cfg:2/);
  });

  it('formats with a caret under the problem', () => {
    const { bag } = diagnose('route {\n  f()\n  g();\n}\n');
    expect(bag.format()).toContain(' --> /cfg/main.cfg:2:6\n  |\n2 |   f()\n  |      ^');
  });
});
