// Overload end to end, deterministic: the seed config over real UDP, its MariaDB behind a
// TCP proxy that stalls or slows the DB, and a tiny in-flight cap (overload_max_inflight=8),
// so in-flight work grows by exactly one per authenticated REGISTER sent — no reliance on
// CPU saturation. Checks: new REGISTERs get a stateless 503 + Retry-After at once past the
// cap, requests with credentials at twice it; retransmissions of in-progress requests are
// absorbed; what needs no DB (OPTIONS → 404, challenges) is still served; DB-bound requests
// are answered with an error within the query timeout; and service is normal at once after.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { computeHa1 } from '../../modules/auth/digest.js';
import type { Server } from '../../src/core/server.js';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import { answer, parseChallenge } from '../auth/helpers.js';
import { REALM, seedConfig } from '../auth/sipp-auth.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { startProxy } from '../helpers/proxy.js';
import { header, rand, request, statusOf, UdpPeer, type Received } from '../helpers/sip-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const DBNAME = 'tser_test_overload_e2e';
const CAP = 8;
const USERS = 40;
const log = pino({ level: 'silent' });

let tcp: TcpProxy;
let server: Server;
let port: number;
let peer: UdpPeer;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  const db = openDb(mysqlUrl(DBNAME), log);
  await createSchema(db);
  for (let i = 0; i < USERS; i++) {
    const user = String(1000 + i);
    await db.insert('subscriber', { username: user, domain: REALM, password: `pw${user}`, ha1: computeHa1('MD5', user, REALM, `pw${user}`) });
  }
  await db.close();
  tcp = await TcpProxy.start();
  // query timeout = 2.5 × timeout_interval: stalled queries fail after 2.5 s
  const extra = `modparam("mysql", "timeout_interval", 1)\noverload_max_inflight=${CAP}\noverload_max_queue_delay=0\noverload_retry_after=7`;
  ({ server, port } = await startProxy(seedConfig({ dbUrl: mysqlUrl(DBNAME, tcp.port), extra })));
  peer = await UdpPeer.open();
}, 30000);

afterAll(async () => {
  peer.close();
  await server.stop();
  await tcp.close();
  await dropDatabase(DBNAME);
});

const ruri = () => `sip:${REALM}:${port}`;
const byCall = (callId: string, status?: number) => (r: Received) =>
  header(r.text, 'Call-ID') === callId && (status === undefined || statusOf(r.text) === status);
/** the authenticated REGISTER's 100 Trying (the challenge leg has CSeq 1) */
const trying = (callId: string) => (r: Received) => byCall(callId, 100)(r) && header(r.text, 'CSeq') === '2 REGISTER';
const stat = (name: string): number => server.stats.get(`core:${name}`)[`core:${name}`] ?? 0;

interface Reg {
  user: string;
  callId: string;
  /** the authenticated REGISTER, as sent (resent as is for a retransmission) */
  authed: string;
}

/** REGISTER → 401 (no DB needed), then the REGISTER with credentials, built but not sent */
async function challenged(user: string): Promise<Reg> {
  const callId = `${rand()}@ovl`;
  const to = `<sip:${user}@${REALM}>`;
  const base = { method: 'REGISTER', ruri: ruri(), port: peer.port, callId, from: to, to, fromTag: rand(4) };
  await peer.send(request({ ...base, cseq: 1 }), port);
  const ch = parseChallenge(header((await peer.next(byCall(callId, 401))).text, 'WWW-Authenticate')!);
  const auth = answer({ user, password: `pw${user}`, method: 'REGISTER', uri: ruri(), ch });
  return { user, callId, authed: request({ ...base, cseq: 2, extra: [`Authorization: ${auth}`] }) };
}

async function challenges(n: number, from = 0): Promise<Reg[]> {
  const out: Reg[] = [];
  for (let i = 0; i < n; i++) out.push(await challenged(String(1000 + from + i)));
  return out;
}

/** a final reply (not 100) for this Call-ID */
const finalFor = (callId: string) => (r: Received) => header(r.text, 'Call-ID') === callId && statusOf(r.text) >= 200;

async function options(): Promise<number> {
  const callId = `${rand()}@ovl`;
  await peer.send(request({ method: 'OPTIONS', ruri: `sip:nobody@${REALM}:${port}`, port: peer.port, callId }), port);
  return statusOf((await peer.next(byCall(callId), 2000)).text);
}

