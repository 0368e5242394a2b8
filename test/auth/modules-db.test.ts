// auth_db, uri_db and alias_db against the real MariaDB and a db_text directory, driven with
// constructed SIP requests (no sockets): the seed's plaintext setup, HA1 columns, ha1b for
// user@domain, use_domain, password_query (flexisip), load_credentials, version checks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import authModule from '../../modules/auth/index.js';
import authDbModule from '../../modules/auth_db/index.js';
import uriDbModule from '../../modules/uri_db/index.js';
import aliasDbModule from '../../modules/alias_db/index.js';
import type { AuthCore } from '../../modules/auth/core.js';
import { computeHa1 } from '../../modules/auth/digest.js';
import type { ModuleDef, ParamSpec } from '../../src/core/module-api.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import { openDb } from '../../src/db/open.js';
import { createSchema, dropSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { answer, contextFor, fakeCore, parseChallenge, sipRequest, type FakeCore, type ReqOpts } from './helpers.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';

const DBNAME = 'tser_test_auth_modules';
const log = pino({ level: 'silent' });
type Fn = {
  run: (ctx: MsgContext, self: unknown, ...a: unknown[]) => number | Promise<number>;
  args: { parse: (s: string, site: unknown) => unknown; resolve?: (v: unknown, self: unknown) => unknown }[];
};
const fnOf = (def: { functions: unknown }, name: string) => (def.functions as Record<string, Fn>)[name]!;

/** as the server does: the script's table argument resolved by its fixup, then the module's start */
async function startWithTable(st: unknown, dialect: Dialect, table = 'subscriber'): Promise<unknown> {
  const spec = fnOf(authDbModule, 'www_authorize').args[1]!;
  const handle = spec.resolve!(spec.parse(table, { where: 't', dialect }), st);
  await authDbModule.start!(st as never);
  return handle;
}

async function init<S>(def: ModuleDef<S, Record<string, ParamSpec>>, fc: FakeCore, dialect: Dialect, params: Record<string, unknown>, apis: Record<string, unknown> = {}): Promise<S> {
  const p: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(def.params)) p[k] = spec.default;
  Object.assign(p, params);
  return def.init({ params: p as never, log, core: fc.core, dialect, bindApi: <T>(n: string) => apis[n] as T | undefined });
}

const realm = 'example.com';

