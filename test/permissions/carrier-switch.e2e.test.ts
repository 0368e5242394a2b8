// examples/carrier-switch.cfg end to end: SIPp customers calling from different loopback
// addresses, SIPp carrier gateways, the subscriber table in MariaDB. An IP-authenticated
// INVITE goes through without a challenge; one from an unknown address gets 407 (auth_db is
// loaded) and passes with credentials; a shared IP needs a known tech prefix; numbers and
// the CLI reach the gateway as E.164 digits.
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import type { Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { freePort, repoRoot, startProxy, tempDir } from '../helpers/proxy.js';
import { header, statusOf } from '../helpers/sip-client.js';
import { runCaller, startGateway, type Gateway } from '../dispatcher/gateways.js';

const DBNAME = 'tser_test_carrier';

let server: Server;
let port: number;
let gw1: Gateway;
let gw2: Gateway;
let db: Db;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  db = openDb(mysqlUrl(DBNAME), pino({ level: 'silent' }));
  await createSchema(db, ['subscriber']);
  await db.insert('subscriber', { username: '2000', domain: 'carrier-switch.example', password: 'secret', ha1: '', ha1b: '' });

  gw1 = await startGateway(await freePort());
  gw2 = await startGateway(await freePort());
  const dir = tempDir('tser-carrier-');
  const addresses = join(dir, 'address.list');
  writeFileSync(addresses, ['1 127.0.0.1 32 0 acme', '2 127.0.0.3 32 0 7001,7002'].join('\n'));
  const gateways = join(dir, 'dispatcher.list');
  writeFileSync(
    gateways,
    [`1 sip:127.0.0.1:${gw1.port} 0 0 weight=10;gw=one`, `1 sip:127.0.0.1:${gw2.port} 0 0 weight=1;gw=two`].join('\n'),
  );
  const defines = [
    `#!define DBURL "${mysqlUrl(DBNAME)}"`,
    `#!define ADDRESS_LIST "${addresses}"`,
    `#!define DS_LIST "${gateways}"`,
    '#!define PING_INTERVAL 1',
  ].join('\n');
  const text = readFileSync(join(repoRoot, 'examples/carrier-switch.cfg'), 'utf8').replace('#!KAMAILIO\n', `#!KAMAILIO\n${defines}\n`);
  ({ server, port } = await startProxy(text, { listen: ['udp:127.0.0.1:0'] }));
}, 60000);

afterAll(async () => {
  await server?.stop();
  await Promise.all([gw1, gw2].map((g) => g?.stop()));
  await db?.close();
  await dropDatabase(DBNAME);
});

function invites(): string[] {
  return [...gw1.messages('INVITE'), ...gw2.messages('INVITE')];
}

