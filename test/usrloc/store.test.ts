// usrloc store semantics with a fake clock and an in-memory DB: ordering, expiry, db_mode
// 0–3 write paths, the write-back races, DB outages, loading at start, version checks.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeDb } from './fake-db.js';
import { ci, makeStore, T0, type TestStore } from './helpers.js';
import { Q_UNSPECIFIED } from '../../modules/usrloc/api.js';
import { MemDomain } from '../../modules/usrloc/mem-domain.js';

const stores: TestStore[] = [];
function store(...a: Parameters<typeof makeStore>): TestStore {
  const s = makeStore(...a);
  stores.push(s);
  return s;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.store.stop();
});

function locationRows(db: FakeDb) {
  return db.rows('location');
}

describe('memory store (db_mode 0)', () => {
  it('orders contacts by q, then most recent', async () => {
    const { store: ul, clock } = store();
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@1.1.1.1', 3600, { q: 500 }));
    clock.t += 1;
    await d.insert('alice', ci('sip:b@1.1.1.1', 3600, { q: 1000 }));
    clock.t += 1;
    await d.insert('alice', ci('sip:c@1.1.1.1', 3600, { q: 500 }));
    await d.insert('alice', ci('sip:d@1.1.1.1', 3600));
    const list = await d.get('alice');
    expect(list.map((c) => c.uri)).toEqual(['sip:b@1.1.1.1', 'sip:c@1.1.1.1', 'sip:a@1.1.1.1', 'sip:d@1.1.1.1']);
    expect(list[3]!.q).toBe(Q_UNSPECIFIED);
    expect(list[0]!.ruid).toMatch(/^uloc-[0-9a-f]+-[0-9a-f]+-\d+$/);
  });

  it('desc_time_order orders by last change only', async () => {
    const { store: ul, clock } = store({ desc_time_order: true });
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@h', 3600, { q: 1000 }));
    clock.t += 5;
    await d.insert('alice', ci('sip:b@h', 3600, { q: 100 }, clock.t));
    expect((await d.get('alice')).map((c) => c.uri)).toEqual(['sip:b@h', 'sip:a@h']);
  });

  it('the timer removes expired contacts and counts them; permanent ones stay', async () => {
    const { store: ul, clock, stats } = store();
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@h', 60));
    await d.insert('alice', ci('sip:p@h', 0));
    await d.insert('bob', ci('sip:b@h', 3600));
    expect(stats.get('usrloc:registered_users')['usrloc:registered_users']).toBe(2);
    clock.t += 61;
    await ul.tick();
    expect((await d.get('alice')).map((c) => c.uri)).toEqual(['sip:p@h']);
    expect(stats.get('usrloc:expired_contacts')['usrloc:expired_contacts']).toBe(1);
    expect(stats.get('usrloc:registered_contacts')['usrloc:registered_contacts']).toBe(2);
  });

  it('remove() drops the AOR', async () => {
    const { store: ul, stats } = store();
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@h', 60));
    await d.insert('alice', ci('sip:b@h', 60));
    expect(await d.remove('alice')).toBe(2);
    expect(await d.get('alice')).toEqual([]);
    expect(stats.get('usrloc:location-users')['usrloc:location-users']).toBe(0);
  });
});