describe.each([
  { driver: 'mysql', url: mysqlUrl(DBNAME) },
  { driver: 'text', url: `text://${mkdtempSync(join(tmpdir(), 'tser-authdb-'))}` },
])('$driver', ({ driver, url }) => {
  let db: Db;
  beforeAll(async () => {
    if (driver === 'mysql') await recreateDatabase(DBNAME);
    db = openDb(url, log);
    await createSchema(db);
    const add = (username: string, domain: string, password: string) =>
      db.insert('subscriber', {
        username,
        domain,
        password,
        ha1: computeHa1('MD5', username, domain, password),
        ha1b: computeHa1('MD5', `${username}@${domain}`, domain, password),
      });
    await add('1000', realm, 'password1');
    await add('1001', realm, 'password2');
    await add('1000', 'other.org', 'elsewhere');
    await db.insert('uri', { username: '1000', domain: realm, uri_user: 'alice' });
    await db.insert('dbaliases', { alias_username: 'sales', alias_domain: realm, username: '1000', domain: realm });
    await db.insert('dbaliases', { alias_username: 'sales', alias_domain: realm, username: '1001', domain: realm });
  });
  afterAll(async () => {
    await dropSchema(db);
    await db.close();
    if (driver === 'mysql') await dropDatabase(DBNAME);
  });

  async function setup(dialect: Dialect, params: Record<string, unknown>, authParams: Record<string, unknown> = {}) {
    const fc = fakeCore(dialect);
    const auth = (await init(authModule, fc, dialect, authParams)) as AuthCore;
    const st = await init(authDbModule, fc, dialect, { db_url: url, ...params }, { auth });
    // the script names the table: auth_db checks its version at start, as Kamailio's fixup
    const table = await startWithTable(st, dialect);
    return { fc, auth, st, dialect, table };
  }

  type Setup = Awaited<ReturnType<typeof setup>>;

  async function challengeAndAnswer(s: Setup, user: string, password: string, o: ReqOpts = {}, username?: string): Promise<MsgContext> {
    const probe = contextFor(sipRequest(o), s.dialect, s.fc);
    await s.auth.challenge(probe, realm, 'www', { flags: 1 });
    const ch = parseChallenge(s.fc.replies.at(-1)!.headers[0]!);
    const a = answer({ user, username, password, ch, method: o.method ?? 'REGISTER', uri: o.ruri ?? 'sip:example.com' });
    return contextFor(sipRequest({ ...o, headers: [`Authorization: ${a}`] }), s.dialect, s.fc);
  }

  const www = (s: Setup, ctx: MsgContext) => fnOf(authDbModule, 'www_authorize').run(ctx, s.st, realm, s.table);

  test('seed setup: calculate_ha1=1 with the plaintext password column (SER)', async () => {
    const s = await setup('ser', { calculate_ha1: true, password_column: 'password' });
    expect(await www(s, await challengeAndAnswer(s, '1000', 'password1'))).toBe(1);
    expect(await www(s, await challengeAndAnswer(s, '1000', 'wrong'))).toBe(-1);
    expect(await www(s, await challengeAndAnswer(s, '4242', 'x'))).toBe(-1);
  });

  test('default columns: ha1, and ha1b for "user@domain" usernames (Kamailio codes)', async () => {
    const s = await setup('kamailio', {});
    expect(await www(s, await challengeAndAnswer(s, '1001', 'password2'))).toBe(1);
    expect(await www(s, await challengeAndAnswer(s, '1001', 'bad'))).toBe(-2);
    expect(await www(s, await challengeAndAnswer(s, '4242', 'x'))).toBe(-3);
    expect(await www(s, await challengeAndAnswer(s, '1001', 'password2', {}, '1001@example.com'))).toBe(1);
  });

  test('use_domain matches the domain column against the realm', async () => {
    const s = await setup('kamailio', { use_domain: true, calculate_ha1: true, password_column: 'password' });
    expect(await www(s, await challengeAndAnswer(s, '1000', 'password1'))).toBe(1);
    // without use_domain the first "1000" row would do; with it the other.org password fails
    expect(await www(s, await challengeAndAnswer(s, '1000', 'elsewhere'))).toBe(-2);
  });

  test('load_credentials puts columns into AVPs on success', async () => {
    const s = await setup('kamailio', { load_credentials: '$avp(s:dom)=domain;password' });
    const ctx = await challengeAndAnswer(s, '1001', 'password2');
    expect(await www(s, ctx)).toBe(1);
    expect(ctx.avps?.get('dom')).toEqual([realm]);
    expect(ctx.avps?.get('password')).toEqual(['password2']);
  });

  test('a wrong subscriber version stops the start with a clear message; version_table=0 skips it', async () => {
    await db.update('version', { table_name: 'subscriber' }, { table_version: 6 });
    try {
      await expect(setup('kamailio', {})).rejects.toThrow(/invalid version 6 for table "subscriber" found, expected 7/);
      // SER 0.9 modules accept any version from 3 up
      await expect(setup('ser', {})).resolves.toBeTruthy();
      await expect(setup('kamailio', { version_table: false })).resolves.toBeTruthy();
    } finally {
      await db.update('version', { table_name: 'subscriber' }, { table_version: 7 });
    }
  });

  test('auth_check flag 1 requires the To/From user to be the authorized one (-8)', async () => {
    const s = await setup('kamailio', { calculate_ha1: true, password_column: 'password' });
    const check = fnOf(authDbModule, 'auth_check');
    const own = await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:1000@example.com', from: 'sip:1000@example.com' });
    expect(await check.run(own, s.st, realm, s.table, 1)).toBe(1);
    const other = await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:1001@example.com', from: 'sip:1001@example.com' });
    expect(await check.run(other, s.st, realm, s.table, 1)).toBe(-8);
    expect(await check.run(await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:1001@example.com', from: 'sip:1001@example.com' }), s.st, realm, s.table, 0)).toBe(1);
  });

  test('is_subscriber', async () => {
    const s = await setup('kamailio', {});
    const f = fnOf(authDbModule, 'is_subscriber');
    const ctx = contextFor(sipRequest(), 'kamailio', s.fc);
    expect(await f.run(ctx, s.st, 'sip:1000@example.com', s.table, 0)).toBe(1);
    expect(await f.run(ctx, s.st, 'sip:9999@example.com', s.table, 0)).toBe(-1);
  });

  test('uri_db: check_to / check_from against the authorized user, and the uri table', async () => {
    const s = await setup('ser', { calculate_ha1: true, password_column: 'password' });
    const uri = await init(uriDbModule, s.fc, 'ser', { db_url: url });
    const ok = await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:1000@example.com', from: 'sip:1000@example.com' });
    expect(await www(s, ok)).toBe(1);
    expect(await fnOf(uriDbModule, 'check_to').run(ok, uri)).toBe(1);
    expect(await fnOf(uriDbModule, 'check_from').run(ok, uri)).toBe(1);
    const spoof = await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:1001@example.com' });
    expect(await www(s, spoof)).toBe(1);
    expect(await fnOf(uriDbModule, 'check_to').run(spoof, uri)).toBe(-10);
    // nothing authorized yet
    expect(await fnOf(uriDbModule, 'check_to').run(contextFor(sipRequest(), 'ser', s.fc), uri)).toBe(-2);

    const uriTable = await init(uriDbModule, s.fc, 'ser', { db_url: url, use_uri_table: true });
    const alias = await challengeAndAnswer(s, '1000', 'password1', { to: 'sip:alice@example.com' });
    expect(await www(s, alias)).toBe(1);
    expect(await fnOf(uriDbModule, 'check_to').run(alias, uriTable)).toBe(1);
    expect(await fnOf(uriDbModule, 'check_to').run(spoof, uriTable)).toBe(-9);

    const exists = fnOf(uriDbModule, 'does_uri_exist');
    expect(await exists.run(contextFor(sipRequest({ method: 'INVITE', ruri: 'sip:1001@example.com' }), 'ser', s.fc), uri)).toBe(1);
    expect(await exists.run(contextFor(sipRequest({ method: 'INVITE', ruri: 'sip:nobody@example.com' }), 'ser', s.fc), uri)).toBe(-1);
  });

  test('alias_db_lookup rewrites the R-URI, other targets become branches', async () => {
    const fc = fakeCore('kamailio');
    const st = await init(aliasDbModule, fc, 'kamailio', { db_url: url, append_branches: true });
    const f = fnOf(aliasDbModule, 'alias_db_lookup');
    const ctx = contextFor(sipRequest({ method: 'INVITE', ruri: 'sip:sales@example.com' }), 'kamailio', fc);
    expect(await f.run(ctx, st, 'dbaliases', undefined)).toBe(1);
    expect(ctx.ruri).toBe('sip:1000@example.com');
    expect(ctx.branches.map((b) => b.uri)).toEqual(['sip:1001@example.com']);
    const miss = contextFor(sipRequest({ method: 'INVITE', ruri: 'sip:nobody@example.com' }), 'kamailio', fc);
    expect(await f.run(miss, st, 'dbaliases', undefined)).toBe(-1);
    expect(miss.newUri).toBeNull();
    const rev = contextFor(sipRequest({ method: 'INVITE', ruri: 'sip:1001@example.com' }), 'kamailio', fc);
    expect(await f.run(rev, st, 'dbaliases', { useDomain: true, reverse: true })).toBe(1);
    expect(rev.ruri).toBe('sip:sales@example.com');
  });
});

describe('password_query (flexisip style, SHA-256 with an algorithm column)', () => {
  let db: Db;
  const url = mysqlUrl(DBNAME + '_pq');
  beforeAll(async () => {
    await recreateDatabase(DBNAME + '_pq');
    db = openDb(url, log);
    await db.raw('CREATE TABLE accounts (id INT PRIMARY KEY, username VARCHAR(64), domain VARCHAR(64))');
    await db.raw('CREATE TABLE passwords (id INT, password VARCHAR(128), algorithm VARCHAR(16))');
    await db.raw("INSERT INTO accounts VALUES (1, 'bob', 'localhost'), (2, 'carol', 'localhost')");
    await db.raw('INSERT INTO passwords VALUES (1, ?, ?), (1, ?, ?), (2, ?, ?)', [
      computeHa1('SHA-256', 'bob', 'localhost', 'password'),
      'SHA-256',
      computeHa1('MD5', 'bob', 'localhost', 'password'),
      'MD5',
      'plain-carol',
      'CLRTXT',
    ]);
  });
  afterAll(async () => {
    await db.close();
    await dropDatabase(DBNAME + '_pq');
  });

  test('MD5 and SHA-256 phones both register; a CLRTXT row works for either', async () => {
    const fc = fakeCore('kamailio');
    const auth = (await init(authModule, fc, 'kamailio', { algorithms: 'SHA-256,MD5' })) as AuthCore;
    const st = await init(authDbModule, fc, 'kamailio', {
      db_url: url,
      password_query: 'select password, algorithm from passwords join accounts on passwords.id = accounts.id where accounts.username = :id and accounts.domain = :domain',
    }, { auth });
    const table = await startWithTable(st, 'kamailio');
    const probe = contextFor(sipRequest({ to: 'sip:bob@localhost', from: 'sip:bob@localhost' }), 'kamailio', fc);
    await auth.challenge(probe, 'localhost', 'www', { flags: 1 });
    const [sha, md5] = fc.replies[0]!.headers.map(parseChallenge);
    expect([sha!.algorithm, md5!.algorithm]).toEqual(['SHA-256', 'MD5']);
    const run = async (user: string, pw: string, ch: Record<string, string>) => {
      const a = answer({ user, password: pw, ch, method: 'REGISTER', uri: 'sip:localhost' });
      const ctx = contextFor(sipRequest({ ruri: 'sip:localhost', headers: [`Authorization: ${a}`] }), 'kamailio', fc);
      return fnOf(authDbModule, 'www_authorize').run(ctx, st, 'localhost', table);
    };
    expect(await run('bob', 'password', sha!)).toBe(1);
    expect(await run('bob', 'password', md5!)).toBe(1);
    expect(await run('bob', 'wrong', sha!)).toBe(-2);
    expect(await run('carol', 'plain-carol', sha!)).toBe(1);
    expect(await run('dave', 'x', sha!)).toBe(-3);
  });
});
