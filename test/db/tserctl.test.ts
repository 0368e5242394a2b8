// tserctl's database commands, run as the built CLI: where the DB URL and domain come from
// (-d/-D, environment, tserctl.rc in the kamctlrc style), what is stored (ha1/ha1b, the
// password only when asked), aliases, schema commands, and one-line errors with exit 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { repoRoot } from '../helpers/proxy.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { computeHa1 } from '../../modules/auth/digest.js';

const DBNAME = 'tser_test_tserctl';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function tserctl(args: string[], o: { env?: Record<string, string | undefined>; cwd?: string } = {}): Run {
  const env: Record<string, string | undefined> = { ...process.env, TSERCTL_RC: '/nonexistent/tserctl.rc', TSER_DB_URL: undefined, SIP_DOMAIN: undefined, STORE_PLAINTEXT_PW: undefined, ...o.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/tserctl.js'), ...args], { encoding: 'utf8', env: env as NodeJS.ProcessEnv, cwd: o.cwd ?? repoRoot, timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectError(r: Run, re: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.out).toBe('');
  expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.err).toMatch(re);
}

async function subscriber(url: string, user: string, domain: string) {
  const db = openDb(url, pino({ level: 'silent' }));
  try {
    return (await db.query('subscriber', { where: { username: user, domain } }))[0];
  } finally {
    await db.close();
  }
}

describe.each([
  { driver: 'mysql', url: mysqlUrl(DBNAME) },
  { driver: 'text', url: `text://${mkdtempSync(join(tmpdir(), 'tser-ctl-'))}/db` },
])('tserctl on $driver', ({ driver, url }) => {
  beforeAll(async () => {
    if (driver === 'mysql') await dropDatabase(DBNAME); // db create makes the database itself
  });
  afterAll(async () => {
    if (driver === 'mysql') await dropDatabase(DBNAME);
  });

  test('db create makes the tables (and the MySQL database); a second create refuses', () => {
    const r = tserctl(['-d', url, 'db', 'create']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^created tables: version, subscriber, location, aliases, dbaliases/);
    expectError(tserctl(['-d', url, 'db', 'create']), /table "subscriber" already exists/);
  });

  test('add stores ha1 = MD5(user:domain:pw) and ha1b, no plaintext unless asked', async () => {
    expect(tserctl(['-d', url, '-D', 'example.com', 'add', '1000', 'password1', 'user1@nowhere.com'])).toMatchObject({ code: 0, out: 'added 1000@example.com\n' });
    const row = await subscriber(url, '1000', 'example.com');
    expect(row).toMatchObject({
      password: '',
      ha1: computeHa1('MD5', '1000', 'example.com', 'password1'),
      ha1b: computeHa1('MD5', '1000@example.com', 'example.com', 'password1'),
    });
    expect(tserctl(['-d', url, '--plaintext', 'add', '1001@example.com', 'password2']).code).toBe(0);
    expect((await subscriber(url, '1001', 'example.com'))!.password).toBe('password2');
  });

  test('duplicate users, unknown users and bad arguments are one line and exit 1', () => {
    expectError(tserctl(['-d', url, 'add', '1000@example.com', 'x']), /^tserctl: user 1000@example\.com already exists$/m);
    expectError(tserctl(['-d', url, 'rm', 'nobody@example.com']), /no such user nobody@example\.com/);
    expectError(tserctl(['-d', url, 'passwd', 'nobody@example.com', 'x']), /no such user/);
    expectError(tserctl(['-d', url, 'add', '1000']), /usage: tserctl add USER PASSWORD \[EMAIL\]/);
    expectError(tserctl(['-d', url, 'add', '2000', 'pw']), /no SIP domain for "2000"/);
    expectError(tserctl(['-d', url, 'add', 'a b@example.com', 'pw']), /bad user name/);
    expectError(tserctl(['-d', url, 'add', '2000@example.com', '']), /empty password/);
    expectError(tserctl(['-d', url, 'frobnicate']), /unknown command "frobnicate"/);
    expectError(tserctl(['-d', url, 'db', 'drop']), /repeat with --yes/);
    expectError(tserctl(['-d', url, 'alias', 'frob']), /usage: tserctl alias/);
  });

  test('passwd changes the HA1s (and the plaintext with STORE_PLAINTEXT_PW=1)', async () => {
    expect(tserctl(['-d', url, 'passwd', '1001@example.com', 'changed'], { env: { STORE_PLAINTEXT_PW: '1' } }).code).toBe(0);
    const row = await subscriber(url, '1001', 'example.com');
    expect(row).toMatchObject({ password: 'changed', ha1: computeHa1('MD5', '1001', 'example.com', 'changed') });
  });

  test('show lists users and one user without its secrets', () => {
    expect(tserctl(['-d', url, 'show']).out).toBe('1000@example.com\n1001@example.com\n');
    const one = tserctl(['-d', url, 'show', '1001@example.com']);
    expect(one.out).toMatch(/^username: 1001$/m);
    expect(one.out).toMatch(/^password: \(set\)$/m);
    expect(one.out).not.toMatch(/changed|[0-9a-f]{32}/);
  });

  test('alias add, show, rm (dbaliases)', () => {
    expect(tserctl(['-d', url, '-D', 'example.com', 'alias', 'add', 'sales', '1000']).out).toBe('added alias sales@example.com -> 1000@example.com\n');
    expectError(tserctl(['-d', url, '-D', 'example.com', 'alias', 'add', 'sales', '1000']), /already exists/);
    expect(tserctl(['-d', url, 'alias', 'show']).out).toBe('sales@example.com -> 1000@example.com\n');
    expect(tserctl(['-d', url, 'alias', 'rm', 'sales@example.com']).code).toBe(0);
    expectError(tserctl(['-d', url, 'alias', 'show', 'sales@example.com']), /no such alias/);
  });

  test('rm removes the subscriber', async () => {
    expect(tserctl(['-d', url, 'rm', '1000@example.com']).code).toBe(0);
    expect(await subscriber(url, '1000', 'example.com')).toBeUndefined();
  });

  test('db migrate reports nothing to do on a current schema; db drop --yes removes the tables', () => {
    expect(tserctl(['-d', url, 'db', 'migrate'])).toMatchObject({ code: 0, out: 'database is up to date\n' });
    expect(tserctl(['-d', url, 'db', 'drop', '--yes']).out).toMatch(/^dropped tables: subscriber, .*version\n$/);
    expectError(tserctl(['-d', url, 'show']), /database error: .*subscriber/);
  });
});

