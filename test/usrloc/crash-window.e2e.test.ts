// usrloc db_mode 2 and a crash (issue 18): tser is SIGKILLed during a REGISTER load; every
// registration acknowledged more than the write-back window (write_back_interval, 1 s by
// default, plus one flush's time) before the kill is in the DB, and a restarted tser loads
// them again (its 200 to a binding query lists the contact). Real MariaDB, real UDP.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { freePort, spawnTser, writeCfg, type ChildProxy } from '../helpers/proxy.js';
import { headers, request, statusOf, UdpPeer } from '../helpers/sip-client.js';

const DB = 'tser_test_usrloc_crash';
const URL = mysqlUrl(DB);
/** write_back_interval plus a flush's round trip and scheduling slack */
const WINDOW_MS = 1500;

function cfg(port: number): string {
  return `#!KAMAILIO
listen=udp:127.0.0.1:${port}
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_url", "${URL}")
modparam("usrloc", "db_mode", 2)
request_route {
  if (is_method("REGISTER")) { if (!save("location")) sl_reply_error(); exit; }
  sl_send_reply("404", "Not Found");
}
`;
}

async function start(file: string): Promise<ChildProxy> {
  for (let i = 0; ; i++) {
    try {
      return await spawnTser(['-f', file]);
    } catch (e) {
      if (i >= 2) throw e; // dist/ rebuilt by a concurrent run: try again
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe('db_mode 2 crash window', () => {
  let db: Db;
  let tser: ChildProxy | null = null;
  beforeAll(async () => {
    await recreateDatabase(DB);
    db = openDb(URL, pino({ level: 'silent' }));
    await createSchema(db, ['location']);
  });
  afterAll(async () => {
    if (tser) await tser.stop('SIGKILL');
    await db.close();
    await dropDatabase(DB);
  });

  test('SIGKILL under REGISTER load: every registration acknowledged > 1.5 s before the kill survives', async () => {
    const port = await freePort();
    const file = writeCfg(cfg(port));
    tser = await start(file);
    const peer = await UdpPeer.open();
    const acked = new Map<string, number>();
    peer.sock.on('message', (buf) => {
      const t = buf.toString('latin1');
      const user = /To: <sip:(u\d+)@/.exec(t)?.[1];
      if (user && statusOf(t) === 200) acked.set(user, Date.now());
    });
    const reg = (user: string) =>
      request({ method: 'REGISTER', ruri: `sip:127.0.0.1:${port}`, port: peer.port, from: `<sip:${user}@127.0.0.1>`, to: `<sip:${user}@127.0.0.1>`, extra: ['Expires: 3600'] });
    let n = 0;
    // 200 REGISTER/s for 4 s, then SIGKILL mid-load
    const load = setInterval(() => {
      for (let k = 0; k < 4; k++) void peer.send(reg(`u${n++}`), port);
    }, 20);
    await new Promise((r) => setTimeout(r, 4000));
    const killAt = Date.now();
    await tser.stop('SIGKILL');
    tser = null;
    clearInterval(load);
    const old = [...acked].filter(([, t]) => t < killAt - WINDOW_MS).map(([u]) => u);
    const rows = await db.query('location', { columns: ['username'] });
    const stored = new Set(rows.map((r) => String(r.username)));
    const lost = old.filter((u) => !stored.has(u));
    const young = [...acked].filter(([, t]) => t >= killAt - WINDOW_MS).length;
    console.log(`crash: ${n} sent, ${acked.size} acknowledged, ${old.length} older than ${WINDOW_MS} ms, ${lost.length} of them lost; ${stored.size} rows; ${young} younger`);
    expect(old.length).toBeGreaterThan(300);
    expect(lost).toEqual([]);

    // restarted, tser loads them: a binding query for an old one lists its contact
    tser = await start(file);
    const probe = await UdpPeer.open();
    try {
      const u = old[0]!;
      const q = request({ method: 'REGISTER', ruri: `sip:127.0.0.1:${port}`, port: probe.port, from: `<sip:${u}@127.0.0.1>`, to: `<sip:${u}@127.0.0.1>` }).replace(/Contact: [^\r]*\r\n/, '');
      await probe.send(q, port);
      const r = (await probe.next((m) => statusOf(m.text) >= 200)).text;
      expect(statusOf(r)).toBe(200);
      expect(headers(r, 'Contact').join(',')).toContain(`127.0.0.1:${peer.port}`);
    } finally {
      probe.close();
      peer.close();
    }
  }, 60_000);
});
