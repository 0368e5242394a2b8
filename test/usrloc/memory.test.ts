// Memory per registered contact: 20,000 bindings saved through the usrloc API the way the
// registrar does (lock, get, insert, sync), with strings cut out of a received message, in
// db_mode 0, 1 and 2. The heap a contact keeps after a full GC is about 400 bytes here (it
// was about 730 with a list per AOR, a string per ruid, a dirty Set and per-contact copies
// of shared strings); the bound is generous so GC noise never fails it, but a regression
// that doubles the cost does.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, DbRow } from '../../src/db/db.js';
import { makeStore, T0, type TestStore } from './helpers.js';

const N = 20_000;
const MAX_BYTES_PER_CONTACT = 600;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** a DB that accepts every write and keeps nothing (the batch SQL path: driver mysql) */
class NullDb implements Db {
  readonly displayUrl = 'null://';
  readonly driver = 'mysql' as const;
  writes = 0;
  async query(): Promise<DbRow[]> {
    return [];
  }
  async insert(): Promise<void> {}
  async upsert(): Promise<void> {
    this.writes++;
  }
  async update(): Promise<number> {
    return 0;
  }
  async delete(): Promise<number> {
    return 0;
  }
  async raw(sql: string): Promise<DbRow[]> {
    const m = /\) VALUES (.*) ON DUPLICATE/.exec(sql);
    if (m) this.writes += m[1]!.split('), (').length;
    return [];
  }
  async tableVersion(): Promise<number | null> {
    return 9;
  }
  async close(): Promise<void> {}
}

const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.store.stop();
});

/** what the registrar passes: substrings of the REGISTER text, a shared socket name */
function register(i: number): { aor: string; uri: string; callid: string; userAgent: string } {
  const user = `u${String(i).padStart(6, '0')}`;
  const msg =
    `REGISTER sip:example.com SIP/2.0\r\nCall-ID: reg-${i}-a84b4c76e66710@198.51.100.7\r\n` +
    `Contact: <sip:${user}@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5060;transport=udp>\r\n` +
    `User-Agent: Example-Phone/1.2.3\r\nTo: <sip:${user}@example.com>\r\n${' '.repeat(400)}`;
  const cut = (from: string, to: string): string => {
    const a = msg.indexOf(from) + from.length;
    return msg.slice(a, msg.indexOf(to, a));
  };
  return { aor: cut('To: <sip:', '@'), uri: cut('Contact: <', '>'), callid: cut('Call-ID: ', '\r\n'), userAgent: cut('User-Agent: ', '\r\n') };
}

async function bytesPerContact(dbMode: number): Promise<{ perContact: number; db: NullDb }> {
  const db = new NullDb();
  const s = makeStore({ db_mode: dbMode }, dbMode === 0 ? null : db);
  stores.push(s);
  await s.store.start(['location']);
  const d = s.store.getDomain('location');
  const socket = 'udp:192.0.2.1:5060';
  const save = async (i: number): Promise<void> => {
    const r = register(i);
    await d.lock(r.aor, async () => {
      await d.get(r.aor);
      await d.insert(r.aor, {
        uri: r.uri,
        expires: T0 + 3600,
        callid: r.callid,
        cseq: 1,
        userAgent: r.userAgent,
        socket,
        lastModified: T0,
      });
      await d.sync();
    });
  };
  // warm up (code, caches, the first contacts of a table), then measure
  for (let i = 0; i < 500; i++) await save(1_000_000 + i);
  await s.store.flush();
  const before = heapAfterGc();
  for (let i = 0; i < N; i++) await save(i);
  await s.store.flush();
  const after = heapAfterGc();
  expect(d.counts().contacts).toBe(N + 500);
  return { perContact: (after - before) / N, db };
}

describe('memory per registered contact', () => {
  it.each([0, 1, 2])(`db_mode %i keeps under ${MAX_BYTES_PER_CONTACT} bytes of heap per contact`, async (mode) => {
    const { perContact, db } = await bytesPerContact(mode);
    if (mode !== 0) expect(db.writes).toBeGreaterThanOrEqual(N);
    expect(perContact).toBeGreaterThan(0);
    expect(perContact, `${Math.round(perContact)} bytes per contact`).toBeLessThan(MAX_BYTES_PER_CONTACT);
  });
});
