// End to end (issue 18, reconnect): the seed config authenticating REGISTERs against MariaDB
// behind a TCP proxy we break (the shared server keeps running), under a steady REGISTER
// load over real UDP. While the DB refuses connections the answers are SER's 500; once it
// is back, auth works again within 1 s (the first query reconnects, no backoff timer).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Server } from '../../src/core/server.js';
import { startProxy } from '../helpers/proxy.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { rand, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { TcpProxy, type ProxyMode } from '../helpers/tcp-proxy.js';
import { REALM, seedConfig } from './sipp-auth.js';
import { answerRegister, challengeOf, finalReply, register } from './raw-register.js';

const DBNAME = 'tser_test_auth_reconnect';

describe('DB back after an outage: auth works again within 1 s (seed config, MariaDB behind a TCP proxy)', () => {
  let tcp: TcpProxy;
  let server: Server;
  let port: number;
  let peer: UdpPeer;

  beforeAll(async () => {
    await recreateDatabase(DBNAME);
    const db = openDb(mysqlUrl(DBNAME), pino({ level: 'silent' }));
    await createSchema(db);
    await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1' });
    await db.close();
    tcp = await TcpProxy.start();
    ({ server, port } = await startProxy(seedConfig({ dbUrl: mysqlUrl(DBNAME, tcp.port), qop: '1' })));
    peer = await UdpPeer.open();
  });
  afterAll(async () => {
    peer.close();
    await server.stop();
    await tcp.close();
    await dropDatabase(DBNAME);
  });

  /**
   * 50 REGISTERs/s (one nonce, growing nc: each a new request), the outage `downMs` long in
   * the middle; returns the final statuses seen and how long after the DB came back the first
   * 200 arrived
   */
  async function loadThroughOutage(mode: ProxyMode, downMs: number): Promise<{ statuses: Set<number>; recoveryMs: number }> {
    const ch = challengeOf(await finalReply(peer, register(peer, { user: '1000', port, callId: `ch-${rand()}`, cseq: 1 }), port));
    const statuses = new Set<number>();
    let upAt = 0;
    let firstOkAfterUp = 0;
    const onMessage = (buf: Buffer): void => {
      const st = statusOf(buf.toString('latin1'));
      if (st < 200) return;
      statuses.add(st);
      if (st === 200 && upAt > 0 && firstOkAfterUp === 0) firstOkAfterUp = Date.now();
    };
    peer.sock.on('message', onMessage);
    let nc = 0;
    const timer = setInterval(() => {
      nc++;
      void peer.send(register(peer, { user: '1000', port, callId: `load-${rand()}`, cseq: 1, auth: answerRegister(ch, '1000', 'password1', port, nc) }), port);
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 500));
      tcp.set(mode);
      await new Promise((r) => setTimeout(r, downMs));
      tcp.set('up');
      upAt = Date.now();
      const end = upAt + 8000;
      while (firstOkAfterUp === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    } finally {
      clearInterval(timer);
      peer.sock.off('message', onMessage);
    }
    expect(firstOkAfterUp, 'no 200 within 8 s after the DB came back').toBeGreaterThan(0);
    return { statuses, recoveryMs: firstOkAfterUp - upAt };
  }

  test('MariaDB refusing connections for 4 s (stopped): 500 meanwhile, 200 again within 1 s', async () => {
    const { statuses, recoveryMs } = await loadThroughOutage('refuse', 4000);
    expect(statuses).toContain(500);
    expect(statuses).toContain(200);
    console.log(`reconnect after refuse: first 200 ${recoveryMs} ms after the DB came back`);
    expect(recoveryMs).toBeLessThan(1000);
  });

  test('MariaDB unanswering (network partition) for 3 s: recovery bounded by the connect timeout', async () => {
    const { recoveryMs } = await loadThroughOutage('blackhole', 3000);
    console.log(`reconnect after blackhole: first 200 ${recoveryMs} ms after the network came back`);
    expect(recoveryMs).toBeLessThan(2500);
  });
});
