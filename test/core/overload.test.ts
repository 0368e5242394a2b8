// The overload guard's decisions, one request at a time: the in-flight caps per class of
// request, absorbing retransmissions of refused and in-progress requests, and the
// queue-delay controller's refused share.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { ABSORB, ADMIT, OverloadGuard, overloadLimits, REFUSE, type OverloadLimits } from '../../src/core/overload.js';
import { Stats } from '../../src/core/stats.js';
import { SipMessage } from '../../src/sip/index.js';
import { rand, request } from '../helpers/sip-client.js';

const guards: OverloadGuard[] = [];
afterEach(() => {
  for (const g of guards.splice(0)) g.stop();
});

function guard(limits: Partial<OverloadLimits> = {}): { g: OverloadGuard; stats: Stats } {
  const stats = new Stats();
  const g = new OverloadGuard(stats, pino({ level: 'silent' }), () => 0, { maxInflight: 10, maxQueueDelay: 100, retryAfter: 7, ...limits });
  guards.push(g);
  return { g, stats };
}

interface Req {
  method?: string;
  toTag?: string;
  auth?: boolean;
  branch?: string;
}

function msg(o: Req = {}): SipMessage {
  const method = o.method ?? 'REGISTER';
  const text = request({
    method,
    ruri: 'sip:127.0.0.1',
    port: 5099,
    branch: o.branch ?? `z9hG4bK${rand()}`,
    toTag: o.toTag,
    extra: o.auth ? ['Authorization: Digest username="1000", realm="127.0.0.1", nonce="n", uri="sip:127.0.0.1", response="r"'] : [],
  });
  return SipMessage.parse(Buffer.from(text, 'latin1'));
}

const count = (stats: Stats, name: string): number => stats.get(`core:${name}`)[`core:${name}`] ?? 0;

