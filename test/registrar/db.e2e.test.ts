// registrar + usrloc over real UDP with the real MariaDB (Kamailio dialect, db_mode 1):
// 423 Interval Too Brief, several contacts ordered by q, `*` removal, expiry removing the
// binding from memory and from the DB, and a DB outage during write-through that loses
// nothing and is written back once the DB returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import type { Server } from '../../src/core/server.js';
import type { UsrlocApi } from '../../modules/usrloc/api.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { startProxy } from '../helpers/proxy.js';
import { header, rand, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const DB = 'tser_test_usrloc_e2e';
let db: Db;

const cfg = (url: string) => `#!KAMAILIO
loadmodule "db_mysql.so"
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_url", "${url}")
modparam("usrloc", "db_mode", 1)
modparam("usrloc", "timer_interval", 1)
modparam("registrar", "min_expires", 2)
modparam("registrar", "min_expires_mode", 1)
request_route {
  if (method == "REGISTER") { save("location"); exit; }
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  forward();
}`;

function registerMsg(o: { user: string; port: number; contacts: string[]; expires?: number; callId?: string; cseq?: number }): string {
  const lines = [
    `REGISTER sip:127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${o.port};branch=z9hG4bK${rand()};rport`,
    `From: <sip:${o.user}@127.0.0.1>;tag=${rand(4)}`,
    `To: <sip:${o.user}@127.0.0.1>`,
    `Call-ID: ${o.callId ?? rand() + '@reg'}`,
    `CSeq: ${o.cseq ?? 1} REGISTER`,
    'Max-Forwards: 70',
    ...o.contacts.map((c) => `Contact: ${c}`),
    ...(o.expires === undefined ? [] : [`Expires: ${o.expires}`]),
    'Content-Length: 0',
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function inviteMsg(user: string, proxyPort: number, peerPort: number, callId: string): string {
  return [
    `INVITE sip:${user}@127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=z9hG4bK${rand()};rport`,
    `From: <sip:caller@127.0.0.1>;tag=${rand(4)}`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    `Contact: <sip:caller@127.0.0.1:${peerPort}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function rowsOf(user: string) {
  return db.query('location', { where: { username: user } });
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  await recreateDatabase(DB);
  db = openDb(mysqlUrl(DB), pino({ level: 'silent' }));
  await createSchema(db, ['location']);
});

afterAll(async () => {
  await db?.close();
  await dropDatabase(DB);
});

describe('registrar with MariaDB (db_mode 1)', () => {
  let server: Server;
  let port: number;
  let peer: UdpPeer;
  const sinks: UdpPeer[] = [];

  beforeAll(async () => {
    ({ server, port } = await startProxy(cfg(mysqlUrl(DB))));
    peer = await UdpPeer.open();
    for (let i = 0; i < 3; i++) sinks.push(await UdpPeer.open());
  });

  afterAll(async () => {
    peer.close();
    for (const s of sinks) s.close();
    await server.stop();
  });

  async function send(msg: string, callId: string) {
    await peer.send(msg, port);
    return (await peer.next((m) => m.text.includes(callId) && statusOf(m.text) >= 200)).text;
  }

  it('answers 423 Interval Too Brief with Min-Expires and stores nothing', async () => {
    const r = await send(registerMsg({ user: 'amy', port: peer.port, contacts: [`<sip:amy@127.0.0.1:${sinks[0]!.port}>`], expires: 1, callId: 'r423' }), 'r423');
    expect(statusOf(r)).toBe(423);
    expect(header(r, 'Min-Expires')).toBe('2');
    expect(header(r, 'P-Registrar-Error')).toBe('Interval too brief');
    expect(await rowsOf('amy')).toHaveLength(0);
  });

  it('stores several contacts, lists them by q and sends the INVITE to the highest q', async () => {
    const [a, b, c] = sinks.map((s) => `sip:carol@127.0.0.1:${s.port}`);
    const r = await send(
      registerMsg({ user: 'carol', port: peer.port, contacts: [`<${a}>;q=0.1`, `<${b}>;q=0.9, <${c}>;q=0.5`], expires: 600, callId: 'rq', cseq: 1 }),
      'rq',
    );
    expect(statusOf(r)).toBe(200);
    expect(header(r, 'Contact')).toBe(`<${b}>;q=0.9;expires=600, <${c}>;q=0.5;expires=600, <${a}>;q=0.1;expires=600`);
    const rows = await rowsOf('carol');
    expect(rows.map((x) => [x['contact'], Math.round(Number(x['q']) * 100) / 100]).sort()).toEqual([
      [a, 0.1],
      [b, 0.9],
      [c, 0.5],
    ].sort());
    await peer.send(inviteMsg('carol', port, peer.port, 'inv-q'), port);
    const got = await sinks[1]!.next((m) => m.text.includes('inv-q'));
    expect(got.text.startsWith(`INVITE ${b} SIP/2.0`)).toBe(true);
  });

  it('"*" with Expires: 0 removes every binding from memory and the DB', async () => {
    const r = await send(registerMsg({ user: 'carol', port: peer.port, contacts: ['*'], expires: 0, callId: 'rq', cseq: 2 }), 'rq');
    expect(statusOf(r)).toBe(200);
    expect(header(r, 'Contact')).toBeUndefined();
    expect(await rowsOf('carol')).toHaveLength(0);
    await peer.send(inviteMsg('carol', port, peer.port, 'inv-star'), port);
    const nf = await peer.next((m) => m.text.includes('inv-star'));
    expect(statusOf(nf.text)).toBe(404);
  });

  it('expiry removes a binding from memory and from the DB', async () => {
    const r = await send(registerMsg({ user: 'dave', port: peer.port, contacts: [`<sip:dave@127.0.0.1:${sinks[2]!.port}>;expires=2`], callId: 'rexp' }), 'rexp');
    expect(statusOf(r)).toBe(200);
    expect(await rowsOf('dave')).toHaveLength(1);
    const ul = server.bindApi<UsrlocApi>('usrloc')!;
    const left = await until(async () => ul.getDomain('location').get('dave'), (l) => l.length === 0, 8000);
    expect(left).toHaveLength(0);
    expect(await until(() => rowsOf('dave'), (l) => l.length === 0, 5000)).toHaveLength(0);
    await peer.send(inviteMsg('dave', port, peer.port, 'inv-exp'), port);
    expect(statusOf((await peer.next((m) => m.text.includes('inv-exp'))).text)).toBe(404);
  });
});

describe('DB outage during write-through', () => {
  it('keeps serving from memory, logs, and writes the binding once the DB is back', async () => {
    const tcp = await TcpProxy.start(3306);
    const { server, port } = await startProxy(cfg(mysqlUrl(DB, tcp.port)));
    const peer = await UdpPeer.open();
    const phone = await UdpPeer.open();
    try {
      const reg = (user: string, id: string) =>
        registerMsg({ user, port: peer.port, contacts: [`<sip:${user}@127.0.0.1:${phone.port}>`], expires: 600, callId: id });
      await peer.send(reg('erin', 'o1'), port);
      expect(statusOf((await peer.next((m) => m.text.includes('o1'))).text)).toBe(200);
      expect(await until(() => rowsOf('erin'), (l) => l.length === 1)).toHaveLength(1);

      tcp.set('refuse');
      await peer.send(reg('frank', 'o2'), port);
      expect(statusOf((await peer.next((m) => m.text.includes('o2'), 10000)).text)).toBe(200);
      await peer.send(inviteMsg('frank', port, peer.port, 'o-inv'), port);
      const got = await phone.next((m) => m.text.includes('o-inv'));
      expect(got.text.startsWith(`INVITE sip:frank@127.0.0.1:${phone.port} SIP/2.0`)).toBe(true);
      expect(await rowsOf('frank')).toHaveLength(0);

      tcp.set('up');
      expect(await until(() => rowsOf('frank'), (l) => l.length === 1, 20000)).toHaveLength(1);
    } finally {
      peer.close();
      phone.close();
      await server.stop();
      await tcp.close();
    }
  });
});
