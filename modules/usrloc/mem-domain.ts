// A usrloc table kept in memory (db_mode 0, 1, 2), with the DB write path of modes 1/2.
//
// Every change marks the contact dirty (a flag; the contact is queued once in a list) or
// queues its ruid for deletion; flush() writes them. Flushes are single-flight (a flush
// asked for while one runs is coalesced into one that starts right after), so two flushes
// never write the same row at once, and rows are written by ruid upsert (INSERT … ON
// DUPLICATE KEY UPDATE), so a retry or a row already there never collides on the unique
// key. Expired contacts are removed from memory synchronously and their rows deleted by
// ruid — never a blanket `DELETE … WHERE expires < now`, which could delete a row refreshed
// meanwhile (kamailio#2455). A contact changed again while its row was being written (its
// change sequence moved on) stays dirty for the next flush. When the DB is down, contacts
// stay dirty in memory, one error is logged per outage, and the next timer run retries.
//
// Memory: an AOR with one contact (most of them) maps straight to it, not to a list.
import { DbError, type DbRow, type DbValue } from '../../src/db/db.js';
import type { ContactInfo, UlContact, UlDomain } from './api.js';
import { aorKey, fromRow, rowColumns, rowObject, rowValues } from './columns.js';
import { isPermanent, isValid, seqOrder, stamp, Ucontact } from './contact.js';
import { checkTableVersion, isDown, type DomainEnv } from './domain-env.js';
import { AorLocks } from './locks.js';
import { batches, chunks, deleteKeys, upsertBatch, WRITE_CHUNK } from './db-write.js';

/** shared empty answer: callers never mutate what get() returns */
const NONE: readonly UlContact[] = Object.freeze([]);

/** an AOR's contacts: the contact itself when it has one (most do), else a list, best first */
type Record_ = Ucontact | Ucontact[];

function listOf(r: Record_): readonly Ucontact[] {
  return r instanceof Ucontact ? [r] : r;
}