describe('write-back (db_mode 2)', () => {
  it('writes new, changed and deleted contacts only when flushed, by ruid', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const a = await d.insert('alice', ci('sip:a@h', 3600));
    expect(locationRows(db)).toHaveLength(0);
    await ul.flush();
    expect(locationRows(db)).toMatchObject([{ ruid: a.ruid, username: 'alice', contact: 'sip:a@h', q: -1, cseq: 1 }]);
    await d.update(a, ci('sip:a@h', 7200, { cseq: 2 }));
    await ul.flush();
    expect(locationRows(db)).toHaveLength(1);
    expect(locationRows(db)[0]).toMatchObject({ cseq: 2 });
    await d.delete(a);
    await ul.flush();
    expect(locationRows(db)).toHaveLength(0);
  });

  it('a contact changed while its row is being written is written again by the next flush', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const a = await d.insert('alice', ci('sip:a@h', 3600, { cseq: 1 }));
    const g = db.gate('upsert');
    const f1 = ul.flush();
    await g.entered;
    // the refresh lands while the old version is on its way to the DB
    await d.update(a, ci('sip:a@h', 3600, { cseq: 2 }));
    g.release();
    await f1;
    expect(locationRows(db)[0]).toMatchObject({ cseq: 1 });
    await ul.flush();
    expect(locationRows(db)).toMatchObject([{ ruid: a.ruid, cseq: 2 }]);
  });

  it('flushes never overlap: flushes asked for during one are coalesced into one that runs after it', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location') as MemDomain;
    await d.insert('alice', ci('sip:a@h', 3600));
    const g = db.gate('upsert');
    const first = d.flush();
    await g.entered;
    const bob = await d.insert('bob', ci('sip:b@h', 3600));
    const second = d.flush();
    const third = ul.flush();
    expect(second).toBe(d.flush());
    // while the first flush is held, the second has not started writing bob
    await new Promise((r) => setTimeout(r, 20));
    expect(db.calls.filter((c) => c.op === 'upsert').map((c) => c.row!['username'])).toEqual(['alice']);
    g.release();
    await Promise.all([first, second, third]);
    const upserts = db.calls.filter((c) => c.op === 'upsert').map((c) => c.row!['ruid']);
    expect(upserts.filter((r) => r === bob.ruid)).toHaveLength(1);
    expect(locationRows(db)).toHaveLength(2);
    expect(new Set(locationRows(db).map((r) => r['ruid'])).size).toBe(2);
  });

  it('the expiry sweep never deletes a binding refreshed after it started', async () => {
    const db = new FakeDb();
    const { store: ul, clock } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const old = await d.insert('alice', ci('sip:a@h', 60));
    const keep = await d.insert('bob', ci('sip:b@h', 60));
    await ul.flush();
    clock.t += 61;
    // bob re-registers just before the timer; alice just after the sweep removed her
    await d.update(keep, ci('sip:b@h', 3600, { cseq: 2 }, clock.t));
    const g = db.gate('delete');
    const tick = ul.tick();
    await g.entered;
    const again = await d.insert('alice', ci('sip:a@h', 3600, { cseq: 2 }, clock.t));
    g.release();
    await tick;
    await ul.flush();
    const rows = locationRows(db);
    expect(rows.map((r) => r['username']).sort()).toEqual(['alice', 'bob']);
    expect(rows.find((r) => r['username'] === 'alice')!['ruid']).toBe(again.ruid);
    expect(rows.find((r) => r['username'] === 'alice')!['ruid']).not.toBe(old.ruid);
    expect((await d.get('bob'))[0]!.expires).toBe(clock.t + 3600);
  });

  it('keeps everything in memory while the DB is down, logs once, and writes it back later', async () => {
    const db = new FakeDb();
    const { store: ul, log } = store({ db_mode: 2 }, db);
    const err = vi.spyOn(log, 'error');
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const a = await d.insert('alice', ci('sip:a@h', 3600));
    await ul.flush();
    db.down = true;
    await d.insert('bob', ci('sip:b@h', 3600));
    await d.delete(a);
    expect(await ul.flush()).toBe(false);
    expect(await ul.flush()).toBe(false);
    await ul.tick();
    expect(err.mock.calls.filter((c) => String(c[1]).includes('DB unavailable'))).toHaveLength(1);
    expect((await d.get('bob')).length).toBe(1);
    db.down = false;
    expect(await ul.flush()).toBe(true);
    expect(locationRows(db).map((r) => r['username'])).toEqual(['bob']);
  });

  it('flushes on clean shutdown', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    await ul.getDomain('location').insert('alice', ci('sip:a@h', 3600));
    await ul.stop();
    expect(locationRows(db)).toHaveLength(1);
  });

  it('loads the table at start in chunks, dropping expired rows', async () => {
    const db = new FakeDb();
    const { store: ul0 } = store({ db_mode: 2 }, db);
    await ul0.start(['location']);
    const d0 = ul0.getDomain('location');
    for (let i = 0; i < 5; i++) await d0.insert(`u${i}`, ci(`sip:u${i}@h`, 3600, { q: 100 * i }));
    await d0.insert('gone', ci('sip:gone@h', 10));
    await ul0.stop();
    expect(locationRows(db)).toHaveLength(6);

    const { store: ul, clock } = store({ db_mode: 2, fetch_rows: 2 }, db);
    clock.t += 100;
    db.calls = [];
    await ul.start(['location']);
    const d = ul.getDomain('location');
    expect(db.calls.filter((c) => c.op === 'query').length).toBeGreaterThanOrEqual(3);
    expect((await d.get('u3'))[0]).toMatchObject({ uri: 'sip:u3@h', q: 300, expires: T0 + 3600 });
    expect(await d.get('gone')).toEqual([]);
    await ul.flush();
    expect(locationRows(db).map((r) => r['username'])).not.toContain('gone');
  });

  it('starts with the DB down, then loads it and lets newer registrations win', async () => {
    const db = new FakeDb();
    db.rows('location').push(
      { id: 1, ruid: 'uloc-1-1-1', username: 'alice', contact: 'sip:a@h', expires: new Date((T0 + 3600) * 1000), q: 1, callid: 'x', cseq: 1 },
      { id: 2, ruid: 'uloc-1-1-2', username: 'carol', contact: 'sip:c@h', expires: new Date((T0 + 3600) * 1000), q: 1, callid: 'x', cseq: 1 },
      { id: 3, ruid: 'uloc-1-1-3', username: 'dave', contact: 'sip:d@h', expires: new Date((T0 + 3600) * 1000), q: 1, callid: 'x', cseq: 1 },
    );
    db.down = true;
    const { store: ul } = store({ db_mode: 2 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    // while down: alice re-registers (newer), dave is unregistered
    await d.insert('alice', ci('sip:a@h', 7200, { cseq: 5 }));
    await d.remove('dave');
    db.down = false;
    await ul.tick();
    await ul.flush();
    expect((await d.get('alice')).map((c) => c.cseq)).toEqual([5]);
    expect((await d.get('carol')).length).toBe(1);
    expect(await d.get('dave')).toEqual([]);
    const rows = locationRows(db);
    expect(rows.filter((r) => r['username'] === 'alice')).toHaveLength(1);
    expect(rows.find((r) => r['username'] === 'alice')!['cseq']).toBe(5);
    expect(rows.map((r) => r['username'])).not.toContain('dave');
  });
});

