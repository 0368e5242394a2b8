// Destinations from the Kamailio 5.6 `dispatcher` table in MariaDB (version 4): columns,
// attributes (plus ds_db_extra_attrs), reload, and the version check at start.
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import { rpc } from '../../modules/dispatcher/rpc.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { harness, invite, type Harness } from './helpers.js';

const DBNAME = 'tser_test_dispatcher';
const url = mysqlUrl(DBNAME);
let db: Db;
let h: Harness | null = null;

beforeAll(async () => {
  await recreateDatabase(DBNAME);
  db = openDb(url, pino({ level: 'silent' }));
  await createSchema(db, ['dispatcher']);
  await db.raw('ALTER TABLE dispatcher ADD COLUMN account VARCHAR(64) NOT NULL DEFAULT ""');
  await db.insert('dispatcher', { setid: 1, destination: 'sip:10.1.0.1:5060', flags: 0, priority: 10, attrs: 'weight=10;gw=a', description: 'gw a' });
  await db.insert('dispatcher', { setid: 1, destination: 'sip:10.1.0.2:5060', flags: 1, priority: 5, attrs: 'weight=1', description: 'gw b' });
  await db.raw('UPDATE dispatcher SET account = "acme" WHERE setid = 1 AND priority = 10');
});

afterEach(async () => {
  await h?.close();
  h = null;
});

afterAll(async () => {
  await db.close();
  await dropDatabase(DBNAME);
});

const PARAMS = `modparam("dispatcher", "db_url", "${url}")
modparam("dispatcher", "ds_db_extra_attrs", "acct=account")
modparam("dispatcher", "reload_delta", 0)`;

describe('dispatcher table', () => {
  it('loads destinations with flags, priority and attributes (extra columns appended)', async () => {
    h = await harness(PARAMS, 'request_route { ds_select_dst("1", "8"); }');
    const set = h.st.sets.get(1)!;
    expect(set.dests.map((d) => [d.uri, d.flags, d.priority])).toEqual([
      ['sip:10.1.0.1:5060', 0, 10],
      ['sip:10.1.0.2:5060', 1, 5],
    ]);
    expect(set.dests[0]!.attrs.body).toBe('weight=10;gw=a;acct=acme');
    expect((await h.run(invite())).dstUri).toBe('sip:10.1.0.1:5060');
  });

  it('dispatcher.reload reads new rows; a broken table keeps the last good data', async () => {
    h = await harness(PARAMS, 'request_route { exit; }');
    await db.insert('dispatcher', { setid: 2, destination: 'sip:10.1.0.3', flags: 0, priority: 0, attrs: '', description: '' });
    await rpc['dispatcher.reload']!.run(h.st, []);
    expect(h.st.sets.has(2)).toBe(true);
    await db.raw('RENAME TABLE dispatcher TO dispatcher_moved');
    try {
      await expect(rpc['dispatcher.reload']!.run(h.st, [])).rejects.toThrow(/Reload failed/);
      expect(h.st.sets.get(2)!.dests.length).toBe(1);
    } finally {
      await db.raw('RENAME TABLE dispatcher_moved TO dispatcher');
    }
  });

  it('refuses to start with a table version it does not know', async () => {
    await db.update('version', { table_name: 'dispatcher' }, { table_version: 5 });
    try {
      await expect(harness(PARAMS, 'request_route { exit; }')).rejects.toThrow(/invalid version 5 for table "dispatcher"/);
    } finally {
      await db.update('version', { table_name: 'dispatcher' }, { table_version: 4 });
    }
  });
});
