// textops functions run by a compiled script on parsed messages: what ends up on the wire
// (serialized request), return codes, and load-time errors for bad expressions.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { compile, runRequest, sipRequest } from '../helpers/offline.js';
import type { MsgContext } from '../../src/script/context.js';

const HEAD = '#!KAMAILIO\nloadmodule "sl.so"\nloadmodule "textops.so"\n';

async function run(body: string, msgOpts: Parameters<typeof sipRequest>[0] = {}) {
  const s = await compile(`${HEAD}request_route {\n${body}\n}`);
  return runRequest(s, sipRequest(msgOpts));
}

function wire(ctx: MsgContext): string {
  return ctx.msg.serializeRequest({ ruri: ctx.newUri ?? undefined }).toString('latin1');
}

function replies(r: { replies: { code: number }[] }): number[] {
  return r.replies.map((x) => x.code);
}

describe('subst_user / subst_uri', () => {
  it('replaces a leading + with a country code prefix', async () => {
    const r = await run(`if (subst_user('/^\\+(.*)$/00\\1/')) { sl_send_reply("200", "ok"); }`, { ruri: 'sip:+441234567@gw.test' });
    expect(replies(r)).toEqual([200]);
    expect(r.ctx.ruri).toBe('sip:00441234567@gw.test');
    expect(wire(r.ctx).startsWith('INVITE sip:00441234567@gw.test SIP/2.0\r\n')).toBe(true);
  });

  it('returns false and leaves the R-URI alone when nothing matches', async () => {
    const r = await run(`if (!subst_user('/^9/0/')) { sl_send_reply("404", "no"); }`, { ruri: 'sip:1234@gw.test' });
    expect(replies(r)).toEqual([404]);
    expect(r.ctx.newUri).toBeNull();
  });

  it('subst_uri rewrites the whole R-URI and \\0 is the full match', async () => {
    const r = await run(`subst_uri('/^sip:([0-9]+)@(.*)$/sip:3463\\1@\\2;orig=\\0/i');`, { ruri: 'sip:123@h.test' });
    expect(r.ctx.ruri).toBe('sip:3463123@h.test;orig=sip:123@h.test');
  });

  it('expands pseudo-variables in the replacement per message', async () => {
    const r = await run(`$var(cc) = "44"; subst_user('/^0(.*)$/$var(cc)\\1/');`, { ruri: 'sip:02071234@gw.test' });
    expect(r.ctx.ruri).toBe('sip:442071234@gw.test');
  });

  it('\\u puts the current R-URI in', async () => {
    const r = await run(`rewriteuser("x"); subst('/^Subject: .*$/Subject: \\u/');`, { extra: ['Subject: hello'] });
    expect(wire(r.ctx)).toContain('Subject: sip:x@example.com\r\n');
  });
});

describe('subst on the message', () => {
  it('rewrites a header line and keeps everything else byte for byte', async () => {
    const r = await run(`subst('/^(To: .*)bob(.*)$/\\1carol\\2/');`);
    const out = wire(r.ctx);
    expect(out).toContain('To: <sip:carol@example.com>\r\n');
    expect(out).toContain('From: "Alice" <sip:alice@example.com>;tag=ft1\r\n');
    expect(out).toContain('Call-ID: call-1@test\r\n');
  });

  it('with g changes every header that matches', async () => {
    const r = await run(`subst('/example\\.com/example.net/g');`);
    const out = wire(r.ctx);
    expect(out).toContain('From: "Alice" <sip:alice@example.net>;tag=ft1');
    expect(out).toContain('To: <sip:bob@example.net>');
    // the request line is not part of subst's text (Kamailio starts after the first line)
    expect(out.startsWith('INVITE sip:bob@example.com SIP/2.0')).toBe(true);
  });

  it('can rename or remove a header line', async () => {
    const r = await run(`subst('/^X-Old: (.*)$/X-New: \\1/'); subst('/X-Gone: [^\\r]*\\r\\n//');`, {
      extra: ['X-Old: v1', 'X-Gone: bye'],
    });
    const out = wire(r.ctx);
    expect(out).toContain('X-New: v1\r\n');
    expect(out).not.toContain('X-Old');
    expect(out).not.toContain('X-Gone');
  });

  it('subst_hf edits only the named header, first/last/all', async () => {
    const r = await run(`subst_hf("X-N", "/a/b/", "l");`, { extra: ['X-N: a1', 'X-N: a2'] });
    const out = wire(r.ctx);
    expect(out).toContain('X-N: a1\r\n');
    expect(out).toContain('X-N: b2\r\n');
  });

  it('subst_body changes the body and Content-Length follows', async () => {
    const s = await compile(`${HEAD}request_route { subst_body('/^o=(\\S+) /o=carrier /'); }`);
    const msg = sipRequest({ extra: ['Content-Type: application/sdp'] });
    const body = 'v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\n';
    const text = msg.raw.replace('Content-Length: 0\r\n\r\n', `Content-Length: ${body.length}\r\n\r\n${body}`);
    const { SipMessage } = await import('../../src/sip/index.js');
    const r = await runRequest(s, SipMessage.parse(Buffer.from(text, 'latin1')));
    const out = wire(r.ctx);
    expect(out).toContain('o=carrier 1 1 IN IP4 10.0.0.1');
    expect(out).toMatch(new RegExp(`Content-Length: ${body.length + 2}\\r\\n`));
  });
});

