// Small pieces of tm on their own: the timer wheel, reply ranking, matching keys, parameters.
import { describe, expect, test } from 'vitest';
import { TimerNode, TimerWheel } from '../../modules/tm/timers.js';
import { replyPrio } from '../../modules/tm/reply-select.js';
import { inviteDialogKey, serverKey } from '../../modules/tm/matching.js';
import { resolveConfig, tmParams, type TmParams } from '../../modules/tm/params.js';
import { SipMessage } from '../../src/sip/index.js';
import { req } from './harness.js';

function wheel(tickMs = 50) {
  let now = 0;
  const fired: [number, number][] = [];
  const w = new TimerWheel(tickMs, 16, () => now);
  const node = (id: number) => new TimerNode({ onTimer: (kind) => fired.push([id, kind]) });
  const advance = (ms: number) => {
    const end = now + ms;
    while (now < end) {
      now = Math.min(end, now + tickMs);
      w.run(now);
    }
  };
  return { w, node, fired, advance, at: () => now };
}

describe('TimerWheel', () => {
  test('fires each node once, not before its time, in order of expiry', () => {
    const { w, node, fired, advance } = wheel();
    w.arm(node(1), 120, 7);
    w.arm(node(2), 60, 8);
    advance(50);
    expect(fired).toEqual([]);
    advance(50);
    expect(fired).toEqual([[2, 8]]);
    advance(50);
    expect(fired).toEqual([[2, 8], [1, 7]]);
    expect(w.count).toBe(0);
  });

  test('timers longer than one rotation wait for their own turn', () => {
    const { w, node, fired, advance } = wheel();
    w.arm(node(1), 16 * 50 * 3 + 25, 1); // three rotations and a bit
    advance(16 * 50 * 3);
    expect(fired).toEqual([]);
    advance(100);
    expect(fired).toEqual([[1, 1]]);
  });

  test('a handler can disarm a node of the same slot and re-arm itself', () => {
    const { w, fired, advance } = wheel();
    let a: TimerNode, b: TimerNode;
    // whichever fires first cancels the other one: exactly one fires
    a = new TimerNode({ onTimer: (k) => (fired.push([1, k]), w.disarm(b), k === 1 && w.arm(a, 100, 2)) });
    b = new TimerNode({ onTimer: (k) => (fired.push([2, k]), w.disarm(a)) });
    w.arm(a, 100, 1);
    w.arm(b, 100, 1);
    advance(100);
    expect(fired.length).toBe(1);
    advance(100);
    expect(fired.length === 2 ? fired[1] : null).toEqual(fired[0]![0] === 1 ? [1, 2] : null);
    expect(w.count).toBe(0);
  });

  test('catches up after a stall', () => {
    const { w, node, fired } = wheel();
    for (let i = 0; i < 40; i++) w.arm(node(i), i * 30, 0);
    w.run(100000);
    expect(fired.length).toBe(40);
  });
});

describe('reply ranking (RFC 3261 §16.7, Kamailio t_pick_branch)', () => {
  test('6xx beats every other final, then lower classes win', () => {
    const order = [603, 302, 486, 503].sort((x, y) => replyPrio(x, false, 0) - replyPrio(y, false, 0));
    expect(order).toEqual([603, 302, 486, 503]);
  });
  test('4xx prefers codes that help a retry', () => {
    for (const c of [401, 407, 415, 420, 484]) expect(replyPrio(c, false, 0)).toBeLessThan(replyPrio(404, false, 0));
  });
  test('faked_reply_prio ranks local replies lower', () => {
    expect(replyPrio(408, true, 0)).toBe(replyPrio(408, false, 0));
    expect(replyPrio(408, true, 1000)).toBeGreaterThan(replyPrio(480, false, 0));
  });
});

describe('matching keys', () => {
  const m = (t: string) => SipMessage.parse(Buffer.from(t, 'latin1'));
  const opts = { ruri: true, via: true };
  test('ACK and CANCEL find their INVITE by branch and sent-by', () => {
    const inv = m(req({ branch: 'z9hG4bKabc' }));
    expect(serverKey(m(req({ method: 'ACK', branch: 'z9hG4bKabc', toTag: 'x' })), 'INVITE', opts)).toBe(serverKey(inv, 'INVITE', opts));
    expect(serverKey(m(req({ method: 'CANCEL', branch: 'z9hG4bKabc' })), 'INVITE', opts)).toBe(serverKey(inv, 'INVITE', opts));
    expect(serverKey(m(req({ method: 'CANCEL', branch: 'z9hG4bKabc' })), 'CANCEL', opts)).not.toBe(serverKey(inv, 'INVITE', opts));
    expect(serverKey(m(req({ branch: 'z9hG4bKabc', port: 7001 })), 'INVITE', opts)).not.toBe(serverKey(inv, 'INVITE', opts));
  });
  test('RFC 2543: Call-ID, CSeq, From tag, R-URI and top Via', () => {
    const via = 'SIP/2.0/UDP 127.0.0.1:7000';
    const a = serverKey(m(req({ via })), 'INVITE', opts);
    expect(serverKey(m(req({ via })), 'INVITE', opts)).toBe(a);
    expect(serverKey(m(req({ via, cseq: 2 })), 'INVITE', opts)).not.toBe(a);
    expect(serverKey(m(req({ via, fromTag: 'other' })), 'INVITE', opts)).not.toBe(a);
    expect(serverKey(m(req({ via, ruri: 'sip:x@y' })), 'INVITE', opts)).not.toBe(a);
    expect(serverKey(m(req({ via, ruri: 'sip:x@y' })), 'INVITE', { ruri: false, via: true })).toBe(
      serverKey(m(req({ via })), 'INVITE', { ruri: false, via: true }),
    );
  });
  test('the end-to-end ACK of a 2xx matches its INVITE by dialog', () => {
    expect(inviteDialogKey(m(req({ method: 'ACK', branch: 'z9hG4bKnew', toTag: 't' })))).toBe(inviteDialogKey(m(req())));
  });
});

describe('parameters', () => {
  const defaults = Object.fromEntries(Object.entries(tmParams).map(([k, v]) => [k, v.default])) as TmParams;
  test('SER 0.9 timers are seconds, Kamailio milliseconds, each with its own defaults', () => {
    const ser = resolveConfig(defaults, 'ser');
    const kam = resolveConfig(defaults, 'kamailio');
    expect([ser.frTimer, ser.frInvTimer, ser.wtTimer, ser.t1, ser.t2]).toEqual([30000, 120000, 5000, 500, 4000]);
    expect([kam.frTimer, kam.frInvTimer, kam.wtTimer, kam.t1, kam.t2]).toEqual([30000, 120000, 5000, 500, 4000]);
    expect(ser.noisyCtimer).toBe(false);
    expect(kam.noisyCtimer).toBe(true);
    expect(resolveConfig({ ...defaults, fr_timer: 2, fr_inv_timer: 5 }, 'ser')).toMatchObject({ frTimer: 2000, frInvTimer: 5000 });
    expect(resolveConfig({ ...defaults, fr_timer: 2000, fr_inv_timer: 5000 }, 'kamailio')).toMatchObject({ frTimer: 2000, frInvTimer: 5000 });
    expect(resolveConfig({ ...defaults, retr_timer1p1: 1 }, 'ser').t1).toBe(1000);
  });
});
