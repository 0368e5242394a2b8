// A usrloc table in db_mode 3 (Kamailio DB_ONLY): no cache, every read and write is a query,
// so several proxies can share one location table. Writes are upserts by ruid: if another
// node's expiry purge deleted the row a moment before a refresh, the refresh re-inserts it
// instead of updating nothing. The purge itself is one `DELETE … WHERE expires < now` (atomic
// against concurrent refreshes); permanent contacts (expires = epoch) are kept.
import type { DbRow } from '../../src/db/db.js';
import type { ContactInfo, UlContact, UlDomain } from './api.js';
import { aorKey, fromRow, timeValue, toRow } from './columns.js';
import { isPermanent, Ucontact } from './contact.js';
import { checkTableVersion, type DomainEnv } from './domain-env.js';
import { AorLocks } from './locks.js';

export class DbOnlyDomain implements UlDomain {
  readonly name: string;
  private readonly locks = new AorLocks();
  /** settles after the version check; rejects with TableVersionError */
  readonly ready: Promise<void>;
  private checked = false;

  constructor(private readonly env: DomainEnv) {
    this.name = env.name;
    this.ready = this.check();
    this.ready.catch(() => undefined);
  }

  private async check(): Promise<void> {
    const status = await checkTableVersion(this.env);
    if (status === 'ok') this.checked = true;
    else this.env.log.error({ table: this.name }, 'usrloc: DB unavailable at start; table version not checked yet');
  }

  private get db() {
    const db = this.env.db;
    if (!db) throw new Error('usrloc db_mode 3 needs a db_url');
    return db;
  }

  private async prepared(): Promise<void> {
    if (this.checked) return;
    await this.ready;
    if (!this.checked) {
      // the DB was down at start: check now (throws while it still is)
      if ((await checkTableVersion(this.env)) === 'ok') this.checked = true;
    }
  }

  async get(aor: string): Promise<readonly UlContact[]> {
    await this.prepared();
    const rows = await this.db.query(this.name, { where: aorKey(this.env.fmt, aor) });
    // MySQL compares case-insensitively: rows written by other tools may spell the AOR differently
    const lists = [...this.toContacts(rows).values()];
    if (lists.length <= 1) return lists[0] ?? [];
    return lists.flat().sort(this.env.order);
  }

  lock<T>(aor: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(aor, fn);
  }

  async insert(aor: string, ci: ContactInfo): Promise<UlContact> {
    const c = new Ucontact(aor, this.env.ruids.next());
    c.apply(ci, this.env.clock());
    await this.write(c);
    return c;
  }

  async update(old: UlContact, ci: ContactInfo): Promise<UlContact> {
    const c = new Ucontact(old.aor, old.ruid);
    c.apply(ci, this.env.clock());
    await this.write(c);
    return c;
  }

  private async write(c: Ucontact): Promise<void> {
    await this.prepared();
    await this.db.upsert(this.name, toRow(this.env.fmt, c), [this.env.fmt.cols.ruid]);
  }

  async delete(c: UlContact): Promise<void> {
    await this.prepared();
    await this.db.delete(this.name, { [this.env.fmt.cols.ruid]: c.ruid });
  }

  async remove(aor: string): Promise<number> {
    await this.prepared();
    return this.db.delete(this.name, aorKey(this.env.fmt, aor));
  }

  async dump(): Promise<Map<string, readonly UlContact[]>> {
    await this.prepared();
    return this.toContacts(await this.db.query(this.name));
  }

  async sync(): Promise<void> {
    // every write was already awaited
  }

  counts(): { users: number; contacts: number } {
    return { users: 0, contacts: 0 };
  }

  /**
   * Rows → contacts per AOR, best first. Two proxies saving the same binding at once can
   * leave two rows for one Contact (kamailio#30): the most recent one is used.
   */
  private toContacts(rows: DbRow[]): Map<string, UlContact[]> {
    const out = new Map<string, UlContact[]>();
    for (const r of rows) {
      const c = fromRow(this.env.fmt, r);
      if (!c) continue;
      let list = out.get(c.aor);
      if (!list) out.set(c.aor, (list = []));
      const dup = list.findIndex((x) => x.uri === c.uri);
      if (dup < 0) list.push(c);
      else if (list[dup].lastModified < c.lastModified) list[dup] = c;
    }
    for (const list of out.values()) list.sort(this.env.order);
    return out;
  }

  /** timer: delete expired rows (all proxies sharing the table do the same, harmlessly) */
  async purgeExpired(now: number): Promise<void> {
    await this.prepared();
    const db = this.db;
    const cols = this.env.fmt.cols;
    const cutoff = timeValue(this.env.fmt, now - this.env.rmExpiredDelay);
    // permanent contacts carry the epoch; anything after 1970-01-03 is a real expiry
    const floor = timeValue(this.env.fmt, 2 * 86400);
    if (db.driver === 'mysql') {
      await db.raw(`DELETE FROM \`${this.name}\` WHERE \`${cols.expires}\` < ? AND \`${cols.expires}\` > ?`, [cutoff, floor]);
      return;
    }
    // db_text: one process owns the files, so re-checking under the AOR lock is race-free
    const rows = await db.query(this.name, { where: { [cols.expires]: { op: '<', value: cutoff } } });
    for (const r of rows) {
      const c = fromRow(this.env.fmt, r);
      if (!c || isPermanent(c)) continue;
      await this.lock(c.aor, async () => {
        const cur = (await this.get(c.aor)).find((x) => x.ruid === c.ruid);
        if (cur && !isPermanent(cur) && cur.expires <= now - this.env.rmExpiredDelay) await this.delete(cur);
      });
    }
  }
}
