import { describe, expect, it } from 'vitest';
import type { Expr, GlobalParam, ModParam, RouteBlock, Stmt, TopLevel } from '../../src/config/ast.js';
import { DiagnosticBag } from '../../src/config/diagnostics.js';
import { parseConfigText } from '../../src/config/parse.js';

function parseOk(text: string): TopLevel[] {
  const bag = new DiagnosticBag();
  const r = parseConfigText(text, 'test.cfg', { bag });
  expect(bag.format()).toBe('');
  return r!.ast.items;
}

function param(text: string): GlobalParam {
  const [item] = parseOk(text);
  expect(item?.kind).toBe('global_param');
  return item as GlobalParam;
}

function stmts(body: string): Stmt[] {
  const [route] = parseOk(`route {\n${body}\n}\n`);
  return (route as RouteBlock).body.body;
}

function expr(src: string): Expr {
  const [s] = stmts(`$var(r) = ${src};`);
  if (s?.kind !== 'assign') throw new Error('not an assignment');
  return s.value;
}

/** compact rendering of an expression tree, for precedence checks */
function show(e: Expr): string {
  switch (e.kind) {
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case 'unary':
      return `${e.op}${show(e.operand)}`;
    case 'cast':
      return `(${e.to})${show(e.operand)}`;
    case 'int':
      return String(e.value);
    case 'str':
      return e.bare ? e.value : JSON.stringify(e.value);
    case 'pv':
      return `$${e.name}${e.inner === null ? '' : `(${e.inner})`}`;
    case 'call':
      return `${e.name}(${e.args.map(show).join(', ')})`;
    case 'operand':
      return `<${e.name}>`;
    case 'ip':
      return e.text;
    case 'myself':
      return 'myself';
    case 'null':
      return '$null';
  }
}

describe('global parameters', () => {
  it('reads ints in every base, signed', () => {
    expect(param('children=4').values[0]).toMatchObject({ type: 'int', value: 4 });
    expect(param('debug=-1').values[0]).toMatchObject({ type: 'int', value: -1 });
    expect(param('x=0x1F').values[0]).toMatchObject({ type: 'int', value: 31 });
    expect(param('x=010').values[0]).toMatchObject({ type: 'int', value: 8 });
    expect(param('x=101b').values[0]).toMatchObject({ type: 'int', value: 5 });
    expect(param('max_while_loops=100;').values[0]).toMatchObject({ type: 'int', value: 100 });
  });

  it('reads booleans, identifiers and strings', () => {
    expect(param('fork=no').values[0]).toMatchObject({ type: 'bool', value: false });
    expect(param('log_stderror=yes').values[0]).toMatchObject({ type: 'bool', value: true });
    expect(param('x=enable').values[0]).toMatchObject({ type: 'bool', value: true });
    expect(param('log_facility=LOG_LOCAL0').values[0]).toMatchObject({ type: 'id', value: 'LOG_LOCAL0' });
    expect(param('fifo="/tmp/ser_fifo"').values[0]).toMatchObject({ type: 'str', value: '/tmp/ser_fifo' });
    expect(param("x='raw \\n'").values[0]).toMatchObject({ type: 'str', value: 'raw \\n' });
  });

  it('processes string escapes, keeping single-digit \\N and unknown escapes', () => {
    const v = param('x="a\\tb\\n\\"q\\" \\\\ \\x41\\101 \\1 \\+"').values[0];
    expect(v).toMatchObject({ type: 'str', value: 'a\tb\n"q" \\ AA \\1 \\+' });
  });

  it('keeps addresses, host names and sockets as text', () => {
    expect(param('listen=127.0.0.1').values[0]).toMatchObject({ type: 'id', value: '127.0.0.1' });
    expect(param('listen=udp:127.0.0.1:5060').values[0]).toMatchObject({ type: 'id', value: 'udp:127.0.0.1:5060' });
    expect(param('listen=tcp:[::1]:5060').values[0]).toMatchObject({ type: 'id', value: 'tcp:[::1]:5060' });
    expect(param('listen=*:5060').values[0]).toMatchObject({ type: 'id', value: '*:5060' });
    expect(param('alias=sip-1.example.com').values[0]).toMatchObject({ type: 'id', value: 'sip-1.example.com' });
  });

  it('reads lists and listen options', () => {
    expect(param('alias=a.com, b.com').values.map((v) => v.value)).toEqual(['a.com', 'b.com']);
    const l = param('listen=udp:1.2.3.4:5060 advertise 5.6.7.8:5060 name "pub"').values[0];
    expect(l).toMatchObject({ type: 'id', value: 'udp:1.2.3.4:5060', socket: { advertise: '5.6.7.8:5060', name: 'pub' } });
  });

  it('glues a socket from words and strings (a define expanding to a quoted address)', () => {
    expect(param('listen=udp:"10.0.0.1":5060').values[0]).toMatchObject({ type: 'id', value: 'udp:10.0.0.1:5060' });
  });

  it('reads dotted cfg-framework names with desc', () => {
    const p = param('pstn.gw_ip = "" desc "PSTN GW Address"');
    expect(p).toMatchObject({ name: 'pstn.gw_ip', desc: 'PSTN GW Address', values: [{ type: 'str', value: '' }] });
  });

  it('does not check parameter names', () => {
    expect(param('no_such_param = 3').name).toBe('no_such_param');
  });

  it('points nameLoc and value locations at the text', () => {
    const p = param('\n  debug = 3\n');
    expect(p.nameLoc.start).toMatchObject({ line: 2, column: 3 });
    expect(p.values[0]!.loc.start).toMatchObject({ line: 2, column: 11 });
  });
});

