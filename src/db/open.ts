// openDb(url): the driver chosen by the URL scheme, shared per URL. Several modules with the
// same db_url (the seed's `modparam("auth_db|uri_db|usrloc", "db_url", ...)`) get handles on
// one pool; each handle's close() releases its reference and the last one closes the pool.
import type { Logger } from 'pino';
import { DbError, type Db, type DbQuery, type DbRow, type DbValue, type DbWhere } from './db.js';
import type { ColumnDef, TableDef } from './table-def.js';
import { MysqlDb, mysqlDefaults, type MysqlOptions } from './mysql.js';
import { TextDb } from './text.js';
import { maskDbUrl, parseDbUrl } from './url.js';

type Driver = Db & Required<Pick<Db, 'createTable' | 'dropTable' | 'tableColumns' | 'addColumn'>>;

interface Shared {
  db: Driver;
  refs: number;
}

const shared = new Map<string, Shared>();

/** receives the duration of each DB operation (the metrics histogram); null: not timed */
export type DbObserver = (driver: string, op: string, seconds: number) => void;
let observer: DbObserver | null = null;

/** time every DB operation from now on (null stops it); used by the Prometheus metrics */
export function setDbObserver(o: DbObserver | null): void {
  observer = o;
}

/** the operation's promise, its duration reported to the observer when it settles */
function timed<T>(driver: string, op: string, p: Promise<T>): Promise<T> {
  const o = observer;
  if (!o) return p;
  const t0 = performance.now();
  const done = () => o(driver, op, (performance.now() - t0) / 1000);
  p.then(done, done);
  return p;
}

/** process-wide mysql settings (db_mysql module parameters) used by pools opened later */
export function setMysqlOptions(o: Partial<MysqlOptions>): void {
  Object.assign(mysqlDefaults, o);
}

/** a DB handle for `url`; throws DbError('url') for a bad URL. Never connects eagerly. */
export function openDb(url: string, log: Logger): Db {
  const key = url.trim();
  let s = shared.get(key);
  if (!s) {
    const u = parseDbUrl(key);
    const display = maskDbUrl(key);
    const dlog = log.child({ db: display });
    const db: Driver = u.driver === 'mysql' ? new MysqlDb(u, display, dlog) : new TextDb(u.dir, display, dlog);
    s = { db, refs: 0 };
    shared.set(key, s);
  }
  s.refs++;
  return new DbHandle(key, s);
}

/** number of open handles on a URL (tests) */
export function openHandles(url: string): number {
  return shared.get(url.trim())?.refs ?? 0;
}

class DbHandle implements Db {
  private closed = false;
  constructor(
    private readonly key: string,
    private readonly s: Shared,
  ) {}

  /** the shared driver; a closed handle refuses further use */
  private get d(): Driver {
    if (this.closed) throw new DbError('down', `database ${this.s.db.displayUrl}: handle closed`);
    return this.s.db;
  }

  get displayUrl(): string {
    return this.s.db.displayUrl;
  }
  get driver(): 'mysql' | 'text' {
    return this.s.db.driver;
  }
  async query(table: string, q?: DbQuery): Promise<DbRow[]> {
    return timed(this.s.db.driver, 'query', this.d.query(table, q));
  }
  async insert(table: string, row: DbRow): Promise<void> {
    return timed(this.s.db.driver, 'insert', this.d.insert(table, row));
  }
  async upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void> {
    return timed(this.s.db.driver, 'upsert', this.d.upsert(table, row, keyColumns));
  }
  async update(table: string, where: DbWhere, set: DbRow): Promise<number> {
    return timed(this.s.db.driver, 'update', this.d.update(table, where, set));
  }
  async delete(table: string, where: DbWhere): Promise<number> {
    return timed(this.s.db.driver, 'delete', this.d.delete(table, where));
  }
  async raw(sql: string, params?: readonly DbValue[]): Promise<DbRow[]> {
    return timed(this.s.db.driver, 'raw', this.d.raw(sql, params));
  }
  async tableVersion(table: string): Promise<number | null> {
    return this.d.tableVersion(table);
  }
  async createTable(def: TableDef): Promise<void> {
    return this.d.createTable(def);
  }
  async dropTable(name: string): Promise<void> {
    return this.d.dropTable(name);
  }
  async tableColumns(name: string): Promise<string[] | null> {
    return this.d.tableColumns(name);
  }
  async addColumn(table: string, col: ColumnDef): Promise<void> {
    return this.d.addColumn(table, col);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (--this.s.refs > 0) return;
    if (shared.get(this.key) === this.s) shared.delete(this.key);
    await this.s.db.close();
  }
}
