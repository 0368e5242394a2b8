// The compiled script's semantics: dialect-dependent control flow, return codes,
// expressions, pseudo-variables — run offline on parsed messages.
import { describe, expect, it } from 'vitest';
import { compile, runRequest, sipRequest } from '../helpers/offline.js';

const SER_HEAD = 'fifo="/tmp/x_fifo"\nloadmodule "sl.so"\n';
const K_HEAD = '#!KAMAILIO\nloadmodule "sl.so"\n';

describe('SER 0.9 control flow', () => {
  it('break inside route[N] returns to the caller, which continues', async () => {
    const s = await compile(`${SER_HEAD}
route { route(1); sl_send_reply("200", "after"); }
route[1] { sl_send_reply("180", "in"); break; sl_send_reply("500", "never"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies.map((x) => x.code)).toEqual([180, 200]);
  });

  it('break in the main route ends the script', async () => {
    const s = await compile(`${SER_HEAD}
route { if (method=="INVITE") { sl_send_reply("100", "x"); break; }; sl_send_reply("500", "never"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies.map((x) => x.code)).toEqual([100]);
  });

  it('single & and | are logical operators', async () => {
    const s = await compile(`${SER_HEAD}
route { if (method=="INVITE" & uri=~"^sip:bob@") { sl_send_reply("200", "and"); break; }; sl_send_reply("404", "no"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies[0]!.code).toBe(200);
  });

  it('string arguments are not expanded as variables', async () => {
    const s = await compile(`${SER_HEAD}
route { sl_send_reply("404", "$rU not here"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies[0]!.reason).toBe('$rU not here');
  });
});

describe('Kamailio control flow', () => {
  it('exit inside a sub-route stops the whole script', async () => {
    const s = await compile(`${K_HEAD}
request_route { route(A); sl_send_reply("500", "never"); }
route[A] { sl_send_reply("180", "in"); exit; }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies.map((x) => x.code)).toEqual([180]);
  });

  it('return(v) gives $rc to the caller; return(0) stops everything', async () => {
    const s = await compile(`${K_HEAD}
request_route {
  route(NEG);
  if ($rc == -2) { sl_send_reply("199", "rc ok"); }
  route(ZERO);
  sl_send_reply("500", "never");
}
route[NEG] { return(-2); }
route[ZERO] { return(0); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies.map((x) => x.code)).toEqual([199]);
  });

  it('single & is bitwise', async () => {
    const s = await compile(`${K_HEAD}
request_route { if (1 & 2) { sl_send_reply("500", "bitwise expected"); exit; } sl_send_reply("200", "ok"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies[0]!.code).toBe(200);
  });

  it('switch: string cases, fall-through until break, default', async () => {
    const s = await compile(`${K_HEAD}
request_route {
  $var(n) = 0;
  switch ($rm) {
    case "INVITE":
      $var(n) = $var(n) + 1;
    case "BYE":
      $var(n) = $var(n) + 10;
      break;
    default:
      $var(n) = 100;
  }
  sl_send_reply("200", "n=$var(n)");
}`);
    expect((await runRequest(s, sipRequest())).replies[0]!.reason).toBe('n=11');
    expect((await runRequest(s, sipRequest({ method: 'BYE' }))).replies[0]!.reason).toBe('n=10');
    expect((await runRequest(s, sipRequest({ method: 'OPTIONS' }))).replies[0]!.reason).toBe('n=100');
  });

  it('while loops are bounded by max_while_loops, break leaves the loop only', async () => {
    const s = await compile(`${K_HEAD}max_while_loops=5
request_route {
  $var(i) = 0;
  while ($var(i) < 1000) { $var(i) = $var(i) + 1; }
  $var(j) = 0;
  while (1) { $var(j) = $var(j) + 1; if ($var(j) == 3) { break; } }
  sl_send_reply("200", "$var(i)/$var(j)");
}`);
    expect((await runRequest(s, sipRequest())).replies[0]!.reason).toBe('5/3');
  });

  it('a function returning 0 inside a condition stops the script', async () => {
    const s = await compile(`${K_HEAD}
request_route { if (!is_method("INVITE") || sl_send_reply("100", "x") == 0) { } sl_send_reply("200", "continued"); }`);
    const r = await runRequest(s, sipRequest());
    expect(r.replies.map((x) => x.code)).toEqual([100, 200]);
  });
});

describe('expressions and pseudo-variables', () => {
  it('string concatenation builds a new R-URI; $var survives between messages', async () => {
    const s = await compile(`${K_HEAD}
request_route {
  $var(count) = $var(count) + 1;
  $ru = "sip:" + $rU + "@gw.example.net:5080";
  sl_send_reply("200", "$var(count) $ru");
}`);
    expect((await runRequest(s, sipRequest())).replies[0]!.reason).toBe('1 sip:bob@gw.example.net:5080');
    expect((await runRequest(s, sipRequest())).replies[0]!.reason).toBe('2 sip:bob@gw.example.net:5080');
  });

  it('=~ is a case-insensitive regex match; method compares case-insensitively', async () => {
    const s = await compile(`${K_HEAD}
request_route { if ($ru =~ "^SIP:BOB@" && method == "invite") { sl_send_reply("200", "m"); exit; } sl_send_reply("404", "n"); }`);
    expect((await runRequest(s, sipRequest())).replies[0]!.code).toBe(200);
  });

  it('src_ip matches CIDR networks and uri==myself checks our addresses', async () => {
    const s = await compile(`${K_HEAD}
request_route {
  if (src_ip == 10.0.0.0/8 && uri == myself) { sl_send_reply("200", "internal to me"); exit; }
  if (src_ip == 10.0.0.0/255.0.0.0) { sl_send_reply("202", "internal"); exit; }
  sl_send_reply("403", "outside");
}`);
    expect((await runRequest(s, sipRequest({ ruri: 'sip:bob@127.0.0.1' }))).replies[0]!.code).toBe(200);
    expect((await runRequest(s, sipRequest())).replies[0]!.code).toBe(202);
    expect((await runRequest(s, sipRequest(), '192.168.1.1')).replies[0]!.code).toBe(403);
  });

  it('uri==myself follows R-URI rewrites within one message', async () => {
    const s = await compile(`${K_HEAD}
request_route {
  if (uri == myself) { sl_send_reply("500", "not yet"); exit; }
  rewritehost("127.0.0.1");
  if (uri != myself) { sl_send_reply("501", "stale parse"); exit; }
  $rd = "example.org";
  if (uri == myself) { sl_send_reply("502", "stale parse"); exit; }
  sl_send_reply("200", "ok");
}`);
    expect((await runRequest(s, sipRequest())).replies[0]!.code).toBe(200);
  });

  it('$hdr, $fn, $ft, $ci, $cs and transformations read the message', async () => {
    const s = await compile(`${K_HEAD}
request_route { sl_send_reply("200", "$fn|$ft|$ci|$cs|$(hdr(X-Acct){s.toupper})|$(fu{uri.user})|$(rU{s.len})"); }`);
    const r = await runRequest(s, sipRequest({ extra: ['X-Acct: gold'] }));
    expect(r.replies[0]!.reason).toBe('Alice|ft1|call-1@test|7|GOLD|alice|3');
  });

  it('$avp pushes values; the newest is read first', async () => {
    const s = await compile(`${K_HEAD}
request_route { $avp(x) = 1; $avp(x) = 2; sl_send_reply("200", "$avp(x) $(avp(x)[1])"); }`);
    expect((await runRequest(s, sipRequest())).replies[0]!.reason).toBe('2 1');
  });

  it('SER rewrite family edits the R-URI', async () => {
    const s = await compile(`${SER_HEAD}
route { strip(1); prefix("49"); rewritehostport("gw.test:5090"); forward(); }`);
    const r = await runRequest(s, sipRequest({ ruri: 'sip:0301234@example.com' }));
    expect(r.forwards[0]!.ruri).toBe('sip:49301234@gw.test:5090');
  });
});

describe('async decided per expression', () => {
  const head = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
`;

  it('a route of if/switch/while/assignments around synchronous calls is synchronous, and runs without a promise', async () => {
    const s = await compile(`${head}
request_route {
	$var(n) = 0;
	while ($var(n) < 3) { $var(n) = $var(n) + 1; }
	switch ($rm) {
		case "INVITE": if (is_present_hf("Max-Forwards")) { $var(x) = "mf"; } break;
		default: $var(x) = "other";
	}
	if ($var(n) == 3 && $var(x) == "mf") { sl_send_reply("200", "sync $var(n)"); exit; }
	sl_send_reply("500", "no");
}
route[ASYNC] {
	if (is_method("INVITE")) {
		if (lookup("location")) { return 1; }
	}
}
route[CALLS] {
	route(ASYNC);
}`);
    expect(s.routes.request!.async).toBe(false);
    // lookup() may wait for usrloc; route() calls may reach such a route
    expect(s.routes.named.get('ASYNC')!.async).toBe(true);
    expect(s.routes.named.get('CALLS')!.async).toBe(true);
    const rcv = { proto: 'udp' as const, srcIp: '10.0.0.5', srcPort: 5070, local: null as never, connId: null, time: Date.now() };
    const { MsgContext } = await import('../../src/script/context.js');
    const { Route } = await import('../../src/core/module-api.js');
    const { fakeCore } = await import('../helpers/offline.js');
    const rec = { replies: [] as { code: number; reason: string }[], forwards: [] };
    const ctx = new MsgContext(sipRequest(), rcv, s, fakeCore(() => s, rec), Route.REQUEST);
    const r = s.run(s.routes.request!, ctx);
    expect(typeof r).toBe('number');
    expect(rec.replies.map((x) => `${x.code} ${x.reason}`)).toEqual(['200 sync 3']);
  });
});

describe('Kamailio core language seen in real configs (issue 17)', () => {
  it('route(NAME) as an expression gives the route return value; return 0 in it ends the script', async () => {
    const s = await compile(`${K_HEAD}loadmodule "pv.so"
loadmodule "textops.so"
request_route {
	if (route(CHECK)) { sl_send_reply("200", "checked"); exit; }
	if (!route("NEG")) { $var(neg) = 1; }
	if ($var(neg) == 1 && route(STOP)) { sl_send_reply("500", "never"); }
	sl_send_reply("500", "never either");
}
route[CHECK] { if (is_method("OPTIONS")) return 1; return -1; }
route[NEG] { return -2; }
route[STOP] { sl_send_reply("404", "stopped"); return 0; }`);
    expect((await runRequest(s, sipRequest({ method: 'OPTIONS' }))).replies.map((r) => r.reason)).toEqual(['checked']);
    expect((await runRequest(s, sipRequest({ method: 'INVITE' }))).replies.map((r) => r.reason)).toEqual(['stopped']);
  });

  it('a single = inside a condition compares (Kamailio accepts `if ($var(x) = "true")`), and still assigns as a statement', async () => {
    const s = await compile(`${K_HEAD}loadmodule "pv.so"
request_route {
	$var(x) = "true";
	if ($var(x) = "true") { sl_send_reply("200", "equal"); exit; }
	sl_send_reply("500", "different");
}`);
    expect((await runRequest(s, sipRequest())).replies.map((r) => r.reason)).toEqual(['equal']);
  });

  it('hundreds of nested parentheses give a located error, not a stack overflow', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const n = 3000;
    const cfg = await loadConfig('deep.cfg', {
      text: `${K_HEAD}loadmodule "pv.so"\nrequest_route {\n\tif (${'('.repeat(n)}$var(x) == 1${')'.repeat(n)}) { exit; }\n}\n`,
    });
    // the route that held it is dropped, so its absence is reported too
    expect(cfg.bag.errors().map((d) => d.message)[0]).toBe('expression nested too deeply');
    expect(cfg.bag.errors()[0]!.loc?.start).toMatchObject({ line: 5 });
  });

  it('strempty() and strlen() work directly as conditions', async () => {
    const s = await compile(`${K_HEAD}loadmodule "pv.so"
request_route {
	$var(y) = "abc";
	$var(e) = "";
	if (strempty($var(e)) && strlen($var(y)) && !strempty($var(y))) { sl_send_reply("200", "builtin"); exit; }
	sl_send_reply("500", "no");
}`);
    expect((await runRequest(s, sipRequest())).replies.map((r) => r.reason)).toEqual(['builtin']);
  });

  it('$su, $RAi and $RAp give the source as a SIP URI and the advertised address of the receiving socket (as Kamailio 5.6)', async () => {
    const s = await compile(`${K_HEAD}request_route { sl_send_reply("404", "$su $RAi $RAp"); }`);
    expect((await runRequest(s, sipRequest())).replies.map((r) => r.reason)).toEqual(['sip:10.0.0.5:5070 127.0.0.1 5060']);
  });

  it("accepts the rest of Kamailio 5.6's core parameters that configs set, as having no effect", async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const cfg = await loadConfig('params.cfg', {
      text: `${K_HEAD}tcp_crlf_ping=yes\nauto_bind_ipv6=1\nudp4_raw=0\ndns_cache_init=0\ndst_blacklist_init=0\nlog_prefix_mode=1\ntls_max_connections=2048\nmem_join=1\ndns_srv_loadbalancing=1\nrequest_route { exit; }\n`,
    });
    expect(cfg.bag.errors()).toEqual([]);
    expect(cfg.bag.items.filter((d) => d.code === 'TSER_I_IGNORED_PARAM').length).toBe(9);
  });
});