/** one raw INVITE from a given loopback address; resolves with the final reply */
async function rawInvite(fromIp: string, number: string): Promise<string> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, fromIp, () => r()));
  const lport = sock.address().port;
  const cid = `raw-${Math.random().toString(36).slice(2)}@test`;
  const text =
    `INVITE sip:${number}@127.0.0.1:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${fromIp}:${lport};branch=z9hG4bK${cid.slice(4, 12)};rport\r\n` +
    `From: <sip:1000@${fromIp}>;tag=t1\r\nTo: <sip:${number}@127.0.0.1>\r\nCall-ID: ${cid}\r\n` +
    'CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:1000@' + fromIp + ':' + lport + '>\r\nContent-Length: 0\r\n\r\n';
  try {
    return await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no final reply')), 5000);
      sock.on('message', (m) => {
        const s = m.toString('latin1');
        if (statusOf(s) >= 200) {
          clearTimeout(t);
          // a 2xx is ACKed end to end along the Record-Route, so the gateway's call completes
          if (statusOf(s) < 300) sock.send(Buffer.from(ackFor(s, fromIp, lport), 'latin1'), port, '127.0.0.1', () => resolve(s));
          else resolve(s);
        }
      });
      sock.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

function ackFor(ok: string, fromIp: string, lport: number): string {
  const contact = /<([^>]+)>/.exec(header(ok, 'Contact') ?? '')![1]!;
  const rr = header(ok, 'Record-Route');
  return `ACK ${contact} SIP/2.0\r\nVia: SIP/2.0/UDP ${fromIp}:${lport};branch=z9hG4bKack${Math.random().toString(36).slice(2)}\r\n` +
    (rr ? `Route: ${rr}\r\n` : '') +
    `From: ${header(ok, 'From')}\r\nTo: ${header(ok, 'To')}\r\nCall-ID: ${header(ok, 'Call-ID')}\r\nCSeq: 1 ACK\r\n` +
    'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
}

function ruriUser(inv: string): string {
  return /^INVITE sip:([^@]+)@/.exec(inv)![1]!;
}

describe('carrier-switch.cfg', () => {
  it('lets an IP-authenticated customer call without a challenge, numbers in E.164 on the wire', async () => {
    const before = invites().length;
    const r = await runCaller(port, { service: '+442071234567', cli: '02079460001', calls: 1, rate: 1 });
    expect(r.code, r.errors || r.out).toBe(0);
    const got = invites().slice(before);
    expect(got.length).toBe(1);
    expect(ruriUser(got[0]!)).toBe('442071234567');
    expect(header(got[0]!, 'From')).toMatch(/<sip:442079460001@/);
  }, 30000);

  it('challenges an INVITE from an address that is not in the list (auth_db loaded: 407)', async () => {
    const before = invites().length;
    const reply = await rawInvite('127.0.0.2', '442071234567');
    expect(statusOf(reply)).toBe(407);
    expect(header(reply, 'Proxy-Authenticate')).toMatch(/^Digest .*realm="carrier-switch\.example"/);
    expect(invites().length).toBe(before);
  }, 30000);

  it('lets a digest customer through once it answers the challenge', async () => {
    const before = invites().length;
    const r = await runCaller(port, { service: '00442071234567', cli: '+442079460002', calls: 1, rate: 1, ip: '127.0.0.2', auth: { user: '2000', password: 'secret' } });
    expect(r.code, r.errors || r.out).toBe(0);
    const got = invites().slice(before);
    expect(got.length).toBe(1);
    expect(ruriUser(got[0]!)).toBe('442071234567');
    expect(got[0]).not.toMatch(/^Proxy-Authorization:/im);
  }, 30000);

  it('tells customers on a shared IP apart by tech prefix; an unknown prefix is refused', async () => {
    const before = invites().length;
    const r = await runCaller(port, { service: '700202071234567', cli: '02079460003', calls: 1, rate: 1, ip: '127.0.0.3' });
    expect(r.code, r.errors || r.out).toBe(0);
    const got = invites().slice(before);
    expect(got.length).toBe(1);
    expect(ruriUser(got[0]!)).toBe('442071234567');
    expect(statusOf(await rawInvite('127.0.0.3', '700902071234567'))).toBe(403);
  }, 30000);

  it('routes tech prefixes written with a raw # from two customers on one IP (issue 19)', async () => {
    const a = await rawInvite('127.0.0.3', '7001#02071234567');
    const b = await rawInvite('127.0.0.3', '7002#+442071234568');
    expect([statusOf(a), statusOf(b)]).toEqual([200, 200]);
    // the gateways' SIPp message logs are written a moment after the calls
    let got: string[] = [];
    for (let i = 0; i < 40 && got.length < 2; i++) {
      got = invites().filter((m) => /^To: <sip:700[12]#/m.test(m));
      if (got.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got.map(ruriUser).sort()).toEqual(['442071234567', '442071234568']);
    // what the script does not change goes on as received: the To keeps the dialled string
    expect(got.map((m) => header(m, 'To')).sort()).toEqual(['<sip:7001#02071234567@127.0.0.1>', '<sip:7002#+442071234568@127.0.0.1>']);
    expect(statusOf(await rawInvite('127.0.0.3', '7009#02071234567'))).toBe(403);
  }, 30000);

  it('sends calls to both gateways by weight and keeps them probed', async () => {
    const r = await runCaller(port, { service: '442071234567', calls: 22, rate: 20 });
    expect(r.code, r.errors || r.out).toBe(0);
    expect(gw1.count('OPTIONS')).toBeGreaterThan(0);
    expect(gw2.invites().size).toBeGreaterThan(0);
    expect(gw1.invites().size).toBeGreaterThan(gw2.invites().size);
  }, 60000);
});
