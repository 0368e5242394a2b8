// A usrloc table kept in memory (db_mode 0, 1, 2), with the DB write path of modes 1/2.
//
// Every change marks the contact dirty (with a version number) or queues its ruid for
// deletion; flush() writes them. Flushes are single-flight (a flush asked for while one runs
// is coalesced into one that starts right after), so two flushes never write the same row
// at once, and rows are written by ruid upsert (INSERT … ON DUPLICATE KEY UPDATE), so a retry
// or a row already there never collides on the unique key. Expired contacts are removed from
// memory synchronously and their rows deleted by ruid — never a blanket
// `DELETE … WHERE expires < now`, which could delete a row refreshed meanwhile
// (kamailio#2455). A contact whose version changed while its row was being written stays
// dirty for the next flush. When the DB is down, contacts stay dirty in memory, one error is
// logged per outage, and the next timer run retries.
import { DbError, type DbRow } from '../../src/db/db.js';
import type { ContactInfo, UlContact, UlDomain } from './api.js';
import { aorKey, fromRow, toRow } from './columns.js';
import { isPermanent, isValid, stamp, Ucontact } from './contact.js';
import { checkTableVersion, isDown, type DomainEnv } from './domain-env.js';
import { AorLocks } from './locks.js';
import { chunks, deleteKeys, upsertRows, WRITE_CHUNK } from './db-write.js';

/** shared empty answer: callers never mutate what get() returns */
const NONE: readonly UlContact[] = Object.freeze([]);

export class MemDomain implements UlDomain {
  readonly name: string;
  private readonly records = new Map<string, Ucontact[]>();
  private readonly dirty = new Set<Ucontact>();
  /** ruid → contact whose row must be deleted */
  private readonly deletes = new Map<string, Ucontact>();
  private readonly locks = new AorLocks();
  /** contacts removed before the table could be loaded (DB down at start): not to come back */
  private readonly tombstones = new Set<string>();
  private loaded: boolean;
  /** a version problem: the table is used in memory only */
  private dbDisabled = false;
  private loadRun: Promise<void> | null = null;
  private flushRun: Promise<boolean> | null = null;
  private flushNext: Promise<boolean> | null = null;
  private flushSoon = false;
  private outage = false;
  /** settles after the first load attempt; rejects with TableVersionError */
  readonly ready: Promise<void>;

  constructor(private readonly env: DomainEnv) {
    this.name = env.name;
    const usesDb = env.db !== null && env.dbMode !== 0;
    this.loaded = !usesDb;
    this.ready = usesDb ? this.load(true) : Promise.resolve();
    // the start-time load failing is handled through `ready` by the store
    this.ready.catch(() => undefined);
  }

  private get writes(): boolean {
    return (this.env.dbMode === 1 || this.env.dbMode === 2) && this.env.db !== null && !this.dbDisabled;
  }

  // ---------------- UlDomain ----------------

  /** sync once loaded (the lookup hot path takes no promise); a copy: callers delete while they iterate */
  get(aor: string): readonly UlContact[] | Promise<readonly UlContact[]> {
    if (!this.loaded) return this.ready.catch(() => undefined).then(() => this.records.get(aor)?.slice() ?? NONE);
    return this.records.get(aor)?.slice() ?? NONE;
  }

  lock<T>(aor: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(aor, fn);
  }

  async insert(aor: string, ci: ContactInfo): Promise<UlContact> {
    const c = new Ucontact(aor, this.env.ruids.next());
    c.apply(ci, this.env.clock());
    this.add(c);
    this.markDirty(c);
    return c;
  }

  async update(old: UlContact, ci: ContactInfo): Promise<UlContact> {
    const c = this.find(old);
    if (!c) return this.insert(old.aor, ci);
    c.apply(ci, this.env.clock());
    this.records.get(c.aor)!.sort(this.order);
    this.markDirty(c);
    return c;
  }

  async delete(old: UlContact): Promise<void> {
    const c = this.find(old);
    if (c) this.drop(c);
    else if (!this.loaded) this.tombstones.add(`${old.aor}\n${old.uri}`);
  }

  async remove(aor: string): Promise<number> {
    if (!this.loaded) this.tombstones.add(`${aor}\n*`);
    const list = this.records.get(aor);
    if (!list) return 0;
    const n = list.length;
    for (const c of [...list]) this.drop(c);
    return n;
  }

  async dump(): Promise<Map<string, readonly UlContact[]>> {
    if (!this.loaded) await this.ready.catch(() => undefined);
    return new Map([...this.records].map(([k, v]) => [k, [...v]]));
  }

  async sync(): Promise<void> {
    if (this.env.dbMode === 1 && this.writes) await this.flush();
  }

  counts(): { users: number; contacts: number } {
    let contacts = 0;
    for (const l of this.records.values()) contacts += l.length;
    return { users: this.records.size, contacts };
  }

  // ---------------- memory ----------------

  // newest first among equal keys: a global sequence breaks ties within one second
  private readonly order = (a: Ucontact, b: Ucontact): number => this.env.order(a, b) || b.seq - a.seq;