export class MemDomain implements UlDomain {
  readonly name: string;
  private readonly records = new Map<string, Record_>();
  /** contacts to write (each once: Ucontact.queued); removed or clean ones are skipped */
  private queue: Ucontact[] = [];
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
    if (!this.loaded) return this.ready.catch(() => undefined).then(() => this.copy(aor));
    return this.copy(aor);
  }

  private copy(aor: string): readonly UlContact[] {
    const r = this.records.get(aor);
    if (r === undefined) return NONE;
    return r instanceof Ucontact ? [r] : r.slice();
  }

  lock<T>(aor: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(aor, fn);
  }

  async insert(aor: string, ci: ContactInfo): Promise<UlContact> {
    const c = this.env.ruids.contact(aor);
    c.apply(ci, this.env.clock());
    this.add(c);
    this.markDirty(c);
    return c;
  }

  async update(old: UlContact, ci: ContactInfo): Promise<UlContact> {
    const c = this.find(old);
    if (!c) return this.insert(old.aor, ci);
    c.apply(ci, this.env.clock());
    const r = this.records.get(c.aor)!;
    if (!(r instanceof Ucontact)) r.sort(this.order);
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
    const r = this.records.get(aor);
    if (!r) return 0;
    const list = r instanceof Ucontact ? [r] : [...r];
    for (const c of list) this.drop(c);
    return list.length;
  }

  async dump(): Promise<Map<string, readonly UlContact[]>> {
    if (!this.loaded) await this.ready.catch(() => undefined);
    return new Map([...this.records].map(([k, v]) => [k, v instanceof Ucontact ? [v] : [...v]]));
  }

  async sync(): Promise<void> {
    if (this.env.dbMode === 1 && this.writes) await this.flush();
  }

  counts(): { users: number; contacts: number } {
    let contacts = 0;
    for (const r of this.records.values()) contacts += r instanceof Ucontact ? 1 : r.length;
    return { users: this.records.size, contacts };
  }

  // ---------------- memory ----------------

  // newest first among equal keys: a global sequence breaks ties within one second
  private readonly order = (a: Ucontact, b: Ucontact): number => this.env.order(a, b) || seqOrder(a.seq, b.seq);

  private find(c: UlContact): Ucontact | undefined {
    const r = this.records.get(c.aor);
    if (r === undefined) return undefined;
    if (r instanceof Ucontact) return r === c || r.sameRuid(c) ? r : undefined;
    return r.find((x) => x === c) ?? r.find((x) => x.sameRuid(c));
  }

  private add(c: Ucontact): void {
    const r = this.records.get(c.aor);
    if (r === undefined) {
      this.records.set(c.aor, c);
      this.env.counters.users.value++;
      this.env.counters.allUsers.value++;
    } else if (r instanceof Ucontact) {
      // the record's key stays the string the first contact brought
      this.records.set(r.aor, [r, c].sort(this.order));
    } else {
      r.push(c);
      r.sort(this.order);
    }
    this.env.counters.contacts.value++;
    this.env.counters.allContacts.value++;
  }

  private drop(c: Ucontact): void {
    const r = this.records.get(c.aor);
    if (r === undefined) return;
    if (r instanceof Ucontact) {
      if (r !== c) return;
      this.records.delete(c.aor);
      this.env.counters.users.value--;
      this.env.counters.allUsers.value--;
    } else {
      const i = r.indexOf(c);
      if (i < 0) return;
      r.splice(i, 1);
      if (r.length === 1) this.records.set(c.aor, r[0]);
    }
    this.env.counters.contacts.value--;
    this.env.counters.allContacts.value--;
    c.removed = true;
    c.dirty = false;
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
    this.enqueue(c);
    this.writeThroughSoon();
  }

  /** into the list of contacts to write, once */
  private enqueue(c: Ucontact): void {
    if (c.queued || c.removed) return;
    c.queued = true;
    this.queue.push(c);
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
    for (const r of this.records.values()) {
      if (r instanceof Ucontact) {
        if (!isPermanent(r) && r.expires <= limit) gone.push(r);
      } else {
        for (const c of r) if (!isPermanent(c) && c.expires <= limit) gone.push(c);
      }
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
    const fmt = this.env.fmt;
    const ruidCol = fmt.cols.ruid;
    const cols = rowColumns(fmt);
    let down: unknown = null;
    let failed = 0;

    const queued = this.queue;
    this.queue = [];
    const batch: Ucontact[] = [];
    for (const c of queued) {
      c.queued = false;
      if (c.dirty && !c.removed) batch.push(c);
    }
    for (const chunk of chunks(batch, WRITE_CHUNK)) {
      if (down) {
        for (const c of chunk) this.enqueue(c);
        continue;
      }
      // the batches of a chunk go out together (MySQL: the driver spreads them over its
      // connections; they write different rows), so write-through waits one round trip
      const parts = batches(db, chunk).map((contacts) => {
        // the change each row shows: a contact changed meanwhile stays dirty
        const seqs = contacts.map((c) => c.seq);
        const values: DbValue[] = [];
        for (const c of contacts) {
          c.maybeInDb = true;
          rowValues(fmt, c, values);
        }
        return { contacts, seqs, values };
      });
      const results = await Promise.allSettled(parts.map((p) => upsertBatch(db, table, cols, p.values, ruidCol)));
      for (let i = 0; i < parts.length; i++) {
        const { contacts, seqs, values } = parts[i];
        const r = results[i];
        if (r.status === 'fulfilled') {
          for (let k = 0; k < contacts.length; k++) this.written(contacts[k], seqs[k]);
          continue;
        }
        if (down || isDown(r.reason)) {
          down ??= r.reason;
          for (const c of contacts) this.enqueue(c);
          continue;
        }
        // one bad row fails the whole statement: find it row by row
        for (let k = 0; k < contacts.length; k++) {
          const c = contacts[k];
          if (down) {
            this.enqueue(c);
            continue;
          }
          try {
            await db.upsert(table, rowObject(cols, values, k), [ruidCol]);
            this.written(c, seqs[k]);
          } catch (e2) {
            if (isDown(e2)) {
              down = e2;
              this.enqueue(c);
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
          { table, err: (down as Error).message, pending: this.queue.length + this.deletes.size },
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
  private written(c: Ucontact, seq: number): void {
    if (c.seq === seq) c.dirty = false;
    else this.enqueue(c);
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
    if (this.deletes.size > 0 || this.queue.length > 0) this.writeThroughSoon();
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
      const id = Number(chunk[chunk.length - 1]['id']);
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
    const mine = this.records.get(c.aor);
    const have = mine === undefined ? NONE : listOf(mine);
    const stale =
      !isValid(c, now) ||
      this.tombstones.has(`${c.aor}\n*`) ||
      this.tombstones.has(`${c.aor}\n${c.uri}`) ||
      have.some((x) => x.uri === c.uri || x.ruid === c.ruid);
    if (stale) {
      const known = have.some((x) => x.ruid === c.ruid);
      if (!known && c.maybeInDb) this.deletes.set(c.ruid, c);
      return;
    }
    stamp(c);
    this.add(c);
  }
}
