// End to end with Kamailio 5.6's own default kamailio.cfg (WITH_MYSQL, WITH_AUTH,
// WITH_USRLOCDB, WITH_ALIASDB) against the real MariaDB: auth_check/auth_challenge with
// Kamailio codes (SIPp phones), MD5 and SHA-256 phones (raw UDP digest client) on one
// proxy offering both algorithms (RFC 8760), and alias_db_lookup routing a call.
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
import { startSipp } from '../helpers/sipp.js';
import { headers, request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { answer, parseChallenge } from './helpers.js';
import { contactPort, expectPass, receivedStatuses, sipp } from './sipp-auth.js';

const DBNAME = 'tser_test_auth_kamailio';
const REALM = '127.0.0.1';
const servers: Server[] = [];
/** default algorithm (MD5): SIPp only answers MD5 and only reads the first challenge */
let port = 0;
/** algorithms "SHA-256,MD5" */
let bothPort = 0;

async function start(extraModparams: string): Promise<number> {
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
  const server = new ProxyServer(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: process.env.TSER_TEST_LOG ?? 'silent' }) });
  await server.start();
  servers.push(server);
  return server.listens().find((s) => s.proto === 'udp')!.port;
}

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  const db = openDb(mysqlUrl(DBNAME), pino({ level: 'silent' }));
  await createSchema(db);
  await db.insert('subscriber', { username: '1000', domain: REALM, password: 'password1' });
  await db.insert('subscriber', { username: '1001', domain: REALM, password: 'password2' });
  port = await start('');
  // the target domain carries the proxy's port so the rewritten R-URI is still "myself"
  await db.insert('dbaliases', { alias_username: 'sales', alias_domain: REALM, username: '1001', domain: `${REALM}:${port}` });
  await db.close();
  bothPort = await start('modparam("auth", "algorithms", "SHA-256,MD5")');
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  await dropDatabase(DBNAME);
});

/** REGISTER with a digest client that answers the challenge of `algorithm` */
async function registerWith(algorithm: 'MD5' | 'SHA-256', user: string, password: string): Promise<{ status: number; offered: string[] }> {
  const peer = await UdpPeer.open();
  try {
    const reg = (cseq: number, auth?: string) =>
      request({
        method: 'REGISTER',
        ruri: `sip:${REALM}:${bothPort}`,
        port: peer.port,
        callId: `${algorithm}-phone-${user}`,
        cseq,
        from: `<sip:${user}@${REALM}>`,
        to: `<sip:${user}@${REALM}>`,
        extra: auth ? [`Authorization: ${auth}`] : [],
      });
    await peer.send(reg(1), bothPort);
    const ch401 = (await peer.next((m) => statusOf(m.text) === 401)).text;
    const challenges = headers(ch401, 'WWW-Authenticate').map((v) => parseChallenge(`WWW-Authenticate: ${v}`));
    // RFC 8760 §2.4: use the first challenge whose algorithm the phone supports
    const ch = challenges.find((c) => c.algorithm === algorithm)!;
    const auth = answer({ user, password, ch, method: 'REGISTER', uri: `sip:${REALM}:${bothPort}` });
    await peer.send(reg(2, auth), bothPort);
    const status = statusOf((await peer.next((m) => statusOf(m.text) >= 200)).text);
    return { status, offered: challenges.map((c) => c.algorithm!) };
  } finally {
    peer.close();
  }
}

describe('default kamailio.cfg with auth', () => {
  test('SIPp (MD5) registers: auth_check + auth_challenge("$fd", "0")', async () => {
    const r = await sipp('register-ok.xml', port, { user: '1000', password: 'password1' });
    expectPass(r);
    expect(r.messages).toMatch(/WWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="[^"]+"\r\n/);
  });

  test('one proxy, both algorithms offered (SHA-256 first): MD5 and SHA-256 phones both register', async () => {
    const md5 = await registerWith('MD5', '1000', 'password1');
    expect(md5).toEqual({ status: 200, offered: ['SHA-256', 'MD5'] });
    expect((await registerWith('SHA-256', '1001', 'password2')).status).toBe(200);
    expect((await registerWith('SHA-256', '1001', 'wrong')).status).toBe(401);
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
    const uas = startSipp({ scenario: join(repoRoot, 'test/fixtures/sipp/auth/uas-call.xml'), port: uasPort, timeoutSec: 30, calls: 1 });
    try {
      expectPass(await sipp('register-ok.xml', port, { user: '1001', password: 'password2', keys: { contact_port: String(uasPort) } }));
      expectPass(await sipp('uac-call.xml', port, { user: 'caller', password: '-', service: 'sales' }));
      const answered = await uas.stop();
      expect(answered.successful).toBe(1);
    } finally {
      await uas.stop();
    }
  });
});