  private find(c: UlContact): Ucontact | undefined {
    return this.records.get(c.aor)?.find((x) => x.ruid === c.ruid);
  }

  private add(c: Ucontact): void {
    let list = this.records.get(c.aor);
    if (!list) {
      list = [];
      this.records.set(c.aor, list);
      this.env.counters.users.value++;
      this.env.counters.allUsers.value++;
    }
    list.push(c);
    if (list.length > 1) list.sort(this.order);
    this.env.counters.contacts.value++;
    this.env.counters.allContacts.value++;
  }

  private drop(c: Ucontact): void {
    const list = this.records.get(c.aor);
    if (!list) return;
    const i = list.indexOf(c);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) {
      this.records.delete(c.aor);
      this.env.counters.users.value--;
      this.env.counters.allUsers.value--;
    }
    this.env.counters.contacts.value--;
    this.env.counters.allContacts.value--;
    c.removed = true;
    c.dirty = false;
    this.dirty.delete(c);
    // the DB may still hold an older row for this binding: it must not come back on load
    if (!this.loaded) this.tombstones.add(`${c.aor}\n${c.uri}`);
    if (c.maybeInDb && this.writes) {
      this.deletes.set(c.ruid, c);
      this.writeThroughSoon();
    }
  }

  private markDirty(c: Ucontact): void {
    if (!this.writes || c.memOnly) return;
    c.dirty = true;
    this.dirty.add(c);
    this.writeThroughSoon();
  }

  /** db_mode 1: changes reach the DB without waiting for the timer */
  private writeThroughSoon(): void {
    if (this.env.dbMode !== 1 || this.flushSoon) return;
    this.flushSoon = true;
    setImmediate(() => {
      this.flushSoon = false;
      void this.flush();
    });
  }

  /** remove expired contacts (timer); returns how many */
  sweep(now: number): number {
    const limit = now - this.env.rmExpiredDelay;
    const gone: Ucontact[] = [];
    for (const list of this.records.values()) {
      for (const c of list) if (!isPermanent(c) && c.expires <= limit) gone.push(c);
    }
    for (const c of gone) this.drop(c);
    this.env.counters.expires.value += gone.length;
    this.env.counters.allExpired.value += gone.length;
    return gone.length;
  }

  // ---------------- DB: write-back / write-through ----------------

  /** write dirty contacts and queued deletes; false when something stays for later */
  flush(): Promise<boolean> {
    if (this.flushRun) {
      this.flushNext ??= this.flushRun.then(() => {
        this.flushNext = null;
        return this.flush();
      });
      return this.flushNext;
    }
    this.flushRun = this.doFlush().finally(() => {
      this.flushRun = null;
    });
    return this.flushRun;
  }

  private async doFlush(): Promise<boolean> {
    const db = this.env.db;
    if (!db || !this.writes) return true;
    if (!this.loaded) {
      await this.load(false).catch(() => undefined);
      if (!this.loaded) return false;
    }
    const table = this.name;
    const ruidCol = this.env.fmt.cols.ruid;
    let down: unknown = null;
    let failed = 0;

    const batch = [...this.dirty].filter((c) => c.dirty && !c.removed);
    this.dirty.clear();
    for (const chunk of chunks(batch, WRITE_CHUNK)) {
      if (down) {
        for (const c of chunk) if (!c.removed) this.dirty.add(c);
        continue;
      }
      const versions = chunk.map((c) => c.version);
      const rows = chunk.map((c) => {
        c.maybeInDb = true;
        return toRow(this.env.fmt, c);
      });
      try {
        await upsertRows(db, table, rows, ruidCol);
        chunk.forEach((c, k) => this.written(c, versions[k]!));
      } catch (e) {
        if (isDown(e)) {
          down = e;
          for (const c of chunk) if (!c.removed) this.dirty.add(c);
          continue;
        }
        // one bad row fails the whole statement: find it row by row
        for (let k = 0; k < chunk.length; k++) {
          const c = chunk[k]!;
          if (down) {
            if (!c.removed) this.dirty.add(c);
            continue;
          }
          try {
            await db.upsert(table, rows[k]!, [ruidCol]);
            this.written(c, versions[k]!);
          } catch (e2) {
            if (isDown(e2)) {
              down = e2;
              if (!c.removed) this.dirty.add(c);
            } else {
              // refused (a value too long...): kept in memory, not retried forever
              failed++;
              c.dirty = false;
              this.env.log.error({ table, ruid: c.ruid, aor: c.aor, err: (e2 as Error).message }, 'usrloc: contact not written to the DB');
            }
          }
        }
      }
    }

    const dels = [...this.deletes.values()];
    this.deletes.clear();
    for (const chunk of chunks(dels, WRITE_CHUNK)) {
      if (down) {
        for (const c of chunk) this.deletes.set(c.ruid, c);
        continue;
      }
      try {
        await deleteKeys(db, table, ruidCol, chunk.map((c) => c.ruid));
      } catch (e) {
        if (isDown(e)) {
          down = e;
          for (const c of chunk) this.deletes.set(c.ruid, c);
        } else {
          failed++;
          this.env.log.error({ table, rows: chunk.length, err: (e as Error).message }, 'usrloc: rows not deleted from the DB');
        }
      }
    }

    if (down) {
      if (!this.outage) {
        this.outage = true;
        this.env.log.error(
          { table, err: (down as Error).message, pending: this.dirty.size + this.deletes.size },
          'usrloc: DB unavailable, contacts kept in memory; retrying every timer_interval',
        );
      }
      return false;
    }
    if (this.outage) {
      this.outage = false;
      this.env.log.info({ table }, 'usrloc: DB writes recovered');
    }
    return failed === 0;
  }

  /** a row was written: clean unless the contact changed meanwhile (then the next flush writes it) */
  private written(c: Ucontact, version: number): void {
    if (c.version === version) c.dirty = false;
    else if (!c.removed) this.dirty.add(c);
  }

  // ---------------- DB: load ----------------

  /** load the table (chunked); merges with what memory got meanwhile. Single-flight. */
  load(atStart: boolean): Promise<void> {
    this.loadRun ??= this.doLoad(atStart).finally(() => {
      this.loadRun = null;
    });
    return this.loadRun;
  }

  private async doLoad(atStart: boolean): Promise<void> {
    const db = this.env.db;
    if (!db || this.loaded) return;
    const status = await checkTableVersion(this.env).catch((e: unknown) => {
      this.dbDisabled = true;
      this.loaded = true;
      throw e;
    });
    if (status === 'down') {
      if (atStart) this.env.log.error({ table: this.name }, 'usrloc: DB unavailable at start; table not loaded yet, retrying every timer_interval');
      return;
    }
    if (!this.env.dbLoad) {
      this.loaded = true;
      return;
    }
    let rows = 0;
    try {
      rows = await this.fetchAll((chunk) => {
        for (const r of chunk) this.merge(r);
      });
    } catch (e) {
      if (isDown(e)) {
        if (atStart) this.env.log.error({ table: this.name, err: (e as Error).message }, 'usrloc: DB unavailable at start; retrying every timer_interval');
        return;
      }
      // a broken table (missing columns...) must not stop the proxy: memory only
      this.dbDisabled = true;
      this.loaded = true;
      this.env.log.error({ table: this.name, err: (e as Error).message }, 'usrloc: cannot load the table; it is used in memory only');
      return;
    }
    this.loaded = true;
    this.tombstones.clear();
    this.env.log.info({ table: this.name, rows, users: this.records.size }, 'usrloc: table loaded');
    if (this.deletes.size > 0 || this.dirty.size > 0) this.writeThroughSoon();
  }

  /** rows in chunks of fetch_rows ordered by id (keyset paging); one query if there is no id */
  private async fetchAll(each: (rows: DbRow[]) => void): Promise<number> {
    const db = this.env.db!;
    const limit = this.env.fetchRows;
    let lastId = 0;
    let total = 0;
    for (;;) {
      let chunk: DbRow[];
      try {
        chunk = await db.query(this.name, { where: { id: { op: '>', value: lastId } }, orderBy: 'id', limit });
      } catch (e) {
        if (total === 0 && e instanceof DbError && e.kind === 'query') {
          // no `id` column (older schema): everything at once
          const all = await db.query(this.name);
          each(all);
          return all.length;
        }
        throw e;
      }
      each(chunk);
      total += chunk.length;
      if (chunk.length < limit) return total;
      const id = Number(chunk[chunk.length - 1]!['id']);
      if (!Number.isFinite(id) || id <= lastId) return total;
      lastId = id;
    }
  }

  private merge(row: DbRow): void {
    const c = fromRow(this.env.fmt, row);
    if (!c) return;
    const now = this.env.clock();
    c.maybeInDb = true;
    if (c.ruid === '') {
      // rows written by hand or by older tools: give them a ruid (rewritten on the next flush)
      c.ruid = this.env.ruids.next();
      c.maybeInDb = false;
      void this.env.db!
        .update(this.name, { ...aorKey(this.env.fmt, c.aor), [this.env.fmt.cols.contact]: c.uri, [this.env.fmt.cols.ruid]: '' }, {
          [this.env.fmt.cols.ruid]: c.ruid,
        })
        .then(
          () => {
            c.maybeInDb = true;
          },
          () => undefined,
        );
    }
    const stale =
      !isValid(c, now) ||
      this.tombstones.has(`${c.aor}\n*`) ||
      this.tombstones.has(`${c.aor}\n${c.uri}`) ||
      (this.records.get(c.aor) ?? []).some((x) => x.uri === c.uri || x.ruid === c.ruid);
    if (stale) {
      const known = this.records.get(c.aor)?.some((x) => x.ruid === c.ruid);
      if (!known && c.maybeInDb) this.deletes.set(c.ruid, c);
      return;
    }
    stamp(c);
    this.add(c);
  }
}