describe('configuration sources', () => {
  let dir: string;
  let url: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tser-ctl-rc-'));
    url = `text://${dir}/db`;
    expect(tserctl(['-d', url, 'db', 'create']).code).toBe(0);
  });

  test('tserctl.rc in the current directory: DBURL, SIP_DOMAIN, STORE_PLAINTEXT_PW', () => {
    writeFileSync(join(dir, 'tserctl.rc'), `# like kamctlrc\nDBURL="${url}"\nSIP_DOMAIN=rc.example  # comment\nSTORE_PLAINTEXT_PW=1\n`);
    const r = tserctl(['add', 'rcuser', 'pw'], { cwd: dir, env: { TSERCTL_RC: undefined } });
    expect(r).toMatchObject({ code: 0, out: 'added rcuser@rc.example\n' });
    expect(readFileSync(join(dir, 'db', 'subscriber'), 'utf8')).toMatch(/:rcuser:rc\.example:pw:[0-9a-f]{32}:[0-9a-f]{32}\n/);
  });

  test('-d beats TSER_DB_URL, which beats the rc file; -D beats SIP_DOMAIN', () => {
    const rc = join(dir, 'other.rc');
    writeFileSync(rc, 'DBURL=text:///nonexistent/dir\nSIP_DOMAIN=wrong.example\n');
    expect(tserctl(['show'], { env: { TSERCTL_RC: rc, TSER_DB_URL: url } }).out).toMatch(/rcuser@rc\.example/);
    expect(tserctl(['-d', url, 'show'], { env: { TSERCTL_RC: rc, TSER_DB_URL: 'text:///nope' } }).out).toMatch(/rcuser@rc\.example/);
    expect(tserctl(['-d', url, '-D', 'flag.example', 'add', 'u1', 'p'], { env: { SIP_DOMAIN: 'env.example' } }).out).toBe('added u1@flag.example\n');
    expect(tserctl(['-d', url, 'add', 'u2', 'p'], { env: { SIP_DOMAIN: 'env.example' } }).out).toBe('added u2@env.example\n');
  });

  test('kamctlrc-style DBENGINE/DBHOST/DBNAME/DBRWUSER settings build the MySQL URL', async () => {
    await recreateDatabase(DBNAME + '_rc');
    try {
      const rc = join(dir, 'kamctlrc');
      writeFileSync(rc, `DBENGINE=MYSQL\nDBHOST=127.0.0.1\nDBNAME=${DBNAME}_rc\nDBRWUSER=root\nSIP_DOMAIN=k.example\n`);
      expect(tserctl(['db', 'create'], { env: { TSERCTL_RC: rc } }).code).toBe(0);
      expect(tserctl(['add', 'k1', 'p'], { env: { TSERCTL_RC: rc } }).out).toBe('added k1@k.example\n');
    } finally {
      await dropDatabase(DBNAME + '_rc');
    }
  });

  test('no database configured, or unreachable: one clear line', () => {
    expectError(tserctl(['show']), /no database: use -d URL, set TSER_DB_URL, or DBURL= in tserctl\.rc/);
    expectError(tserctl(['-d', 'mysql://root:secret@127.0.0.1:1/x', 'show']), /^tserctl: cannot reach database mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/x: ECONNREFUSED$/m);
    expectError(tserctl(['-d', 'postgres://x/y', 'show']), /unsupported db_url scheme/);
  });
});