describe('in-flight caps', () => {
  test('below the cap everything is admitted; at the cap new INVITE/REGISTER are refused', () => {
    const { g, stats } = guard();
    expect(g.screen(msg(), 9)).toBe(ADMIT);
    expect(g.screen(msg({ method: 'INVITE' }), 9)).toBe(ADMIT);
    expect(g.screen(msg(), 10)).toBe(REFUSE);
    expect(g.screen(msg({ method: 'INVITE' }), 10)).toBe(REFUSE);
    expect(count(stats, 'overload_refused')).toBe(2);
    expect(g.retryAfterHeaders).toEqual(['Retry-After: 7']);
  });

  test('credentials and in-dialog requests get twice the cap, OPTIONS four times', () => {
    const { g } = guard();
    for (const r of [{ auth: true }, { method: 'BYE', toTag: 'x' }, { method: 'INVITE', toTag: 'y' }]) {
      expect(g.screen(msg(r), 19)).toBe(ADMIT);
      expect(g.screen(msg(r), 20)).toBe(REFUSE);
    }
    expect(g.screen(msg({ method: 'OPTIONS' }), 39)).toBe(ADMIT);
    expect(g.screen(msg({ method: 'OPTIONS' }), 40)).toBe(REFUSE);
  });

  test('ACK and CANCEL are never refused: admitted below twice the cap, dropped silently past it', () => {
    const { g, stats } = guard();
    expect(g.screen(msg({ method: 'ACK' }), 19)).toBe(ADMIT);
    expect(g.screen(msg({ method: 'CANCEL' }), 19)).toBe(ADMIT);
    expect(g.screen(msg({ method: 'ACK' }), 20)).toBe(ABSORB);
    expect(g.screen(msg({ method: 'CANCEL' }), 25)).toBe(ABSORB);
    expect(count(stats, 'overload_refused')).toBe(0);
    expect(count(stats, 'overload_absorbed')).toBe(2);
  });

  test('watching starts at half the cap; the parameters come from the overload_* globals', () => {
    const { g } = guard();
    expect(g.watchFrom).toBe(5);
    expect(g.active).toBe(false);
    const limits = overloadLimits((n) => ({ overload_max_inflight: 40, overload_retry_after: 2 })[n]);
    expect(limits).toEqual({ maxInflight: 40, maxQueueDelay: 100, retryAfter: 2 });
    g.configure(limits);
    expect(g.watchFrom).toBe(20);
    expect(g.retryAfterHeaders).toEqual(['Retry-After: 2']);
    // 0 = no in-flight cap
    expect(overloadLimits((n) => (n === 'overload_max_inflight' ? 0 : undefined)).maxInflight).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('retransmissions', () => {
  test('a retransmission of a refused request is absorbed (no second 503), even after the load dropped', () => {
    const { g, stats } = guard();
    const branch = `z9hG4bK${rand()}`;
    expect(g.screen(msg({ branch }), 10)).toBe(REFUSE);
    expect(g.active).toBe(true);
    expect(g.screen(msg({ branch }), 12)).toBe(ABSORB);
    expect(g.screen(msg({ branch }), 0)).toBe(ABSORB);
    expect(count(stats, 'overload_refused')).toBe(1);
    expect(count(stats, 'overload_absorbed')).toBe(2);
    // another request (another branch) is served normally once the load dropped
    expect(g.screen(msg(), 0)).toBe(ADMIT);
  });

  test('during the warm-up after start, a refused request\'s retransmission is processed once the guard is calm', () => {
    const stats = new Stats();
    const g = new OverloadGuard(stats, pino({ level: 'silent' }), () => 0, { maxInflight: 10, maxQueueDelay: 100, retryAfter: 5 }, 60000);
    guards.push(g);
    g.start(undefined);
    const branch = `z9hG4bK${rand()}`;
    expect(g.screen(msg({ branch }), 10)).toBe(REFUSE);
    expect(g.screen(msg({ branch }), 12)).toBe(ABSORB);
    // under the cap but not calm yet (in-flight at half the cap or more): still absorbed
    expect(g.screen(msg({ branch }), 5)).toBe(ABSORB);
    // calm: processed (a late success, not a timeout) …
    expect(g.screen(msg({ branch }), 0)).toBe(ADMIT);
    // … and forgotten: if it is refused again later, that is a new 503
    expect(g.screen(msg({ branch }), 10)).toBe(REFUSE);
    expect(stats.get('core:overload_refused')['core:overload_refused']).toBe(2);
  });

  test('a retransmission of a request still in progress is absorbed, and processed again once it settled', async () => {
    const { g, stats } = guard();
    const branch = `z9hG4bK${rand()}`;
    let settle = (): void => undefined;
    const work = new Promise<void>((r) => (settle = r));
    expect(g.screen(msg({ branch, auth: true }), 6)).toBe(ADMIT);
    const followed = g.follow(msg({ branch, auth: true }), work);
    expect(g.screen(msg({ branch, auth: true }), 6)).toBe(ABSORB);
    // same branch, other method (a CANCEL) is not a retransmission
    expect(g.screen(msg({ branch, method: 'CANCEL' }), 6)).toBe(ADMIT);
    expect(count(stats, 'overload_absorbed')).toBe(1);
    settle();
    await followed;
    expect(g.screen(msg({ branch, auth: true }), 6)).toBe(ADMIT);
  });

  test('a failure of followed work still reaches the caller', async () => {
    const { g } = guard();
    const m = msg();
    await expect(g.follow(m, Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(g.screen(m, 6)).toBe(ADMIT);
  });
});

describe('queue-delay controller', () => {
  const refusedOf = (g: OverloadGuard, n: number, r: Req = {}): number => {
    let k = 0;
    for (let i = 0; i < n; i++) if (g.screen(msg(r), 0) === REFUSE) k++;
    return k;
  };

  test('over the limit the refused share of new requests rises by 1/16 per tick (2/16 past twice it), under half it falls by 1/16', () => {
    const { g, stats } = guard();
    g.control(150);
    expect(g.active).toBe(true);
    expect(refusedOf(g, 64)).toBe(4); // 1/16
    g.control(150);
    g.control(150);
    expect(count(stats, 'overload_shed_pct')).toBe(19); // 3/16
    expect(refusedOf(g, 64)).toBe(12);
    g.control(250);
    expect(refusedOf(g, 64)).toBe(20); // 5/16
    g.control(75); // between half and the limit: hold
    expect(refusedOf(g, 64)).toBe(20);
    g.control(10);
    expect(refusedOf(g, 64)).toBe(16); // 4/16
    for (let i = 0; i < 4; i++) g.control(0);
    expect(refusedOf(g, 64)).toBe(0);
    expect(count(stats, 'overload_shed_pct')).toBe(0);
  });

  test('invested requests pass while the delay is under twice the limit, and are refused past it', () => {
    const { g } = guard();
    g.control(150);
    expect(refusedOf(g, 32, { auth: true })).toBe(0);
    expect(refusedOf(g, 32, { method: 'BYE', toTag: 't' })).toBe(0);
    g.control(250);
    expect(refusedOf(g, 4, { auth: true })).toBe(4);
    g.control(150);
    expect(refusedOf(g, 4, { auth: true })).toBe(0);
  });

  test('overload_max_queue_delay=0 turns the controller off', () => {
    const { g } = guard({ maxQueueDelay: 0 });
    g.control(10000);
    expect(refusedOf(g, 16)).toBe(0);
  });
});

describe('logging', () => {
  test('refusals are logged once per interval with their count, never per message', async () => {
    const lines: { level: number; msg: string; refused?: number }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
        done();
      },
    });
    const g = new OverloadGuard(new Stats(), pino({ level: 'info' }, sink), () => 0, { maxInflight: 10, maxQueueDelay: 100, retryAfter: 5 });
    guards.push(g);
    for (let i = 0; i < 100; i++) g.screen(msg(), 10);
    g.start(undefined);
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 50; i++) g.screen(msg(), 10);
    await new Promise((r) => setTimeout(r, 250));
    const warns = lines.filter((l) => l.level === 40);
    expect(warns.length).toBe(1);
    expect(warns[0]!.refused).toBe(100);
    expect(warns[0]!.msg).toMatch(/overload/);
  });
});
