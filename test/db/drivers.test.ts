// The same DB API behaviour on both drivers: the real MariaDB and a db_text directory.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb, openHandles } from '../../src/db/open.js';
import { DbError, toDate, type Db } from '../../src/db/db.js';
import { checkVersion, createSchema, dropSchema, migrateSchema, TABLES, VersionError } from '../../src/db/schema.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';

const log = pino({ level: 'silent' });
const DBNAME = 'tser_test_db';
const textDir = mkdtempSync(join(tmpdir(), 'tser-dbtext-'));

const drivers = [
  { name: 'mysql', url: mysqlUrl(DBNAME) },
  { name: 'text', url: `text://${textDir}` },
];

beforeAll(async () => {
  await recreateDatabase(DBNAME);
});
afterAll(async () => {
  await dropDatabase(DBNAME);
});

describe.each(drivers)('$name driver', ({ name, url }) => {
  let db: Db;
  beforeAll(async () => {
    db = openDb(url, log);
    await createSchema(db);
  });
  afterAll(async () => {
    await dropSchema(db);
    await db.close();
  });

  test('createSchema writes every table and its version row', async () => {
    for (const t of TABLES) expect(await db.tableVersion(t.name)).toBe(t.version);
    expect(await db.tableVersion('nonexistent')).toBeNull();
    await expect(createSchema(db, ['subscriber'])).rejects.toThrow(/already exists/);
  });

  test('insert, query by keys, columns, order and limit', async () => {
    await db.insert('subscriber', { username: 'alice', domain: 'example.com', password: 'pw:1', ha1: 'a', ha1b: 'b' });
    await db.insert('subscriber', { username: 'bob', domain: 'example.com', password: 'x' });
    await db.insert('subscriber', { username: 'alice', domain: 'other.org', password: 'y' });
    const rows = await db.query('subscriber', { columns: ['password', 'ha1'], where: { username: 'alice', domain: 'example.com' } });
    expect(rows).toEqual([{ password: 'pw:1', ha1: 'a' }]);
    // defaults fill the columns not given
    const bob = await db.query('subscriber', { where: { username: 'bob' } });
    expect(bob[0]).toMatchObject({ username: 'bob', ha1: '', ha1b: '' });
    expect(typeof bob[0]!.id).toBe('number');
    const ordered = await db.query('subscriber', { columns: ['domain'], where: { username: 'alice' }, orderBy: 'domain desc', limit: 1 });
    expect(ordered).toEqual([{ domain: 'other.org' }]);
    // string keys compare case-insensitively on both drivers (MySQL default collation)
    expect(await db.query('subscriber', { columns: ['username'], where: { username: 'ALICE', domain: 'example.com' } })).toHaveLength(1);
  });

  test('update, upsert and delete report affected rows', async () => {
    expect(await db.update('subscriber', { username: 'bob' }, { password: 'new' })).toBe(1);
    expect((await db.query('subscriber', { columns: ['password'], where: { username: 'bob' } }))[0]!.password).toBe('new');
    await db.upsert('subscriber', { username: 'bob', domain: 'example.com', password: 'up' }, ['username', 'domain']);
    await db.upsert('subscriber', { username: 'carol', domain: 'example.com', password: 'c' }, ['username', 'domain']);
    expect((await db.query('subscriber', { columns: ['password'], where: { username: 'bob' } }))[0]!.password).toBe('up');
    expect(await db.query('subscriber', { where: { username: 'carol' } })).toHaveLength(1);
    expect(await db.delete('subscriber', { domain: 'other.org' })).toBe(1);
    expect(await db.delete('subscriber', { domain: 'nowhere' })).toBe(0);
  });

  test('NULL columns, comparisons and DATETIME values', async () => {
    const exp = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
    await db.insert('location', { ruid: 'r1', username: 'alice', domain: null, contact: 'sip:a@1.2.3.4', expires: exp });
    await db.insert('location', { ruid: 'r2', username: 'alice', domain: 'd', contact: 'sip:a@5.6.7.8', expires: new Date(exp.getTime() - 7200_000) });
    const nul = await db.query('location', { columns: ['ruid'], where: { domain: null } });
    expect(nul).toEqual([{ ruid: 'r1' }]);
    const notNull = await db.query('location', { columns: ['ruid'], where: { domain: { op: '!=', value: null } } });
    expect(notNull).toEqual([{ ruid: 'r2' }]);
    const live = await db.query('location', { columns: ['ruid', 'expires'], where: { expires: { op: '>', value: new Date() } } });
    expect(live.map((r) => r.ruid)).toEqual(['r1']);
    expect(toDate(live[0]!.expires)!.getTime()).toBe(exp.getTime());
    const dflt = await db.query('location', { columns: ['q', 'callid', 'cseq'], where: { ruid: 'r1' } });
    expect(dflt[0]).toEqual({ q: 1, callid: 'Default-Call-ID', cseq: 1 });
  });

  test('unknown tables and columns are query errors, not crashes', async () => {
    await expect(db.query('no_such_table')).rejects.toBeInstanceOf(DbError);
    await expect(db.query('subscriber', { where: { nope: 1 } })).rejects.toMatchObject({ kind: 'query' });
    await expect(db.query('bad name; drop', {})).rejects.toMatchObject({ kind: 'query' });
  });

  test('checkVersion names table, found and expected versions', async () => {
    await expect(checkVersion(db, 'subscriber', 7)).resolves.toBe(7);
    await expect(checkVersion(db, 'subscriber', { min: 3 })).resolves.toBe(7);
    const e = await checkVersion(db, 'subscriber', 6).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VersionError);
    expect(String((e as Error).message)).toMatch(/invalid version 7 for table "subscriber" found, expected 6/);
    await expect(checkVersion(db, 'missing_table', 1)).rejects.toThrow(/"missing_table" has no row in the version table/);
  });

  test('migrate adds missing columns and fixes version rows, keeping data', async () => {
    await db.dropTable!('uri');
    await db.createTable!({
      name: 'uri',
      version: 1,
      columns: [
        { name: 'username', kind: 'string', sql: 'VARCHAR(64)', default: '' },
        { name: 'domain', kind: 'string', sql: 'VARCHAR(64)', default: '' },
      ],
    });
    await db.insert('uri', { username: 'u', domain: 'd' });
    await db.update('version', { table_name: 'uri' }, { table_version: 0 });
    const changes = await migrateSchema(db, ['uri']);
    expect(changes).toContain('added column uri.uri_user');
    expect(changes).toContain('added column uri.last_modified');
    expect(changes).toContain('version uri: 0 -> 1');
    expect(await db.query('uri', { columns: ['username', 'uri_user'] })).toEqual([{ username: 'u', uri_user: '' }]);
    expect((await migrateSchema(db, ['uri'])).filter((l) => !l.startsWith('kept'))).toEqual([]);
  });

  test(`raw SQL ${name === 'mysql' ? 'runs prepared statements' : 'is refused'}`, async () => {
    if (name === 'mysql') {
      const r = await db.raw('SELECT username FROM subscriber WHERE username = ? AND domain = ?', ['alice', 'example.com']);
      expect(r).toEqual([{ username: 'alice' }]);
    } else {
      await expect(db.raw('SELECT 1')).rejects.toMatchObject({ kind: 'unsupported' });
    }
  });
});

