// MySQL outage handling through a TCP proxy we can break: queries fail fast with
// DbError('down') while the server is unreachable, and the pool recovers by itself.
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';

const DBNAME = 'tser_test_db_outage';
let proxy: TcpProxy;
let db: Db;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  proxy = await TcpProxy.start();
  db = openDb(mysqlUrl(DBNAME, proxy.port), pino({ level: 'silent' }));
  await createSchema(db, ['subscriber']);
  await db.insert('subscriber', { username: 'alice', domain: 'd', password: 'p' });
});
afterAll(async () => {
  await db.close();
  await proxy.close();
  await dropDatabase(DBNAME);
});

const who = () => db.query('subscriber', { columns: ['username'], where: { username: 'alice' } });

async function failsDown(): Promise<number> {
  const t0 = Date.now();
  const e = await who().then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toMatchObject({ name: 'DbError', kind: 'down' });
  return Date.now() - t0;
}

async function recovers(ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      expect(await who()).toEqual([{ username: 'alice' }]);
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('server gone (connections reset): fail fast, then recover', async () => {
  expect(await who()).toHaveLength(1);
  proxy.set('refuse');
  expect(await failsDown()).toBeLessThan(3000);
  expect(await failsDown()).toBeLessThan(500);
  proxy.set('up');
  await recovers();
});

test('after a long outage the first query once the server is back reconnects at once (no backoff timer)', async () => {
  expect(await who()).toHaveLength(1);
  proxy.set('refuse');
  // several seconds of failing queries: an exponential backoff would be at its widest now
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    await failsDown();
    await new Promise((r) => setTimeout(r, 50));
  }
  proxy.set('up');
  const t0 = Date.now();
  expect(await who()).toEqual([{ username: 'alice' }]);
  expect(Date.now() - t0).toBeLessThan(500);
});

test('while down, concurrent queries make one reconnect attempt, the others fail at once', async () => {
  proxy.set('refuse');
  await failsDown();
  const accepted = proxy.accepted;
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => who()));
  expect(results.every((r) => r.status === 'rejected')).toBe(true);
  expect(proxy.accepted - accepted).toBe(1);
  proxy.set('up');
  await recovers();
});

test('network partition (no answer at all): bounded by the connect timeout, then recover', async () => {
  proxy.set('blackhole');
  expect(await failsDown()).toBeLessThan(6000);
  proxy.set('up');
  await recovers();
});

test('many concurrent queries during an outage all fail, none hang', async () => {
  proxy.set('refuse');
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => who()));
  expect(results.every((r) => r.status === 'rejected')).toBe(true);
  proxy.set('up');
  await recovers();
});
