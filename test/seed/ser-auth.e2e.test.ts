// The reference config, as a user runs it: examples/ser-auth.cfg (the SER 0.9 quick-start
// chapter 7 config, addresses and DB URL adapted) against the real MariaDB. Subscribers are
// added with tserctl as the seed does with serctl; SIPp phones register with digest auth
// and call each other through t_relay; tser is restarted and the registration survives.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { dropDatabase, MARIADB, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { freePort, repoRoot, spawnTser, tempDir, writeCfg, type ChildProxy } from '../helpers/proxy.js';
import { runSipp, startSipp } from '../helpers/sipp.js';

const DB = 'tser_test_seed';
const URL = mysqlUrl(DB);
const scen = (f: string) => join(repoRoot, 'test/fixtures/sipp/seed', f);

let port = 0;
let cfgFile = '';
let tser: ChildProxy | null = null;

function tserctl(...args: string[]) {
  return spawnSync(process.execPath, [join(repoRoot, 'dist/src/tserctl.js'), '-d', URL, ...args], { encoding: 'utf8' });
}

beforeAll(async () => {
  await recreateDatabase(DB);
  port = await freePort();
  const fifo = join(tempDir('tser-seed-'), 'ser_fifo');
  // the seed config as shipped, with only the address, port, DB URL and FIFO path changed
  const text = readFileSync(join(repoRoot, 'examples/ser-auth.cfg'), 'utf8')
    .replace(/^port=5060/m, `port=${port}`)
    .replaceAll('mysql://root@127.0.0.1/tser', URL)
    .replace('fifo="/tmp/ser_fifo"', `fifo="${fifo}"`);
  cfgFile = writeCfg(text, 'ser.cfg');
  expect(tserctl('db', 'create').status).toBe(0);
  for (const [user, pw, mail] of [
    ['1000', 'password1', 'user1@nowhere.com'],
    ['1001', 'password2', 'user2@nowhere.com'],
  ] as const) {
    const r = tserctl('-D', '127.0.0.1', '--plaintext', 'add', user, pw, mail);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }
});

afterAll(async () => {
  await tser?.stop();
  await dropDatabase(DB);
});

async function register(user: string, pass: string, cport: number) {
  return runSipp({
    scenario: scen('register-auth.xml'),
    target: `127.0.0.1:${port}`,
    calls: 1,
    keys: { user, cport, expires: 3600 },
    auth: { user, password: pass },
    timeoutSec: 15,
  });
}

async function call(user: string, pass: string, callee: string) {
  return runSipp({
    scenario: scen('call-auth.xml'),
    target: `127.0.0.1:${port}`,
    calls: 1,
    keys: { user, callee },
    auth: { user, password: pass },
    timeoutSec: 15,
  });
}

describe('the SER 0.9 reference config (examples/ser-auth.cfg)', () => {
  it('registers with digest auth, calls through t_relay, and keeps registrations across a restart', async () => {
    tser = await spawnTser(['-f', cfgFile]);
    const uasPort = await freePort();
    const uas = startSipp({ scenario: 'uas', port: uasPort, timeoutSec: 60 });
    try {
      const reg = await register('1001', 'password2', uasPort);
      expect(reg.successful, reg.output).toBe(1);

      const wrong = await register('1000', 'not-the-password', 5999);
      expect(wrong.successful).toBe(0);

      const first = await call('1000', 'password1', '1001');
      expect(first.successful, first.output).toBe(1);

      // an unknown callee is answered 404 by the script, after authentication
      const nobody = await call('1000', 'password1', '1999');
      expect(nobody.successful).toBe(0);
      expect(nobody.output).toMatch(/404|Unexpected/);

      // db_mode 2: SIGTERM flushes the location table; a new tser loads it again
      expect(await tser.stop('SIGTERM')).toBe(0);
      const c = await mysql.createConnection({ ...MARIADB, database: DB });
      const [rows] = await c.query('SELECT username, contact FROM location');
      await c.end();
      expect(rows).toEqual([expect.objectContaining({ username: '1001', contact: expect.stringContaining(`:${uasPort}`) })]);

      tser = await spawnTser(['-f', cfgFile]);
      const after = await call('1000', 'password1', '1001');
      expect(after.successful, after.output).toBe(1);
    } finally {
      await uas.stop();
    }
  }, 120_000);
});