describe('openDb', () => {
  test('shares one driver per URL with a reference count', async () => {
    const url = mysqlUrl(DBNAME);
    const a = openDb(url, log);
    const b = openDb(url, log);
    expect(openHandles(url)).toBe(2);
    await a.close();
    await a.close(); // idempotent per handle
    expect(openHandles(url)).toBe(1);
    await expect(a.query('version')).rejects.toMatchObject({ kind: 'down' });
    await b.close();
    expect(openHandles(url)).toBe(0);
  });

  test('masks the password in displayUrl and rejects bad URLs', () => {
    const db = openDb('mysql://ser:heslo@localhost/ser', log);
    expect(db.displayUrl).toBe('mysql://ser:***@localhost/ser');
    void db.close();
    expect(() => openDb('postgres://x@y/z', log)).toThrow(/unsupported db_url scheme/);
    expect(() => openDb('mysql://root@localhost', log)).toThrow(/no database name/);
  });
});

describe('text driver files', () => {
  test('reads Kamailio db_text files, writes back atomically, notices outside edits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tser-dbtext-'));
    writeFileSync(join(dir, 'version'), 'id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n');
    writeFileSync(
      join(dir, 'subscriber'),
      'id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n1:ali\\:ce:example.com:p\\\\w\\:1::\n',
    );
    const db = openDb(`text://${dir}`, log);
    expect(await db.tableVersion('subscriber')).toBe(7);
    expect(await db.query('subscriber', { columns: ['username', 'password', 'ha1'] })).toEqual([
      { username: 'ali:ce', password: 'p\\w:1', ha1: '' },
    ]);
    await db.insert('subscriber', { username: 'bob', domain: 'example.com', password: 'a:b\nc' });
    const text = readFileSync(join(dir, 'subscriber'), 'utf8');
    expect(text.split('\n')[2]).toBe('2:bob:example.com:a\\:b\\nc::');
    // someone else (tserctl) rewrites the file: the next query sees it
    writeFileSync(join(dir, 'subscriber'), `${text}3:carol:example.com:x::\n`);
    const names = (await db.query('subscriber', { columns: ['username'] })).map((r) => r.username);
    expect(names).toEqual(['ali:ce', 'bob', 'carol']);
    await db.close();
  });

  test('a malformed file is a query error naming the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tser-dbtext-'));
    writeFileSync(join(dir, 'subscriber'), 'username(string) domain(string) \nonly-one-field\n');
    const db = openDb(`text://${dir}`, log);
    await expect(db.query('subscriber')).rejects.toThrow(/line 2: 1 fields, the header declares 2/);
    await db.close();
  });
});