describe('module statements', () => {
  it('reads loadmodule, loadpath and mpath', () => {
    const items = parseOk('loadmodule "/usr/lib/ser/modules/tm.so"\nloadmodulex "sl.so";\nloadpath "/usr/lib"\nmpath="/opt/mod"\n');
    expect(items.map((i) => i.kind)).toEqual(['loadmodule', 'loadmodule', 'loadpath', 'loadpath']);
    expect(items[0]).toMatchObject({ path: '/usr/lib/ser/modules/tm.so' });
    expect(items[3]).toMatchObject({ path: '/opt/mod' });
  });

  it('reads modparam with string, int and signed int values', () => {
    const items = parseOk(
      'modparam("auth_db|uri_db|usrloc", "db_url", "mysql://root@127.0.0.1/tser")\nmodparam("usrloc", "db_mode", 2)\nmodparamx("tm", "x", -5);\n',
    ) as ModParam[];
    expect(items[0]).toMatchObject({ module: 'auth_db|uri_db|usrloc', param: 'db_url', value: { type: 'str' } });
    expect(items[1]!.value).toMatchObject({ type: 'int', value: 2 });
    expect(items[2]!.value).toMatchObject({ type: 'int', value: -5 });
  });

  it('marks loadmodulex and modparamx', () => {
    const items = parseOk('loadmodulex "$var(x).so"\nmodparamx("tm", "x", "$var(y)")\nloadmodule "tm.so"\n');
    expect(items.map((i) => (i.kind === 'loadmodule' || i.kind === 'modparam' ? i.expand ?? false : null))).toEqual([true, true, false]);
  });

  it('reads cfgengine as a core param', () => {
    expect(param('cfgengine "native"')).toMatchObject({ name: 'cfgengine', values: [{ type: 'str', value: 'native' }] });
  });

  it('joins adjacent strings', () => {
    const [m] = parseOk('modparam("acc", "extra", "a=$fU;"\n  "b=$tU")\n') as ModParam[];
    expect(m!.value).toMatchObject({ type: 'str', value: 'a=$fU;b=$tU' });
  });
});