describe('search, replace, search_append', () => {
  it('search matches anywhere (case-insensitive), search_str on a value', async () => {
    const r = await run(`if (search("CALL-ID: call-1")) { sl_send_reply("200", "a"); } if (search_str("$rU", "^bo")) { sl_send_reply("201", "b"); }`);
    expect(replies(r)).toEqual([200, 201]);
  });

  it('replace changes the first occurrence, replace_all every one', async () => {
    const a = await run(`replace("example\\.com", "x.test");`);
    expect(wire(a.ctx)).toContain('From: "Alice" <sip:alice@x.test>');
    expect(wire(a.ctx)).toContain('To: <sip:bob@example.com>');
    const b = await run(`replace_all("example\\.com", "x.test");`);
    expect(wire(b.ctx)).toContain('To: <sip:bob@x.test>');
  });

  it('search_append inserts text after the match', async () => {
    const r = await run(`search_append("tag=ft1", ";x=1");`);
    expect(wire(r.ctx)).toContain('From: "Alice" <sip:alice@example.com>;tag=ft1;x=1\r\n');
  });

  it('replace_str works on plain strings', async () => {
    const r = await run(`replace_str("alice", "eve", "a");`);
    expect(wire(r.ctx)).toContain('<sip:eve@example.com>');
  });
});

describe('CLI rewriting with $fn/$fU/$tU', () => {
  it('display name and user assignments to From combine (the last one keeps the first)', async () => {
    const r = await run(`$fn = "Acme Sales"; $fU = "442079460000";`);
    expect(wire(r.ctx)).toContain('From: "Acme Sales" <sip:442079460000@example.com>;tag=ft1\r\n');
  });

  it('To user and From user can be rewritten in one request', async () => {
    const r = await run(`$fU = "1000"; $tU = "442071234567"; subst_hf("From", '/example\\.com/carrier.test/', "f");`);
    const out = wire(r.ctx);
    expect(out).toContain('From: "Alice" <sip:1000@carrier.test>;tag=ft1\r\n');
    expect(out).toContain('To: <sip:442071234567@example.com>\r\n');
  });
});

describe('header helpers', () => {
  it('is_present_hf_re and remove_hf_re match header names', async () => {
    const r = await run(`if (is_present_hf_re("^X-P")) { remove_hf_re("^X-P"); sl_send_reply("200", "ok"); }`, {
      extra: ['X-P1: a', 'X-P2: b', 'X-Keep: c'],
    });
    expect(replies(r)).toEqual([200]);
    const out = wire(r.ctx);
    expect(out).not.toContain('X-P1');
    expect(out).toContain('X-Keep: c');
  });

  it('has_body is false without a body; set_body adds one', async () => {
    const r = await run(`if (!has_body()) { set_body("hello", "text/plain"); } if (has_body("text/plain")) { sl_send_reply("200", "x"); }`);
    expect(replies(r)).toEqual([200]);
    const out = wire(r.ctx);
    expect(out).toContain('Content-Type: text/plain');
    expect(out.endsWith('\r\n\r\nhello')).toBe(true);
  });

  it('string helpers compare values', async () => {
    const r = await run(
      `if (starts_with("$rU", "bo") && ends_with("$rU", "ob") && in_list("fi", "dk,fi,no", ",") && cmp_istr("A", "a") && str_find("abc", "c")) { sl_send_reply("200", "x"); }`,
    );
    expect(replies(r)).toEqual([200]);
  });
});

describe('load-time errors', () => {
  async function errors(body: string): Promise<string> {
    const l = await loadConfig('t.cfg', { text: `${HEAD}request_route {\n${body}\n}` });
    return l.bag.format();
  }

  it('a subst expression that does not compile is reported with its location', async () => {
    const out = await errors(`  subst_user('/^(+/x/');`);
    expect(out).toMatch(/TSER_E_BAD_ARG/);
    expect(out).toMatch(/t\.cfg:5:14/);
  });

  it('an unknown flag or a missing separator is a config error', async () => {
    expect(await errors(`subst('/a/b/z');`)).toMatch(/unknown flag/);
    expect(await errors(`subst_uri('/a/b');`)).toMatch(/separator/);
  });

  it('rewrite.so loads the same module', async () => {
    const l = await loadConfig('t.cfg', { text: `#!KAMAILIO\nloadmodule "rewrite.so"\nrequest_route { subst_user('/^0/44/'); }` });
    expect(l.bag.hasErrors).toBe(false);
  });
});
