// tm's transaction cap (max_transactions): past it t_relay()/t_newtran() make no new
// transaction and sl_reply_error() answers 503, while retransmissions and CANCELs of the
// transactions already there are still handled, and new ones pass again once some end.
import { describe, expect, test } from 'vitest';
import { harness, req, replyTo, status, type Harness } from './harness.js';

const UAC = 7000;
const UAS = 8001;

const CFG = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
request_route {
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
  if ($rU == "newtran") { if (!t_newtran()) { sl_reply_error(); exit; } t_reply("202", "Accepted"); exit; }
  rewritehostport("127.0.0.1:8001");
  if (!t_relay()) { sl_reply_error(); }
}
`;

const refused = (h: Harness): number => h.core.stats.get('tm:refused_transactions')['tm:refused_transactions'] ?? 0;

describe('max_transactions', () => {
  test('a new INVITE past the cap gets 503 and is not forwarded; retransmissions and CANCEL of live ones still work', async () => {
    const h = await harness(CFG, { tm: { max_transactions: 2 } });
    await h.receive(req({ branch: 'z9hG4bKa', callId: 'a' }), UAC);
    await h.receive(req({ branch: 'z9hG4bKb', callId: 'b' }), UAC);
    const fwd = h.take(UAS);
    expect(fwd.length).toBe(2);
    expect(h.take(UAC).map(status)).toEqual([100, 100]);

    await h.receive(req({ branch: 'z9hG4bKc', callId: 'c' }), UAC);
    expect(h.take(UAS).length).toBe(0);
    expect(h.take(UAC).map(status)).toEqual([503]);
    expect(refused(h)).toBe(1);
    expect(h.tm.stats().current).toBe(2);

    // a retransmission of a live transaction is absorbed by it (its last reply again), not refused
    await h.receive(req({ branch: 'z9hG4bKa', callId: 'a' }), UAC);
    expect(h.take(UAC).map(status)).toEqual([100]);
    // its CANCEL still gets a transaction of its own: 200, and the INVITE's branch is cancelled
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKa', callId: 'a' }), UAC);
    expect(h.take(UAC).map(status)).toEqual([200]);
    expect(refused(h)).toBe(1);

    // once transactions end (final reply, its ACK, then wt_timer), new ones pass again
    for (const f of fwd) await h.receive(replyTo(f.msg, 486, 'Busy Here'), UAS);
    for (const id of ['a', 'b']) await h.receive(req({ method: 'ACK', branch: `z9hG4bK${id}`, callId: id, toTag: 'uas-tag' }), UAC);
    await h.advance(6000);
    expect(h.tm.stats().current).toBe(0);
    h.take(UAC);
    h.take(UAS);
    await h.receive(req({ branch: 'z9hG4bKd', callId: 'd' }), UAC);
    expect(h.take(UAS).length).toBe(1);
    expect(h.take(UAC).map(status)).toEqual([100]);
  });

  test('t_newtran() returns -1 past the cap (503 from sl_reply_error); 0 turns the cap off', async () => {
    const h = await harness(CFG, { tm: { max_transactions: 1 } });
    await h.receive(req({ method: 'MESSAGE', ruri: 'sip:newtran@127.0.0.1', callId: 'm1' }), UAC);
    await h.receive(req({ method: 'MESSAGE', ruri: 'sip:newtran@127.0.0.1', callId: 'm2' }), UAC);
    expect(h.take(UAC).map(status)).toEqual([202, 503]);

    const open = await harness(CFG, { tm: { max_transactions: 0 } });
    for (let i = 0; i < 5; i++) await open.receive(req({ method: 'MESSAGE', ruri: 'sip:newtran@127.0.0.1', callId: `n${i}` }), UAC);
    expect(open.take(UAC).map(status)).toEqual([202, 202, 202, 202, 202]);
  });
});