describe('route blocks', () => {
  const kinds = (text: string) => parseOk(text).map((i) => {
    const r = i as RouteBlock;
    return [r.keyword, r.routeKind, r.name];
  });

  it('classifies every route keyword', () => {
    expect(
      kinds(
        'route {}\nroute[0] {}\nrequest_route {}\nroute[2] {}\nroute[RELAY] {}\nroute["AUTH"] {}\n' +
          'reply_route {}\nonreply_route {}\nonreply_route[1] {}\nfailure_route[MANAGE] {}\nbranch_route[1] {}\n' +
          'onsend_route {}\nevent_route[xhttp:request] {}\nevent_route[tm:local-request] {}\nevent_route[dispatcher:dst-down] {}\n',
      ),
    ).toEqual([
      ['route', 'request', null],
      ['route', 'request', '0'],
      ['request_route', 'request', null],
      ['route', 'named', '2'],
      ['route', 'named', 'RELAY'],
      ['route', 'named', 'AUTH'],
      ['reply_route', 'reply', null],
      ['onreply_route', 'reply', null],
      ['onreply_route', 'onreply', '1'],
      ['failure_route', 'failure', 'MANAGE'],
      ['branch_route', 'branch', '1'],
      ['onsend_route', 'onsend', null],
      ['event_route', 'event', 'xhttp:request'],
      ['event_route', 'event', 'tm:local-request'],
      ['event_route', 'event', 'dispatcher:dst-down'],
    ]);
  });

  it("accepts SER's ';' after a block", () => {
    expect(parseOk('route[1] { f(); };\n').map((i) => i.kind)).toEqual(['route_block', 'empty']);
  });
});

describe('statements', () => {
  it('reads if / else if / else with single statements and blocks', () => {
    const [s] = stmts('if (a()) f(); else if (b()) { g(); } else h();');
    expect(s).toMatchObject({
      kind: 'if',
      then: { kind: 'expr_stmt' },
      else: { kind: 'if', then: { kind: 'block' }, else: { kind: 'expr_stmt' } },
    });
  });

  it("accepts SER's if (...) {...}; and a bare command before else", () => {
    const body = stmts('if (method=="INVITE") { f(); };\nif (method=="ACK") route(1) else route(2);');
    expect(body.map((s) => s.kind)).toEqual(['if', 'empty', 'if']);
    expect(body[2]).toMatchObject({ then: { kind: 'route_call', name: '1' }, else: { kind: 'route_call', name: '2' } });
  });

  it('takes any expression as an if condition', () => {
    const [s] = stmts('if !($rU =~ "^\\+") { f(); }');
    expect(s).toMatchObject({ kind: 'if', cond: { kind: 'unary', op: '!' } });
  });

  it('reads switch with int, string, regex and default cases', () => {
    const [s] = stmts('switch ($rU) {\n case 1: f(); break;\n case "a": case /"^b": g();\n default: h();\n}');
    if (s?.kind !== 'switch') throw new Error('no switch');
    expect(s.cases.map((c) => [c.value && show(c.value), c.isRegex, c.body.length])).toEqual([
      ['1', false, 2],
      ['"a"', false, 0],
      ['"^b"', true, 1],
      [null, false, 1],
    ]);
  });

  it('reads while, break, exit, drop and return forms', () => {
    const body = stmts('while ($var(i) < 3) { $var(i) += 1; break; }\nexit;\nexit(2);\ndrop;\ndrop(1);\nreturn;\nreturn(-1);\nreturn 1;\n;');
    expect(body.map((s) => s.kind)).toEqual(['while', 'exit', 'exit', 'drop', 'drop', 'return', 'return', 'return', 'empty']);
    expect(body[2]).toMatchObject({ value: { kind: 'int', value: 2 } });
    expect(body[6]).toMatchObject({ value: { kind: 'int', value: -1 } });
    expect(body[7]).toMatchObject({ value: { kind: 'int', value: 1 } });
  });

  it('reads route calls by number, name, string and variable', () => {
    const body = stmts('route(1);\nroute(RELAY);\nroute("AUTH");\nroute($var(next));');
    expect(body).toMatchObject([
      { kind: 'route_call', name: '1', dynamic: null },
      { kind: 'route_call', name: 'RELAY', dynamic: null },
      { kind: 'route_call', name: 'AUTH', dynamic: null },
      { kind: 'route_call', name: null, dynamic: { kind: 'pv', name: 'var', inner: 'next' } },
    ]);
  });

  it('reads assignments', () => {
    const body = stmts('$var(x) = 1;\n$avp(x) += 1;\n$ru = "sip:" + $rU + "@h";\n$du = $null;\n$var(y) := "a";');
    expect(body.map((s) => (s.kind === 'assign' ? s.op : s.kind))).toEqual(['=', '+=', '=', '=', ':=']);
    expect(body[3]).toMatchObject({ target: { name: 'du' }, value: { kind: 'null' } });
  });

  it('reads calls with mixed arguments; bare words are strings', () => {
    const [a, b, c] = stmts('f();\nt_on_failure(MANAGE_FAILURE);\nsl_send_reply("404", 1, $var(x));');
    expect(a).toMatchObject({ kind: 'expr_stmt', expr: { kind: 'call', name: 'f', args: [] } });
    expect(b).toMatchObject({ expr: { args: [{ kind: 'str', value: 'MANAGE_FAILURE', bare: true }] } });
    expect(c).toMatchObject({ expr: { args: [{ kind: 'str', value: '404' }, { kind: 'int', value: 1 }, { kind: 'pv' }] } });
  });

  it('reads SER-2 flags declarations and selects', () => {
    const items = parseOk('flags\n  FLAG_ACC : 1,\n  FLAG_NAT : 3;\nroute { if (@to.tag == "") { $d = @hf_value["contact"]; } }\n');
    expect(items[0]).toMatchObject({ kind: 'global_param', name: 'flags', values: [{ value: 'FLAG_ACC:1' }, { value: 'FLAG_NAT:3' }] });
  });
});

