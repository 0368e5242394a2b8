// End to end (issue 18, replay): the SER 0.9 seed config with its default auth parameters
// (no nonce_count, no one_time_nonce) against the real MariaDB over real UDP. A captured
// Authorization replayed from another port in a new request is refused with a stale
// challenge and the attacker's Contact is not stored; a retransmission of the accepted
// request and a client reusing the nonce with a growing nc (raw and SIPp) still pass;
// modparam("auth", "replay_protection", 0) brings back the old behaviour.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import type { Server } from '../../src/core/server.js';
import { computeHa1 } from '../../modules/auth/digest.js';
import { startProxy } from '../helpers/proxy.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { headers, rand, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { expectPass, REALM, seedConfig, sipp, type SeedOpts } from './sipp-auth.js';
import { answerRegister, challengeOf, finalReply, register } from './raw-register.js';
import { startControlled } from '../control/helpers.js';
import { rpcCall } from '../../src/ctl/rpc-client.js';

const DBNAME = 'tser_test_auth_replay';
const url = mysqlUrl(DBNAME);

describe('replay protection with the seed config defaults (MariaDB, UDP)', () => {
  let db: Db;
  const servers: Server[] = [];
  const peers: UdpPeer[] = [];
  const proxy = async (o: Omit<SeedOpts, 'dbUrl'> = {}) => {
    const p = await startProxy(seedConfig({ dbUrl: url, ...o }));
    servers.push(p.server);
    return p.port;
  };
  const peer = async () => {
    const p = await UdpPeer.open();
    peers.push(p);
    return p;
  };

  beforeAll(async () => {
    await recreateDatabase(DBNAME);
    db = openDb(url, pino({ level: 'silent' }));
    await createSchema(db);
    await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1', ha1: computeHa1('MD5', '1000', REALM, 'password1'), ha1b: '' });
  });
  afterAll(async () => {
    for (const p of peers) p.close();
    for (const s of servers) await s.stop();
    await db.close();
    await dropDatabase(DBNAME);
  });

  /** victim registers: challenge, answer; returns the accepted REGISTER and its Authorization */
  async function victimRegisters(port: number, victim: UdpPeer): Promise<{ accepted: string; auth: string; callId: string }> {
    const callId = `victim-${rand()}`;
    const ch = challengeOf(await finalReply(victim, register(victim, { user: '1000', port, callId, cseq: 1 }), port));
    const auth = answerRegister(ch, '1000', 'password1', port);
    const accepted = register(victim, { user: '1000', port, callId, cseq: 2, auth });
    expect(statusOf(await finalReply(victim, accepted, port))).toBe(200);
    return { accepted, auth, callId };
  }

  test('a captured Authorization replayed from another port in a new request: 401 stale=true, contact not added; the retransmission passes', async () => {
    const port = await proxy();
    const victim = await peer();
    const attacker = await peer();
    const { accepted, auth } = await victimRegisters(port, victim);

    // the UDP retransmission of the accepted REGISTER (same bytes, same source): 200 again
    expect(statusOf(await finalReply(victim, accepted, port))).toBe(200);

    // the attacker: new Call-ID, its own Contact (its port), the captured header
    const replay = await finalReply(attacker, register(attacker, { user: '1000', port, callId: `evil-${rand()}`, cseq: 7, auth }), port);
    expect(statusOf(replay)).toBe(401);
    expect(challengeOf(replay).stale).toBe('true');
    // the same captured request byte for byte, but from another port: refused as well
    expect(statusOf(await finalReply(attacker, accepted, port))).toBe(401);

    // the victim refreshes with a fresh nonce: its bindings do not include the attacker's
    const { accepted: again } = await victimRegisters(port, victim);
    const bindings = headers(await finalReply(victim, again, port), 'Contact').join('\n');
    expect(bindings).toContain(`127.0.0.1:${victim.port}`);
    expect(bindings).not.toContain(`127.0.0.1:${attacker.port}`);
  });

  test('qop: a client reusing the nonce with a growing nc keeps registering; an old nc replayed is refused', async () => {
    const port = await proxy({ qop: '1' });
    const client = await peer();
    const callId = `nc-${rand()}`;
    const ch = challengeOf(await finalReply(client, register(client, { user: '1000', port, callId, cseq: 1 }), port));
    expect(ch.qop).toBe('auth');
    const first = answerRegister(ch, '1000', 'password1', port, 1);
    for (let nc = 1; nc <= 6; nc++) {
      const r = await finalReply(client, register(client, { user: '1000', port, callId, cseq: nc + 1, auth: answerRegister(ch, '1000', 'password1', port, nc) }), port);
      expect(statusOf(r), `nc=${nc}`).toBe(200);
    }
    const attacker = await peer();
    expect(statusOf(await finalReply(attacker, register(attacker, { user: '1000', port, callId: `evil-${rand()}`, cseq: 1, auth: first }), port))).toBe(401);
    // SIPp as the client: second REGISTER on the same nonce with nc=00000002
    const r = await sipp('register-twice.xml', port, { user: '1000', password: 'password1' });
    expectPass(r);
    expect(r.messages).toMatch(/nc=00000002/);
  });

  test('the accepted responses survive a live reload (cfg.reload): a replay after it is still refused', async () => {
    const p = await startControlled((dir) => seedConfig({ dbUrl: url }).replace('/tmp/ser_fifo', `${dir}/ser_fifo`));
    try {
      const victim = await peer();
      const attacker = await peer();
      const { auth } = await victimRegisters(p.port, victim);
      const report = (await rpcCall(p.socket, 'cfg.reload')) as { ok?: boolean };
      expect(report).toMatchObject({ ok: true });
      const replay = await finalReply(attacker, register(attacker, { user: '1000', port: p.port, callId: `evil-${rand()}`, cseq: 7, auth }), p.port);
      expect(statusOf(replay)).toBe(401);
      expect(challengeOf(replay).stale).toBe('true');
    } finally {
      await p.stop();
    }
  });

  test('modparam("auth", "replay_protection", 0): the old default, a replay is accepted', async () => {
    const port = await proxy({ extra: 'modparam("auth", "replay_protection", 0)' });
    const victim = await peer();
    const attacker = await peer();
    const { auth } = await victimRegisters(port, victim);
    expect(statusOf(await finalReply(attacker, register(attacker, { user: '1000', port, callId: `evil-${rand()}`, cseq: 7, auth }), port))).toBe(200);
  });
});