describe('stalled DB', () => {
  test('in-flight capped, 503 + Retry-After past the cap, retransmissions absorbed, no-DB requests served, errors within the timeout, recovery at once', async () => {
    const regs = await challenges(2 * CAP + 1);
    tcp.set('stall');
    const t0 = Date.now();
    const refusedBefore = stat('overload_refused');

    // credentials get twice the cap: 2·CAP requests go in flight (each answers 100 Trying at once)
    for (let i = 0; i < 2 * CAP; i++) {
      await peer.send(regs[i]!.authed, port);
      await peer.next(trying(regs[i]!.callId));
      if (i === CAP + 1) {
        // past the cap: what needs no DB is still served, a new REGISTER is refused at once
        expect(await options()).toBe(404);
        const callId = `${rand()}@ovl`;
        await peer.send(request({ method: 'REGISTER', ruri: ruri(), port: peer.port, callId, to: `<sip:1000@${REALM}>` }), port);
        const refused = await peer.next(byCall(callId, 503), 1000);
        expect(header(refused.text, 'Retry-After')).toBe('7');
      }
    }
    expect(server.inflightCount).toBe(2 * CAP);
    // twice the cap: credentials are refused too, and the queue does not grow
    const last = regs[2 * CAP]!;
    await peer.send(last.authed, port);
    expect(statusOf((await peer.next(finalFor(last.callId), 1000)).text)).toBe(503);
    expect(server.inflightCount).toBe(2 * CAP);
    expect(stat('overload_refused') - refusedBefore).toBe(2);

    // a retransmission of a request still waiting for the DB is absorbed: no second 100, no second query
    const absorbedBefore = stat('overload_absorbed');
    await peer.send(regs[CAP]!.authed, port);
    expect(await peer.nothing(trying(regs[CAP]!.callId), 300)).toBe(true);
    expect(stat('overload_absorbed')).toBe(absorbedBefore + 1);
    expect(server.inflightCount).toBe(2 * CAP);

    // every request that went to the DB is answered with an error within the query timeout
    for (const r of regs.slice(0, 2 * CAP)) {
      const reply = await peer.next(finalFor(r.callId), 6000);
      expect(statusOf(reply.text)).toBe(500);
    }
    expect(Date.now() - t0).toBeLessThan(2500 + 2500);
    expect(server.inflightCount).toBe(0);

    // load gone: new work is served at once (no 503), and the DB path works again
    tcp.set('up');
    expect(await options()).toBe(404);
    const again = await challenged('1000');
    const end = Date.now() + 15000;
    for (;;) {
      const fresh = await challenged('1000');
      await peer.send(fresh.authed, port);
      const st = statusOf((await peer.next(finalFor(fresh.callId), 6000)).text);
      if (st === 200) break;
      expect(st).toBe(500); // the driver is still reconnecting
      expect(Date.now()).toBeLessThan(end);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(again.authed).toContain('Authorization:');
  }, 30000);
});

describe('slow DB (200 ms per answer)', () => {
  test('a burst past the cap: at most 2·cap in flight, every request answered, OPTIONS not held up by the DB', async () => {
    const regs = await challenges(USERS);
    tcp.latencyMs = 200;
    let maxInflight = 0;
    const watch = setInterval(() => (maxInflight = Math.max(maxInflight, server.inflightCount)), 1);
    try {
      const sentAt = Date.now();
      for (const r of regs) void peer.send(r.authed, port);
      const finals = regs.map(async (r) => {
        const reply = await peer.next(finalFor(r.callId), 6000);
        return { code: statusOf(reply.text), at: Date.now() };
      });
      // sent after the burst, answered before any DB-bound request is
      expect(await options()).toBe(404);
      const optionsAt = Date.now();
      const done = await Promise.all(finals);
      const served = done.filter((d) => d.code === 200);
      const refused = done.filter((d) => d.code === 503).length;
      expect(served.length + refused).toBe(USERS);
      expect(served.length).toBeGreaterThanOrEqual(2 * CAP);
      expect(refused).toBeGreaterThan(0);
      expect(maxInflight).toBeLessThanOrEqual(2 * CAP);
      const firstServed = Math.min(...served.map((d) => d.at));
      expect(optionsAt).toBeLessThanOrEqual(firstServed);
      // served after the DB's latency, well within the query timeout
      expect(firstServed - sentAt).toBeGreaterThanOrEqual(190);
      expect(Math.max(...served.map((d) => d.at)) - sentAt).toBeLessThan(2500);
    } finally {
      clearInterval(watch);
      tcp.latencyMs = 0;
    }
    // the load is gone: the next registration goes through without a 503
    const fresh = await challenged('1000');
    await peer.send(fresh.authed, port);
    expect(statusOf((await peer.next(finalFor(fresh.callId), 3000)).text)).toBe(200);
  }, 30000);
});