describe('expressions', () => {
  it('binds && tighter than ||', () => {
    expect(show(expr('a || b && c'))).toBe('(a || (b && c))');
    expect(show(expr('a and b or c'))).toBe('((a && b) || c)');
  });

  it('binds arithmetic tighter than comparison', () => {
    expect(show(expr('$var(a) + 1 == 2'))).toBe('(($var(a) + 1) == 2)');
    expect(show(expr('1 + 2 * 3 - 4'))).toBe('((1 + (2 * 3)) - 4)');
    expect(show(expr('1 < 2 == 3 > 4'))).toBe('((1 < 2) == (3 > 4))');
  });

  it('orders the bitwise operators', () => {
    expect(show(expr('1 | 2 & 3 ^ 4'))).toBe('(1 | (2 & (3 ^ 4)))');
    expect(show(expr('1 & 2 << 3 == 4'))).toBe('(1 & (2 << (3 == 4)))');
    expect(show(expr('a && b | c'))).toBe('(a && (b | c))');
  });

  it('reads unary, defined, casts and word operators', () => {
    expect(show(expr('!a && not b'))).toBe('(!a && !b)');
    expect(show(expr('-$var(x) + ~1'))).toBe('(-$var(x) + ~1)');
    expect(show(expr('defined $var(x)'))).toBe('defined$var(x)');
    expect(show(expr('(int)$var(x) + (str)1'))).toBe('((int)$var(x) + (str)1)');
    expect(show(expr('a eq b || c ne d || e ieq f || g ine h || 7 mod 2'))).toBe(
      '(((((a eq b) || (c ne d)) || (e ieq f)) || (g ine h)) || (7 % 2))',
    );
    expect(show(expr('x =~ "a" && y !~ "b"'))).toBe('((x =~ "a") && (y !~ "b"))');
  });

  it('reads pseudo-variable forms', () => {
    expect(expr('$(hdr(Via)[1])')).toMatchObject({ kind: 'pv', name: 'hdr', inner: 'Via', index: 1 });
    expect(expr('$(avp(x)[*])')).toMatchObject({ name: 'avp', inner: 'x', index: '*' });
    expect(expr('$(hdr(Route)[-1])')).toMatchObject({ index: -1 });
    expect(expr('$(ru{uri.user}{s.substr,0,3})')).toMatchObject({ name: 'ru', transforms: ['uri.user', 's.substr,0,3'] });
    expect(expr('$T_reply_code')).toMatchObject({ name: 'T_reply_code', inner: null });
    expect(expr('$avp(i:5)')).toMatchObject({ name: 'avp', inner: 'i:5' });
    expect(expr('$avp(s:name)')).toMatchObject({ inner: 's:name' });
    expect(expr('$xavp(a=>b)')).toMatchObject({ name: 'xavp', inner: 'a=>b' });
    expect(expr('$sht(t=>$ci)')).toMatchObject({ name: 'sht', inner: 't=>$ci' });
    expect(expr('$?')).toMatchObject({ name: '?' });
    expect(expr('$rc')).toMatchObject({ kind: 'pv', name: 'rc' });
    expect(expr('$retcode')).toMatchObject({ kind: 'pv', name: 'retcode' });
  });

  it('reads a variable index and SER-2 attribute forms', () => {
    expect(expr('$(avp(x)[$var(i)])')).toMatchObject({ name: 'avp', index: null, indexVar: { name: 'var', inner: 'i' } });
    expect(expr('%subscription_status')).toMatchObject({ kind: 'pv', name: 'avp', inner: 'subscription_status' });
    expect(expr('@hf_value.route[0].params.ftag')).toMatchObject({ kind: 'pv', name: 'sel', inner: 'hf_value.route[0].params.ftag' });
    expect(expr('$f.uid')).toMatchObject({ kind: 'pv', name: 'f.uid' });
  });

  it('reads socket literals and SER uri:host/uri:port arguments', () => {
    const [s] = stmts('force_send_socket(udp:10.0.0.1:5060);\nforward(uri:host, uri:port);');
    expect(s).toMatchObject({ expr: { args: [{ kind: 'str', value: 'udp:10.0.0.1:5060', bare: true }] } });
    expect(stmts('forward(uri:host, uri:port);')[0]).toMatchObject({
      expr: { args: [{ kind: 'operand', name: 'uri:host' }, { kind: 'operand', name: 'uri:port' }] },
    });
  });

  it('reads yes/no words as numbers in expressions', () => {
    expect(expr('yes')).toMatchObject({ kind: 'int', value: 1 });
    expect(expr('off')).toMatchObject({ kind: 'int', value: 0 });
  });

  it('reads IP literals and networks', () => {
    expect(show(expr('src_ip==10.0.0.0/8'))).toBe('(<src_ip> == 10.0.0.0/8)');
    expect(show(expr('src_ip==1.2.3.0/255.255.255.0'))).toBe('(<src_ip> == 1.2.3.0/255.255.255.0)');
    expect(show(expr('dst_ip==[::1]'))).toBe('(<dst_ip> == [::1])');
    expect(show(expr('src_ip==2001:db8::1'))).toBe('(<src_ip> == 2001:db8::1)');
    expect(show(expr('src_ip==::1'))).toBe('(<src_ip> == ::1)');
  });

  it('reads SER keyword operands, myself and bare words', () => {
    expect(show(expr('method==INVITE'))).toBe('(<method> == INVITE)');
    expect(show(expr('proto==UDP'))).toBe('(<proto> == UDP)');
    expect(show(expr('uri==myself'))).toBe('(<uri> == myself)');
    expect(show(expr('msg:len > max_len'))).toBe('(<msg:len> > <max_len>)');
    for (const k of ['from_uri', 'to_uri', 'src_port', 'dst_port', 'af', 'status', 'snd_ip', 'snd_port', 'snd_proto', 'snd_af', 'to_ip', 'to_port', 'retcode']) {
      expect(expr(k)).toMatchObject({ kind: 'operand', name: k });
    }
  });

  it('reads calls inside expressions', () => {
    expect(show(expr('is_method("INVITE") && strlen($var(x)) > 3'))).toBe('(is_method("INVITE") && (strlen($var(x)) > 3))');
  });
});
