// End to end with Kamailio 5.6's own default kamailio.cfg (WITH_MYSQL, WITH_AUTH,
// WITH_USRLOCDB, WITH_ALIASDB) against the real MariaDB: auth_check/auth_challenge with
// Kamailio codes, MD5 (SIPp) and SHA-256 (raw UDP digest client) phones on one proxy
// offering both algorithms (RFC 8760), and alias_db_lookup routing a call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Server } from '../../src/core/server.js';
import { loadConfig } from '../../src/config/load.js';
import { Server as ProxyServer } from '../../src/core/server.js';
import { repoRoot, writeCfg } from '../helpers/proxy.js';
import { runSipp, startSipp } from '../helpers/sipp.js';
import { header, request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { answer, parseChallenge } from './helpers.js';
import { contactPort, expectPass, receivedStatuses, sipp } from './sipp-auth.js';

const DBNAME = 'tser_test_auth_kamailio';
const REALM = '127.0.0.1';
let server: Server;
let port: number;

async function start(extraModparams: string): Promise<void> {
  let text = readFileSync(join(repoRoot, 'test/fixtures/kamailio-configs/kamailio.cfg'), 'utf8');
  text = text.replace('modparam("auth_db", "load_credentials", "")', `modparam("auth_db", "load_credentials", "")\n${extraModparams}`);
  const defines = new Map<string, string | true>([
    ['WITH_MYSQL', true],
    ['WITH_AUTH', true],
    ['WITH_USRLOCDB', true],
    ['WITH_ALIASDB', true],
    ['DBURL', `"${mysqlUrl(DBNAME)}"`],
  ]);
  const cfg = await loadConfig(writeCfg(text, 'kamailio.cfg'), { defines });
  if (cfg.bag.hasErrors) throw new Error(cfg.bag.format());
  server = new ProxyServer(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: process.env.TSER_TEST_LOG ?? 'silent' }) });
  await server.start();
  port = server.listens().find((s) => s.proto === 'udp')!.port;
}

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  const db = openDb(mysqlUrl(DBNAME), pino({ level: 'silent' }));
  await createSchema(db);
  await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1' });
  await db.insert('subscriber', { username: '1001', domain: REALM, password: 'password2' });
  await db.insert('dbaliases', { alias_username: 'sales', alias_domain: REALM, username: '1001', domain: REALM });
  await db.close();
  await start('modparam("auth", "algorithms", "SHA-256,MD5")');
});
afterAll(async () => {
  await server?.stop();
  await dropDatabase(DBNAME);
});

describe('default kamailio.cfg with auth', () => {
  test('an MD5-only phone (SIPp) registers although SHA-256 is offered first', async () => {
    const r = await sipp('register-ok.xml', port, { user: '1000', password: 'password1' });
    expectPass(r);
    const challenge = r.messages.split('message received')[1]!;
    const offered = [...challenge.matchAll(/WWW-Authenticate: Digest [^\r\n]*algorithm=([A-Za-z0-9-]+)/g)].map((m) => m[1]);
    expect(offered).toEqual(['SHA-256', 'MD5']);
    expect(r.messages).toMatch(/algorithm=MD5/);
  });

  test('a SHA-256 phone registers on the same proxy (raw UDP digest client)', async () => {
    const peer = await UdpPeer.open();
    try {
      const reg = (cseq: number, auth?: string) =>
        request({
          method: 'REGISTER',
          ruri: `sip:${REALM}:${port}`,
          port: peer.port,
          callId: 'sha-256-phone',
          cseq,
          from: `<sip:1001@${REALM}>`,
          to: `<sip:1001@${REALM}>`,
          extra: auth ? [`Authorization: ${auth}`] : [],
        });
      await peer.send(reg(1), port);
      const ch401 = (await peer.next((m) => statusOf(m.text) === 401)).text;
      const first = parseChallenge(`WWW-Authenticate: ${header(ch401, 'WWW-Authenticate')!}`);
      expect(first.algorithm).toBe('SHA-256');
      const auth = answer({ user: '1001', password: 'password2', ch: first, method: 'REGISTER', uri: `sip:${REALM}:${port}` });
      expect(auth).toMatch(/algorithm=SHA-256/);
      await peer.send(reg(2, auth), port);
      expect(statusOf((await peer.next((m) => statusOf(m.text) >= 200)).text)).toBe(200);
    } finally {
      peer.close();
    }
  });

  test('wrong password: auth_check fails, auth_challenge sends a fresh 401', async () => {
    const r = await sipp('register-refused.xml', port, { user: '1000', password: 'bad' });
    expectPass(r);
    expect(receivedStatuses(r).at(-1)).toBe('SIP/2.0 401 Unauthorized');
  });

  test('REGISTER for another user: auth_check flag 1 refuses the identity (-8), re-challenged', async () => {
    const r = await sipp('register-refused.xml', port, { user: '1000', password: 'password1', from: '1001', to: '1001' });
    expectPass(r);
    expect(receivedStatuses(r).at(-1)).toBe('SIP/2.0 401 Unauthorized');
  });

  test('alias_db_lookup: a call to sales@ reaches the registered 1001', async () => {
    const uasPort = contactPort();
    const uas = startSipp({ scenario: 'uas', port: uasPort, timeoutSec: 30, args: ['-m', '1'] });
    try {
      expectPass(await sipp('register-ok.xml', port, { user: '1001', password: 'password2', keys: { contact_port: String(uasPort) } }));
      const call = await runSipp({ scenario: 'uac', target: `127.0.0.1:${port}`, calls: 1, timeoutSec: 20, args: ['-s', 'sales'] });
      expect(call.exitCode, call.output.slice(-1500)).toBe(0);
      expect(call.successful).toBe(1);
      const answered = await uas.stop();
      expect(answered.successful).toBe(1);
    } finally {
      await uas.stop();
    }
  });
});
