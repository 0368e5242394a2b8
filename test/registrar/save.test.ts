// save(): RFC 3261 §10.3 processing, replies and return codes, per dialect.
import { afterEach, describe, expect, it } from 'vitest';
import { harness, hdr, register, type Harness } from './harness.js';
import { T0 } from '../usrloc/helpers.js';

const K = (params = '', body = 'save("location"); exit;') => `#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
${params}
request_route {
  if (method == "REGISTER") { ${body} }
  sl_send_reply("404", "Not Found");
}`;

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

async function bindings(aor = 'alice') {
  return h.store.getDomain('location').get(aor);
}

describe('save() — Kamailio 5.6', () => {
  it('stores a new binding and answers 200 listing it with its expires (rc 1), then refreshes it (rc 2)', async () => {
    h = await harness(K());
    let r = await h.run(register({ contacts: ['<sip:alice@10.0.0.5:5070>'], cseq: 1 }));
    expect(r.replies).toHaveLength(1);
    expect(r.replies[0]).toMatchObject({ code: 200, reason: 'OK' });
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:alice@10.0.0.5:5070>;expires=3600');
    expect(r.ctx.rc).toBe(1);
    const [b] = await bindings();
    expect(b).toMatchObject({ uri: 'sip:alice@10.0.0.5:5070', expires: T0 + 3600, callid: 'reg-call-1@10.0.0.5', cseq: 1 });
    expect(b!.socket).toBe('udp:127.0.0.1:5060');

    h.clock.t += 100;
    r = await h.run(register({ contacts: ['<sip:alice@10.0.0.5:5070>'], cseq: 2, expires: 1800 }));
    expect(r.ctx.rc).toBe(2);
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:alice@10.0.0.5:5070>;expires=1800');
    expect((await bindings())[0]!.ruid).toBe(b!.ruid);
  });

  it('takes expires from the Contact param, then the Expires header, then default_expires', async () => {
    h = await harness(K('modparam("registrar", "default_expires", 900)'));
    await h.run(register({ contacts: ['<sip:a@h1>;expires=120', '<sip:a@h2>', '<sip:a@h3>;expires=bogus'], expires: 300, cseq: 1 }));
    const e = Object.fromEntries((await bindings()).map((c) => [c.uri, c.expires - T0]));
    expect(e).toEqual({ 'sip:a@h1': 120, 'sip:a@h2': 300, 'sip:a@h3': 900 });
    await h.run(register({ aor: 'bob', contacts: ['<sip:b@h>'], cseq: 1 }));
    expect((await bindings('bob'))[0]!.expires - T0).toBe(900);
  });

  it('removes a binding with expires=0 (rc 3) and replies without it', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h1>', '<sip:a@h2>'], cseq: 1 }));
    const r = await h.run(register({ contacts: ['<sip:a@h1>;expires=0'], cseq: 2 }));
    expect(r.ctx.rc).toBe(3);
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h2>;expires=3600');
    expect((await bindings()).map((c) => c.uri)).toEqual(['sip:a@h2']);
  });

  it('"*" with Expires: 0 removes every binding; other uses of "*" get 400', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h1>', '<sip:a@h2>'], cseq: 1 }));
    let r = await h.run(register({ contacts: ['*'], expires: 3600, cseq: 2 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('* used in contact and expires is not zero');
    r = await h.run(register({ contacts: ['*', '<sip:a@h3>'], expires: 0, cseq: 3 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('* used in contact and more than 1 contact');
    r = await h.run(register({ contacts: ['*, <sip:a@h3>'], expires: 0, cseq: 4 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(await bindings()).toHaveLength(2);
    r = await h.run(register({ contacts: ['*'], expires: 0, cseq: 5 }));
    expect(r.replies[0]).toMatchObject({ code: 200 });
    expect(r.ctx.rc).toBe(3);
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBeUndefined();
    expect(await bindings()).toHaveLength(0);
  });

  it('raises a too short expires silently by default (min_expires_mode 0)', async () => {
    h = await harness(K('modparam("registrar", "min_expires", 60)'));
    const r = await h.run(register({ contacts: ['<sip:a@h>;expires=10'], cseq: 1 }));
    expect(r.replies[0]).toMatchObject({ code: 200 });
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h>;expires=60');
  });

  it('answers 423 with Min-Expires when min_expires_mode is 1, storing nothing', async () => {
    h = await harness(K('modparam("registrar", "min_expires", 60)\nmodparam("registrar", "min_expires_mode", 1)'));
    const r = await h.run(register({ contacts: ['<sip:a@h>'], expires: 30, cseq: 1 }));
    expect(r.replies).toHaveLength(1);
    expect(r.replies[0]).toMatchObject({ code: 423, reason: 'Interval Too Brief' });
    expect(hdr(r.replies[0]!.headers, 'Min-Expires')).toBe('60');
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('Interval too brief');
    expect(r.ctx.rc).toBe(-1);
    expect(await bindings()).toHaveLength(0);
  });

  it('clamps to max_expires, and absurd values to 2^31-1 without max_expires', async () => {
    h = await harness(K('modparam("registrar", "max_expires", 7200)'));
    await h.run(register({ contacts: ['<sip:a@h>'], expires: 999999, cseq: 1 }));
    expect((await bindings())[0]!.expires - T0).toBe(7200);
    await h.stop();
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h>'], expires: 4294967295, cseq: 1 }));
    expect((await bindings())[0]!.expires - T0).toBe(0x7fffffff);
    const r = await h.run(register({ contacts: ['<sip:a@h>'], expires: '99999999999999', cseq: 2 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('Expires parse error');
  });

  it('lists several bindings best first (q, then most recent)', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@low>;q=0.1', '<sip:a@high>;q=0.9'], cseq: 1 }));
    h.clock.t += 10;
    const r = await h.run(register({ contacts: ['<sip:a@mid>;q=0.5'], callId: 'other-device', cseq: 1 }));
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe(
      '<sip:a@high>;q=0.9;expires=3590, <sip:a@mid>;q=0.5;expires=3600, <sip:a@low>;q=0.1;expires=3590',
    );
  });

  it('rejects an older CSeq from the same Call-ID with 400 and keeps the binding', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h>'], cseq: 10 }));
    h.clock.t += 30;
    const r = await h.run(register({ contacts: ['<sip:a@h>;expires=0'], cseq: 9 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('Invalid CSeq number');
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h>;expires=3570');
    expect(await bindings()).toHaveLength(1);
    // another Call-ID may use any CSeq
    const ok = await h.run(register({ contacts: ['<sip:a@h>'], cseq: 1, callId: 'fresh' }));
    expect(ok.replies[0]).toMatchObject({ code: 200 });
  });

  it('treats the same Call-ID and CSeq within cseq_delay as a retransmission: 200, nothing changed', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h>'], cseq: 5, expires: 600 }));
    h.clock.t += 2;
    const r = await h.run(register({ contacts: ['<sip:a@h>'], cseq: 5, expires: 600 }));
    expect(r.replies[0]).toMatchObject({ code: 200 });
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h>;expires=598');
    expect((await bindings())[0]!.expires).toBe(T0 + 600);
    h.clock.t += 60;
    const late = await h.run(register({ contacts: ['<sip:a@h>'], cseq: 5, expires: 600 }));
    expect(late.replies[0]).toMatchObject({ code: 400 });
  });

  it('enforces max_contacts with 503 (rc -2) and still lets existing bindings refresh', async () => {
    h = await harness(K('modparam("registrar", "max_contacts", 2)\nmodparam("registrar", "retry_after", 30)'));
    await h.run(register({ contacts: ['<sip:a@h1>', '<sip:a@h2>'], cseq: 1 }));
    const r = await h.run(register({ contacts: ['<sip:a@h3>'], cseq: 2 }));
    expect(r.replies[0]).toMatchObject({ code: 503, reason: 'Service Unavailable' });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('Too many registered contacts');
    expect(hdr(r.replies[0]!.headers, 'Retry-After')).toBe('30');
    expect(hdr(r.replies[0]!.headers, 'Contact')).toContain('sip:a@h1');
    expect(r.ctx.rc).toBe(-2);
    const refresh = await h.run(register({ contacts: ['<sip:a@h2>', '<sip:a@h1>;expires=0', '<sip:a@h3>'], cseq: 3 }));
    expect(refresh.replies[0]).toMatchObject({ code: 200 });
    expect((await bindings()).map((c) => c.uri).sort()).toEqual(['sip:a@h2', 'sip:a@h3']);
  });

  it('answers 400 for bad Contact URIs, bad q and a garbage Expires header', async () => {
    h = await harness(K());
    for (const [contacts, expires, text] of [
      [['<sip:a@bad host>'], null, 'Contact parse error'],
      [['<http://example.com/>'], null, 'Contact parse error'],
      [['<sip:a@h>;q=2'], null, 'Invalid q param in contact'],
      [['<sip:a@h>'], 'soon', 'Expires parse error'],
    ] as const) {
      const r = await h.run(register({ contacts: [...contacts], expires, cseq: 1 }));
      expect(r.replies[0]).toMatchObject({ code: 400 });
      expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe(text);
    }
    expect(await bindings()).toHaveLength(0);
  });

  it('refuses thousands of contacts in one REGISTER with 400 (503 with max_contacts)', async () => {
    h = await harness(K());
    const many = Array.from({ length: 2000 }, (_, i) => `<sip:a@10.0.${i >> 8}.${i & 255}>`);
    const r = await h.run(register({ contacts: [many.join(', ')], cseq: 1 }));
    expect(r.replies[0]).toMatchObject({ code: 400 });
    expect(hdr(r.replies[0]!.headers, 'P-Registrar-Error')).toBe('Too many contacts in request');
    expect(await bindings()).toHaveLength(0);
  });

  it('answers a query (no Contact) with the current bindings (rc 4)', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:a@h>;q=1'], cseq: 1 }));
    const r = await h.run(register({ contacts: [], cseq: 2 }));
    expect(r.ctx.rc).toBe(4);
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h>;q=1;expires=3600');
  });

  it('with flag 0x02 sends nothing; sl_reply_error() then sends the 423 with Min-Expires', async () => {
    h = await harness(
      K('modparam("registrar", "min_expires_mode", 1)', 'if (!save("location", "0x02")) { sl_reply_error(); } exit;'),
    );
    const r = await h.run(register({ contacts: ['<sip:a@h>;expires=5'], cseq: 1 }));
    expect(r.replies).toHaveLength(1);
    expect(r.replies[0]).toMatchObject({ code: 423 });
    expect(hdr(r.replies[0]!.headers, 'Min-Expires')).toBe('60');
  });

  it('flag 0x04 keeps only the new binding', async () => {
    h = await harness(K('', 'save("location", "4"); exit;'));
    await h.store.getDomain('location').insert('alice', { uri: 'sip:a@h0', expires: T0 + 600 });
    await h.store.getDomain('location').insert('alice', { uri: 'sip:a@h1', expires: T0 + 600 });
    await h.store.getDomain('location').insert('alice', { uri: 'sip:a@h2', expires: T0 + 600 });
    await h.run(register({ contacts: ['<sip:a@h3>'], cseq: 2 }));
    expect((await bindings()).map((c) => c.uri)).toEqual(['sip:a@h3']);
  });

  it('stores the User-Agent, Allow methods and +sip.instance/reg-id', async () => {
    h = await harness(K());
    const r = await h.run(
      register({
        contacts: ['<sip:a@h>;+sip.instance="<urn:uuid:1234>";reg-id=1'],
        cseq: 1,
        extra: ['User-Agent: TestPhone/1.0', 'Allow: INVITE, ACK, BYE, CANCEL'],
      }),
    );
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@h>;expires=3600;+sip.instance="<urn:uuid:1234>";reg-id=1');
    expect((await bindings())[0]).toMatchObject({ userAgent: 'TestPhone/1.0', methods: 1 | 2 | 4 | 8, instance: '<urn:uuid:1234>', regId: 1 });
  });
});

const SER = (params = '') => `fifo="/tmp/x_fifo"
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
${params}
route {
  if (method=="REGISTER") {
    if (!save("location")) { sl_reply_error(); };
    break;
  };
  sl_send_reply("404", "Not Found");
}`;

describe('save() — SER 0.9', () => {
  it('succeeds with 1 and on error sends exactly one reply (save() returns 0: the script stops)', async () => {
    h = await harness(SER('modparam("registrar", "max_contacts", 1)'));
    let r = await h.run(register({ contacts: ['<sip:a@h1>'], cseq: 1 }));
    expect(r.replies.map((x) => x.code)).toEqual([200]);
    r = await h.run(register({ contacts: ['<sip:a@h2>'], cseq: 2 }));
    expect(r.replies.map((x) => x.code)).toEqual([503]);
  });

  it('saves the received AVP (nathelper fix_nated_register, AVP 42) and the NAT flag 4', async () => {
    h = await harness(`fifo="/tmp/x_fifo"
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
route {
  if (method=="REGISTER") { setflag(4); $avp(i:42) = "sip:198.51.100.7:40000"; save("location"); break; };
}`);
    const r = await h.run(register({ contacts: ['<sip:a@192.168.1.10:5060>'], cseq: 1 }));
    expect(hdr(r.replies[0]!.headers, 'Contact')).toBe('<sip:a@192.168.1.10:5060>;expires=3600;received="sip:198.51.100.7:40000"');
    expect((await bindings())[0]).toMatchObject({ received: 'sip:198.51.100.7:40000', flags: 1, userAgent: 'Unknown' });
  });
});
