// The usrloc store: its tables (domains), the timer (expiry, write-back flush, DB-only
// purge), statistics and shutdown. Implements the UsrlocApi other modules bind to.
import type { Logger } from 'pino';
import type { Db } from '../../src/db/db.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { Stats } from '../../src/core/stats.js';
import { FL_PERMANENT, type UlDomain, type UsrlocApi } from './api.js';
import { columnsFrom, secondsOf, type RowFormat } from './columns.js';
import { contactOrder, RuidGenerator } from './contact.js';
import { DbOnlyDomain } from './db-domain.js';
import type { DomainEnv } from './domain-env.js';
import { MemDomain } from './mem-domain.js';
import type { UsrlocParams } from './params.js';

export interface StoreOptions {
  params: UsrlocParams;
  log: Logger;
  stats: Stats;
  dialect: Dialect;
  /** null in db_mode 0 */
  db: Db | null;
  /** unix seconds; tests pass a fake clock */
  clock?: () => number;
}

type Domain = MemDomain | DbOnlyDomain;

export class UsrlocStore implements UsrlocApi {
  readonly dbMode: number;
  readonly useDomain: boolean;
  readonly matchingMode: number;
  readonly cseqDelay: number;
  private readonly tables = new Map<string, Domain>();
  private readonly fmt: RowFormat;
  private readonly ruids: RuidGenerator;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private wbTimer: NodeJS.Timeout | null = null;
  private tickRun: Promise<void> | null = null;
  private stopped = false;
  private started = false;

  constructor(private readonly o: StoreOptions) {
    const p = o.params;
    this.dbMode = p.db_mode;
    this.useDomain = p.use_domain;
    this.matchingMode = p.matching_mode;
    this.cseqDelay = p.cseq_delay;
    this.clock = o.clock ?? (() => Math.floor(Date.now() / 1000));
    this.fmt = { cols: columnsFrom(p), useDomain: p.use_domain, intTimes: p.expires_type !== 0 };
    this.ruids = new RuidGenerator(this.clock());
  }

  private get db(): Db | null {
    return this.dbMode === 0 ? null : this.o.db;
  }

  now(): number {
    return this.clock();
  }

  getDomain(name: string): UlDomain {
    return this.domain(name);
  }

  domain(name: string): Domain {
    let d = this.tables.get(name);
    if (d) return d;
    const st = this.o.stats;
    const env: DomainEnv = {
      name,
      dbMode: this.dbMode,
      db: this.db,
      fmt: this.fmt,
      log: this.o.log,
      clock: this.clock,
      ruids: this.ruids,
      order: contactOrder(this.o.params.desc_time_order),
      counters: {
        users: st.counter('usrloc', `${name}-users`),
        contacts: st.counter('usrloc', `${name}-contacts`),
        expires: st.counter('usrloc', `${name}-expires`),
        allUsers: st.counter('usrloc', 'registered_users'),
        allContacts: st.counter('usrloc', 'registered_contacts'),
        allExpired: st.counter('usrloc', 'expired_contacts'),
      },
      fetchRows: this.o.params.fetch_rows,
      rmExpiredDelay: this.o.params.rm_expired_delay,
      dbLoad: this.o.params.db_load,
      versionTable: this.o.params.version_table,
      dialect: this.o.dialect,
    };
    d = this.dbMode === 3 ? new DbOnlyDomain(env) : new MemDomain(env);
    this.tables.set(name, d);
    // a table first used after start: a version problem is logged, not fatal
    d.ready.catch((e: unknown) => {
      if (this.started) this.o.log.error({ table: name, err: (e as Error).message }, 'usrloc: table unusable with the DB');
    });
    return d;
  }

  domains(): readonly UlDomain[] {
    return [...this.tables.values()];
  }

  /**
   * Register and (db_mode 1/2) load the given tables, with those the script's fixups
   * registered already, then start the timer. Rejects when a table has the wrong version
   * (the proxy must not start, as in Kamailio); a DB that is down only delays the load
   * (retried by the timer).
   */
  async start(tables: readonly string[]): Promise<void> {
    for (const t of tables) if (t) this.domain(t);
    await Promise.all([...this.tables.values()].map((d) => d.ready));
    this.started = true;
    const ms = this.o.params.timer_interval * 1000;
    this.timer = setInterval(() => void this.tick(), ms);
    this.timer.unref();
    // db_mode 2: write changes back often, so a crash (SIGKILL) loses at most this window;
    // a flush writes only the contacts changed since the last one, in multi-row batches
    const wb = this.o.params.write_back_interval;
    if (this.dbMode === 2 && wb > 0 && wb < ms) {
      this.wbTimer = setInterval(() => void this.flush().catch(() => undefined), wb);
      this.wbTimer.unref();
    }
  }

  /** one timer run: expire contacts, write back / retry, purge expired rows (db_mode 3) */
  tick(): Promise<void> {
    this.tickRun ??= this.doTick().finally(() => {
      this.tickRun = null;
    });
    return this.tickRun;
  }

  private async doTick(): Promise<void> {
    const now = this.clock();
    for (const d of this.tables.values()) {
      try {
        if (d instanceof MemDomain) {
          d.sweep(now);
          if (this.dbMode === 1 || this.dbMode === 2) await d.flush();
        } else {
          await d.purgeExpired(now);
        }
      } catch (e) {
        this.o.log.warn({ table: d.name, err: (e as Error).message }, 'usrloc: timer run failed');
      }
    }
  }

  async flush(): Promise<boolean> {
    let ok = true;
    for (const d of this.tables.values()) if (d instanceof MemDomain && !(await d.flush())) ok = false;
    return ok;
  }

  /** rows of a table in the DB: distinct AORs with a valid contact, contacts, expired contacts */
  async dbCounts(table: string): Promise<{ users: number; contacts: number; expired: number }> {
    const db = this.db;
    if (!db) return { users: 0, contacts: 0, expired: 0 };
    const c = this.fmt.cols;
    const rows = await db.query(table, { columns: [c.user, c.domain, c.expires, c.flags] });
    const now = this.clock();
    const users = new Set<string>();
    let expired = 0;
    for (const r of rows) {
      const e = secondsOf(r[c.expires]);
      const permanent = e < 2 * 86400 || (Number(r[c.flags] ?? 0) & FL_PERMANENT) !== 0;
      if (!permanent && e <= now) expired++;
      else users.add(`${String(r[c.user] ?? '')}@${this.useDomain ? String(r[c.domain] ?? '') : ''}`);
    }
    return { users: users.size, contacts: rows.length, expired };
  }

  /** clean shutdown: stop the timer, expire, write everything back, close the DB */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.wbTimer) clearInterval(this.wbTimer);
    this.timer = null;
    await this.tickRun?.catch(() => undefined);
    if (this.dbMode === 1 || this.dbMode === 2) {
      const now = this.clock();
      for (const d of this.tables.values()) if (d instanceof MemDomain) d.sweep(now);
      const ok = await this.flush();
      if (!ok) this.o.log.error('usrloc: some contacts could not be written to the DB at shutdown');
    }
    await this.o.db?.close().catch(() => undefined);
  }
}
