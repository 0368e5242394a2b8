// The mysql:// driver stays bounded when the DB is slow or silent: past maxPending queries
// fail at once (DbError 'down', "busy"), a connection that stops answering fails its query
// within queryTimeout, nothing hangs, and service resumes by itself afterwards.
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MysqlDb, type MysqlOptions } from '../../src/db/mysql.js';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import { parseDbUrl, type MysqlUrl } from '../../src/db/url.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';

const DBNAME = 'tser_test_db_bounded';
const log = pino({ level: 'silent' });
let proxy: TcpProxy;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  const db = openDb(mysqlUrl(DBNAME), log);
  await createSchema(db, ['subscriber']);
  await db.insert('subscriber', { username: 'alice', domain: 'd', password: 'p' });
  await db.close();
  proxy = await TcpProxy.start();
});
afterAll(async () => {
  await proxy.close();
  await dropDatabase(DBNAME);
});

function driver(opts: Partial<MysqlOptions>): MysqlDb {
  return new MysqlDb(parseDbUrl(mysqlUrl(DBNAME, proxy.port)) as MysqlUrl, 'mysql://test', log, opts);
}

const who = (db: MysqlDb) => db.query('subscriber', { columns: ['username'], where: { username: 'alice' }, limit: 1 });

interface Outcome {
  ok: boolean;
  ms: number;
  /** settle order */
  seq: number;
  err?: { name?: string; kind?: string; message?: string };
}

let settled = 0;
function timed(p: Promise<unknown>, t0: number): Promise<Outcome> {
  return p.then(
    () => ({ ok: true, ms: Date.now() - t0, seq: settled++ }),
    (err: Outcome['err']) => ({ ok: false, ms: Date.now() - t0, err, seq: settled++ }),
  );
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function recovers(db: MysqlDb, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      expect(await who(db)).toEqual([{ username: 'alice' }]);
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('slow DB: the first maxPending queries are served, the rest fail at once, then normal service', async () => {
  const MAX = 32;
  const db = driver({ maxPending: MAX });
  try {
    expect(await who(db)).toEqual([{ username: 'alice' }]);
    proxy.latencyMs = 200;
    const t0 = Date.now();
    const all = Array.from({ length: 2000 }, () => timed(who(db), t0));
    // what is held is bounded by maxPending, whatever the burst
    expect(db.stats.pending).toBe(MAX);
    expect(db.stats.waiting).toBeLessThanOrEqual(MAX);
    const results = await Promise.all(all);
    const served = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    expect(served).toHaveLength(MAX);
    expect(refused).toHaveLength(2000 - MAX);
    for (const r of refused) {
      expect(r.err).toMatchObject({ name: 'DbError', kind: 'down' });
      expect(r.err!.message).toMatch(/busy/);
      expect(r.ms).toBeLessThan(200); // never waited for the DB
    }
    // every refusal came before the first answer, and the answers came slowly
    expect(Math.max(...refused.map((r) => r.seq))).toBeLessThan(Math.min(...served.map((r) => r.seq)));
    expect(Math.min(...served.map((r) => r.ms))).toBeGreaterThanOrEqual(190);
    expect(db.stats).toMatchObject({ pending: 0, waiting: 0 });
    expect(db.isDown).toBe(false); // overload is not an outage
    proxy.latencyMs = 0;
    const t1 = Date.now();
    const again = await Promise.all(Array.from({ length: 200 }, () => timed(who(db), t1)));
    expect(again.filter((r) => !r.ok).length).toBeLessThanOrEqual(200 - MAX);
    expect(again.slice(0, MAX).every((r) => r.ok)).toBe(true);
    expect(await who(db)).toEqual([{ username: 'alice' }]);
  } finally {
    proxy.latencyMs = 0;
    await db.close();
  }
});

test('DB accepts connections but never answers: queries fail within queryTimeout, close does not hang', async () => {
  const db = driver({ queryTimeout: 300, connectTimeout: 5000 });
  try {
    proxy.set('blackhole');
    const t0 = Date.now();
    const r = await timed(who(db), t0);
    expect(r.ok).toBe(false);
    expect(r.err).toMatchObject({ name: 'DbError', kind: 'down' });
    expect(r.ms).toBeGreaterThanOrEqual(250);
    expect(r.ms).toBeLessThan(1000);
    proxy.set('up');
    await recovers(db);
  } finally {
    proxy.set('up');
    const t = Date.now();
    await db.close();
    expect(Date.now() - t).toBeLessThan(1000);
  }
});

test('connected DB stops answering mid-session: every query fails within queryTimeout, then recover', async () => {
  const db = driver({ queryTimeout: 300, connectTimeout: 5000 });
  try {
    // open all connections first
    await Promise.all(Array.from({ length: 8 }, () => who(db)));
    expect(db.stats.connections).toBe(4);
    proxy.set('stall');
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => timed(who(db), t0)));
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.err).toMatchObject({ name: 'DbError', kind: 'down' });
      expect(r.ms).toBeLessThan(1000);
    }
    expect(Math.max(...results.map((r) => r.ms))).toBeGreaterThanOrEqual(250);
    expect(db.stats.pending).toBe(0);
    proxy.set('up');
    await recovers(db);
  } finally {
    proxy.set('up');
    const t = Date.now();
    await db.close();
    expect(Date.now() - t).toBeLessThan(1000);
  }
  // the stalled connections were really dropped, not left open
  await until(() => proxy.openSockets === 0);
});
