// End to end (issue 18, guessing): the seed config with its default parameters against the
// real MariaDB over real UDP. 5,000 wrong-password REGISTERs from 127.0.0.2 (not waiting for
// answers, as a guessing tool does) get that address blocked after guess_block_after failures:
// the rest are answered 403 with no DB query, while 127.0.0.1 registers the same user with
// the right password normally, during the flood and after it. The block is listed by RPC auth.blocked, logged once, and
// lifted by auth.unblock.
import dgram from 'node:dgram';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { rand, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { rawExchange, startControlled, type ControlledProxy } from '../control/helpers.js';
import { REALM, seedConfig } from './sipp-auth.js';
import { answerRegister, challengeOf, finalReply, register } from './raw-register.js';

const DBNAME = 'tser_test_auth_guessing';
const GUESSES = 5000;

async function rpc(p: ControlledProxy, method: string, params: unknown[] = []): Promise<unknown> {
  const [line] = await rawExchange(p.socket, `${JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 })}\n`);
  return (JSON.parse(line!) as { result?: unknown }).result;
}

/** the real user from 127.0.0.1: challenge, answer; the final status */
async function userRegisters(port: number): Promise<number> {
  const peer = await UdpPeer.open();
  try {
    const callId = `u-${rand()}`;
    const ch = challengeOf(await finalReply(peer, register(peer, { user: '1000', port, callId, cseq: 1 }), port, 10_000));
    return statusOf(await finalReply(peer, register(peer, { user: '1000', port, callId, cseq: 2, auth: answerRegister(ch, '1000', 'password1', port) }), port, 10_000));
  } finally {
    peer.close();
  }
}

describe('password guessing (seed config defaults, MariaDB, UDP)', () => {
  let p: ControlledProxy;
  let attacker: dgram.Socket;
  let attackerPort: number;

  beforeAll(async () => {
    await recreateDatabase(DBNAME);
    const db = openDb(mysqlUrl(DBNAME), pino({ level: 'silent' }));
    await createSchema(db);
    await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1' });
    await db.close();
    // a FIFO of its own: /tmp/ser_fifo may be open in another test file at the same time
    p = await startControlled((dir) => seedConfig({ dbUrl: mysqlUrl(DBNAME) }).replace('/tmp/ser_fifo', `${dir}/ser_fifo`));
    attacker = dgram.createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.2', () => r()));
    attackerPort = attacker.address().port;
  });
  afterAll(async () => {
    attacker.close();
    await p.stop();
    await dropDatabase(DBNAME);
  });

  test(`${GUESSES} guesses from one address: blocked after the threshold, no DB query past it; another address registers normally`, async () => {
    const port = p.port;
    const statuses = new Map<number, number>();
    let challenge = '';
    let lastStatus = 0;
    attacker.on('message', (buf) => {
      const t = buf.toString('latin1');
      const st = statusOf(t);
      if (st < 200) return;
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
      lastStatus = st;
      if (challenge === '') challenge = t;
    });
    // the guessing tool: one challenge, then wrong answers as fast as it likes
    const asAttacker = { port: attackerPort } as UdpPeer;
    const send = (text: string) => new Promise<void>((res) => attacker.send(text, port, '127.0.0.1', () => res()));
    await send(register(asAttacker, { user: '1000', port, callId: `g-${rand()}`, cseq: 1 }).replace(/127\.0\.0\.1:(\d+);branch/, '127.0.0.2:$1;branch'));
    for (let i = 0; i < 100 && challenge === ''; i++) await new Promise((r) => setTimeout(r, 20));
    const ch = challengeOf(challenge);
    statuses.clear();
    const failedBefore = Number(p.server.stats.get('auth:failed')['auth:failed'] ?? 0);
    const t0 = Date.now();
    const answered = () => [...statuses.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < GUESSES; i++) {
      // pipelined, but never so far ahead that replies overflow the socket's receive buffer
      while (i - answered() > 20) await new Promise((r) => setTimeout(r, 1));
      await send(register(asAttacker, { user: '1000', port, callId: `g-${i}-${rand()}`, cseq: 1, auth: answerRegister(ch, '1000', `guess-${i}`, port) }));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    // meanwhile, from another address, the real user
    expect(await userRegisters(port)).toBe(200);
    const end = Date.now() + 15_000;
    while (answered() < GUESSES && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const seconds = (Date.now() - t0) / 1000;
    const checked = Number(p.server.stats.get('auth:failed')['auth:failed'] ?? 0) - failedBefore;
    const blocked = Number(p.server.stats.get('auth:blocked_requests')['auth:blocked_requests'] ?? 0);
    console.log(`guessing: ${GUESSES} guesses in ${seconds.toFixed(1)} s, ${checked} checked against the DB, ${blocked} refused blocked, replies ${JSON.stringify([...statuses])}`);
    expect(answered()).toBe(GUESSES);
    // checked (a DB query each) only up to the threshold, plus those already in flight
    expect(checked).toBeGreaterThanOrEqual(20);
    expect(checked).toBeLessThan(100);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(GUESSES - 100);

    // visible over RPC, and lifted by RPC
    expect(await rpc(p, 'auth.blocked')).toEqual([expect.objectContaining({ kind: 'source', key: '127.0.0.2', blocks: 1 })]);
    // the user is not blocked: the real user authenticates again from 127.0.0.1
    expect(await userRegisters(port)).toBe(200);
    // the blocked address is refused even with the right password, cheaply, until unblocked
    const lastReply = async (text: string): Promise<number> => {
      const seen = answered();
      await send(text);
      for (let k = 0; k < 150 && answered() === seen; k++) await new Promise((r) => setTimeout(r, 20));
      return lastStatus;
    };
    const right = answerRegister(ch, '1000', 'password1', port);
    expect(await lastReply(register(asAttacker, { user: '1000', port, callId: `r-${rand()}`, cseq: 1, auth: right }))).toBe(403);
    expect(await rpc(p, 'auth.unblock', ['127.0.0.2'])).toEqual({ unblocked: 1 });
    expect(await rpc(p, 'auth.blocked')).toEqual([]);
    expect(await lastReply(register(asAttacker, { user: '1000', port, callId: `r-${rand()}`, cseq: 1, auth: right }))).toBe(200);
  }, 60_000);
});
