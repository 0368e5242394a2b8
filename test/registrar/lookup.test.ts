// lookup() / registered() / unregister(): R-URI rewrite, branches, $du, return codes per
// dialect, the SER `aliases` table, method filtering.
import { afterEach, describe, expect, it } from 'vitest';
import { harness, invite, register, type Harness } from './harness.js';
import { ulRpc } from '../../modules/usrloc/rpc.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const K = (params = '', route = 'if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; } forward();') => `#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
${params}
request_route {
  if (method == "REGISTER") { save("location"); exit; }
  ${route}
}`;

describe('lookup() — Kamailio 5.6', () => {
  it('rewrites the R-URI to the best binding and adds the others as branches in order', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1:5060>;q=0.2', '<sip:alice@10.0.0.2:5060>;q=0.8', '<sip:alice@10.0.0.3:5060>;q=0.5'] }));
    const r = await h.run(invite('sip:alice@example.com'));
    expect(r.forwards).toEqual([{ target: null, ruri: 'sip:alice@10.0.0.2:5060', du: null }]);
    expect(r.ctx.branches.map((b) => [b.uri, b.q])).toEqual([
      ['sip:alice@10.0.0.3:5060', 0.5],
      ['sip:alice@10.0.0.1:5060', 0.2],
    ]);
    expect(r.ctx.ruriQ).toBe(0.8);
  });

  it('append_branches=0 adds no branches', async () => {
    h = await harness(K('modparam("registrar", "append_branches", 0)'));
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1>', '<sip:alice@10.0.0.2>'] }));
    const r = await h.run(invite('sip:alice@example.com'));
    expect(r.ctx.branches).toEqual([]);
  });

  it('returns -1 for an unknown AOR and for one whose bindings all expired', async () => {
    h = await harness(K('', 'lookup("location"); exit;'));
    let r = await h.run(invite('sip:nobody@example.com'));
    expect(r.ctx.rc).toBe(-1);
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1>'], expires: 60 }));
    h.clock.t += 61;
    r = await h.run(invite('sip:alice@example.com'));
    expect(r.ctx.rc).toBe(-1);
  });

  it('sets $du from the received address of a NATed binding', async () => {
    h = await harness(K());
    await h.run(register({ contacts: ['<sip:alice@192.168.0.10:5060>;received="sip:203.0.113.5:41000"'] }));
    const r = await h.run(invite('sip:alice@example.com'));
    expect(r.forwards[0]).toEqual({ target: null, ruri: 'sip:alice@192.168.0.10:5060', du: 'sip:203.0.113.5:41000' });
  });

  it('method_filtering: -2 when no binding accepts the method', async () => {
    h = await harness(K('modparam("registrar", "method_filtering", 1)', 'lookup("location"); exit;'));
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1>'], extra: ['Allow: INVITE, ACK, BYE'] }));
    expect((await h.run(invite('sip:alice@example.com'))).ctx.rc).toBe(1);
    const msg = invite('sip:alice@example.com');
    const message = (await import('../../src/sip/index.js')).SipMessage.parse(
      Buffer.from(msg.raw.replace(/^INVITE/, 'MESSAGE').replace('CSeq: 1 INVITE', 'CSeq: 1 MESSAGE'), 'latin1'),
    );
    expect((await h.run(message)).ctx.rc).toBe(-2);
  });

  it('registered() and unregister()', async () => {
    h = await harness(
      K(
        '',
        `if (registered("location")) { sl_send_reply("200", "yes"); } else { sl_send_reply("404", "no"); }
         if (uri =~ "^sip:bob") { unregister("location", "sip:alice@example.com"); }
         exit;`,
      ),
    );
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1>'] }));
    expect((await h.run(invite('sip:alice@example.com'))).replies[0]!.code).toBe(200);
    expect((await h.run(invite('sip:carol@example.com'))).replies[0]!.code).toBe(404);
    await h.run(invite('sip:bob@example.com'));
    expect(await h.store.getDomain('location').get('alice')).toEqual([]);
  });
});

const SER = `fifo="/tmp/x_fifo"
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
route {
  if (method=="REGISTER") { save("location"); break; };
  lookup("aliases");
  if (!lookup("location")) { sl_send_reply("404", "User Not Found"); break; };
  forward();
}`;

describe('lookup() — SER 0.9', () => {
  it('lookup("aliases") rewrites an alias to the user, then lookup("location") finds the phone', async () => {
    h = await harness(SER);
    await h.run(register({ aor: '1000', contacts: ['<sip:1000@10.0.0.7:5060>'] }));
    await ulRpc['ul_add']!.run({ store: h.store }, ['aliases', 'info', 'sip:1000@example.com', 0, '1', 0, 128]);
    const r = await h.run(invite('sip:info@example.com'));
    expect(r.forwards).toEqual([{ target: null, ruri: 'sip:1000@10.0.0.7:5060', du: null }]);
    const miss = await h.run(invite('sip:nobody@example.com'));
    expect(miss.replies[0]).toMatchObject({ code: 404, reason: 'User Not Found' });
  });

  it('returns -3 for an unknown AOR and -5 when every binding expired', async () => {
    h = await harness(SER.replace('if (!lookup("location")) { sl_send_reply("404", "User Not Found"); break; };\n  forward();', 'lookup("location"); break;'));
    expect((await h.run(invite('sip:nobody@example.com'))).ctx.rc).toBe(-3);
    await h.run(register({ contacts: ['<sip:alice@10.0.0.1>'], expires: 60 }));
    h.clock.t += 120;
    expect((await h.run(invite('sip:alice@example.com'))).ctx.rc).toBe(-5);
  });
});
