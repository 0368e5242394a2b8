// mysql:// driver details behind the Db API: the SQL text cached per query shape never mixes
// two shapes up, and rows carry only DbValues (BIGINT, binary strings, BIT converted).
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MysqlDb } from '../../src/db/mysql.js';
import { createSchema } from '../../src/db/schema.js';
import { parseDbUrl, type MysqlUrl } from '../../src/db/url.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';

const DBNAME = 'tser_test_db_driver';
let db: MysqlDb;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  db = new MysqlDb(parseDbUrl(mysqlUrl(DBNAME)) as MysqlUrl, 'mysql://test', pino({ level: 'silent' }));
  await createSchema(db, ['location']);
  await db.insert('location', { ruid: 'a', username: 'u', domain: null, contact: 'sip:a@h', q: 0.5 });
  await db.insert('location', { ruid: 'b', username: 'u', domain: 'd', contact: 'sip:b@h', q: 1 });
});
afterAll(async () => {
  await db.close();
  await dropDatabase(DBNAME);
});

const ruids = (rows: Record<string, unknown>[]) => rows.map((r) => r.ruid);

test('same columns, different where shapes: each gets its own SQL', async () => {
  const cols = ['ruid'];
  for (let i = 0; i < 3; i++) {
    expect(ruids(await db.query('location', { columns: cols, where: { domain: null } }))).toEqual(['a']);
    expect(ruids(await db.query('location', { columns: cols, where: { domain: 'd' } }))).toEqual(['b']);
    expect(ruids(await db.query('location', { columns: cols, where: { domain: { op: '!=', value: null } } }))).toEqual(['b']);
    expect(ruids(await db.query('location', { columns: cols, where: { q: { op: '<', value: 1 } } }))).toEqual(['a']);
    expect(ruids(await db.query('location', { columns: cols, where: { q: { op: '>=', value: 1 } } }))).toEqual(['b']);
    expect(ruids(await db.query('location', { columns: cols, where: { username: 'u' }, orderBy: 'ruid desc' }))).toEqual(['b', 'a']);
    expect(ruids(await db.query('location', { columns: cols, where: { username: 'u' }, orderBy: 'ruid desc', limit: 1 }))).toEqual(['b']);
    expect(ruids(await db.query('location', { columns: cols, where: { username: 'u' }, orderBy: 'ruid' }))).toEqual(['a', 'b']);
  }
  // a comparison with NULL is refused even after the same shape with a value was cached
  await expect(db.query('location', { columns: cols, where: { q: { op: '<', value: null } } })).rejects.toMatchObject({ kind: 'query' });
  await expect(db.query('location', { where: { q: { op: 'OR 1=1 --' as '<', value: 1 } } })).rejects.toMatchObject({ kind: 'query' });
  await expect(db.query('location', { columns: ['ruid; drop'] })).rejects.toMatchObject({ kind: 'query' });
});

test('update and upsert shapes: set columns and key columns are part of the shape', async () => {
  expect(await db.update('location', { ruid: 'a' }, { contact: 'sip:a2@h' })).toBe(1);
  expect(await db.update('location', { ruid: 'a' }, { cseq: 7 })).toBe(1);
  expect(await db.update('location', { ruid: 'a' }, {})).toBe(0);
  await db.upsert('location', { ruid: 'a', username: 'u', contact: 'sip:a3@h' }, ['ruid']);
  await db.upsert('location', { ruid: 'c', username: 'u', contact: 'sip:c@h' }, ['ruid', 'username']);
  const rows = await db.query('location', { columns: ['ruid', 'contact', 'cseq'], orderBy: 'ruid' });
  expect(rows).toEqual([
    { ruid: 'a', contact: 'sip:a3@h', cseq: 7 },
    { ruid: 'b', contact: 'sip:b@h', cseq: 1 },
    { ruid: 'c', contact: 'sip:c@h', cseq: 1 },
  ]);
  expect(await db.delete('location', { ruid: 'c' })).toBe(1);
  await expect(db.insert('location', {})).rejects.toMatchObject({ kind: 'query' });
});

test('rows hold only DbValues: BIGINT, binary strings and BIT are converted', async () => {
  const [row] = await db.raw(
    "SELECT COUNT(*) AS n, CAST(5 AS UNSIGNED) AS u, BINARY 'bin' AS b, CAST('x' AS BINARY(2)) AS b2, b'101' AS bit, 'txt' AS t, NULL AS z, 1.5 AS d FROM location",
  );
  expect(row).toEqual({ n: 2, u: 5, b: 'bin', b2: 'x\u0000', bit: '\u0005', t: 'txt', z: null, d: '1.5' });
  const [dt] = await db.query('location', { columns: ['expires', 'last_modified'], where: { ruid: 'b' } });
  expect(dt!.expires).toBeInstanceOf(Date);
});

test('connections the server drops while idle are replaced: no error reaches the caller', async () => {
  await Promise.all(Array.from({ length: 8 }, () => db.query('location', { columns: ['ruid'], limit: 1 })));
  const admin = new MysqlDb(parseDbUrl(mysqlUrl('mysql')) as MysqlUrl, 'mysql://admin', pino({ level: 'silent' }), { connectionLimit: 1 });
  try {
    const ids = (await admin.raw('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ?', [DBNAME])).map((r) => Number(r.id));
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await admin.raw(`KILL CONNECTION ${id}`);
  } finally {
    await admin.close();
  }
  // at once (stale connection: one retry on a fresh one), and after the drops were noticed
  expect(await db.query('location', { columns: ['ruid'], where: { ruid: 'b' } })).toEqual([{ ruid: 'b' }]);
  await new Promise((r) => setTimeout(r, 200));
  const rows = await Promise.all(Array.from({ length: 8 }, () => db.query('location', { columns: ['ruid'], where: { ruid: 'b' } })));
  expect(rows.every((r) => r.length === 1)).toBe(true);
  expect(db.isDown).toBe(false);
});