describe('write-through (db_mode 1)', () => {
  it('writes each change before sync() resolves', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 1 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const a = await d.insert('alice', ci('sip:a@h', 3600));
    await d.sync();
    expect(locationRows(db)).toHaveLength(1);
    await d.delete(a);
    await d.sync();
    expect(locationRows(db)).toHaveLength(0);
  });

  it('memory-only contacts (save flag 0x01) never reach the DB', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 1 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@h', 3600, { memOnly: true }));
    await d.sync();
    expect(locationRows(db)).toHaveLength(0);
  });
});

describe('DB only (db_mode 3)', () => {
  it('reads and writes the DB directly, upserting by ruid', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 3 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    const a = await d.insert('alice', ci('sip:a@h', 3600, { q: 800 }));
    expect(locationRows(db)).toHaveLength(1);
    const got = await d.get('alice');
    expect(got[0]).toMatchObject({ ruid: a.ruid, uri: 'sip:a@h', q: 800 });
    // another node purged the row meanwhile: the refresh puts it back
    db.tables.set('location', []);
    await d.update(got[0]!, ci('sip:a@h', 3600, { cseq: 2 }));
    expect(locationRows(db)).toMatchObject([{ ruid: a.ruid, cseq: 2 }]);
  });

  it('the timer purges expired rows but keeps permanent and fresh ones', async () => {
    const db = new FakeDb();
    const { store: ul, clock } = store({ db_mode: 3 }, db);
    await ul.start(['location']);
    const d = ul.getDomain('location');
    await d.insert('alice', ci('sip:a@h', 60));
    await d.insert('bob', ci('sip:b@h', 0));
    await d.insert('carol', ci('sip:c@h', 3600));
    clock.t += 120;
    await ul.tick();
    expect(locationRows(db).map((r) => r['username']).sort()).toEqual(['bob', 'carol']);
  });

  it('fails operations while the DB is down', async () => {
    const db = new FakeDb();
    const { store: ul } = store({ db_mode: 3 }, db);
    await ul.start(['location']);
    db.down = true;
    await expect(ul.getDomain('location').get('alice')).rejects.toThrow(/down/);
  });
});

describe('table version check', () => {
  it('Kamailio dialect refuses a table whose version is not 9', async () => {
    const db = new FakeDb();
    db.versions.set('location', 8);
    const { store: ul } = store({ db_mode: 2 }, db);
    await expect(ul.start(['location'])).rejects.toThrow(/version 8, expected 9/);
  });

  it('SER dialect accepts version 6 and later', async () => {
    const db = new FakeDb();
    db.versions.set('location', 6);
    const { store: ul } = store({ db_mode: 2 }, db, 'ser');
    await expect(ul.start(['location'])).resolves.toBeUndefined();
  });

  it('version_table=0 skips the check', async () => {
    const db = new FakeDb();
    db.versions.delete('location');
    const { store: ul } = store({ db_mode: 1, version_table: false }, db);
    await expect(ul.start(['location'])).resolves.toBeUndefined();
  });
});
