// mysql:// driver: a mysql2 pool with prepared statements (`execute`). Connection-class
// failures become DbError('down') and start a backoff window during which queries fail at
// once (no hanging callers); after the window one query probes, and success ends the outage.
// Like Kamailio db_mysql (issue #406), a query that hit a stale pooled connection is retried
// once on a fresh one.
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from 'pino';
import { DbError, type Db, type DbQuery, type DbRow, type DbValue, type DbWhere } from './db.js';
import type { ColumnDef, TableDef } from './table-def.js';
import { mysqlDdl } from './schema.js';
import { parseDbUrl, type MysqlUrl } from './url.js';

export interface MysqlOptions {
  /** TCP connect + handshake limit, ms (Kamailio db_mysql timeout_interval) */
  connectTimeout: number;
  /** a query with no answer for this long fails and its connection is dropped, ms */
  queryTimeout: number;
  /** pool size */
  connectionLimit: number;
  /** first and largest wait between reconnect attempts, ms */
  backoffMin: number;
  backoffMax: number;
}

export const mysqlDefaults: MysqlOptions = {
  connectTimeout: 2000,
  queryTimeout: 5000,
  connectionLimit: 4,
  backoffMin: 200,
  backoffMax: 5000,
};

/** errors that mean "the server is not reachable / the connection broke" */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
]);
/** a pooled connection the server had already closed: worth one retry on a new one */
const STALE_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR']);

interface ErrorLike {
  code?: string;
  fatal?: boolean;
  message: string;
}

function asErr(e: unknown): ErrorLike {
  if (e instanceof Error) return e as Error & ErrorLike;
  return { message: String(e) };
}

export function isConnectionError(e: unknown): boolean {
  const err = asErr(e);
  return err.fatal === true || (err.code !== undefined && CONNECTION_CODES.has(err.code));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** `name` or `db.name` quoted with backticks; anything else is refused (no SQL from scripts) */
export function quoteIdent(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) throw new DbError('query', `bad table or column name "${name}"`);
  return parts.map((p) => `\`${p}\``).join('.');
}

function whereSql(where: DbWhere | undefined, params: DbValue[]): string {
  if (!where) return '';
  const parts: string[] = [];
  for (const [col, v] of Object.entries(where)) {
    const q = quoteIdent(col);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      if (v.value === null) {
        if (v.op !== '!=') throw new DbError('query', `cannot compare ${col} ${v.op} NULL`);
        parts.push(`${q} IS NOT NULL`);
      } else {
        parts.push(`${q} ${v.op} ?`);
        params.push(v.value);
      }
    } else if (v === null) parts.push(`${q} IS NULL`);
    else {
      parts.push(`${q} = ?`);
      params.push(v);
    }
  }
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

function orderSql(orderBy: string | undefined): string {
  if (!orderBy) return '';
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/i.exec(orderBy);
  if (!m) throw new DbError('query', `bad orderBy "${orderBy}"`);
  return ` ORDER BY ${quoteIdent(m[1]!)}${m[2] ? ` ${m[2].toUpperCase()}` : ''}`;
}

function toRow(r: Record<string, unknown>): DbRow {
  const out: DbRow = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === null || v === undefined) out[k] = null;
    else if (typeof v === 'string' || typeof v === 'number' || v instanceof Date) out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number(v);
    else if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
    else out[k] = String(v);
  }
  return out;
}

export class MysqlDb implements Db {
  readonly driver = 'mysql' as const;
  private readonly pool: Pool;
  private readonly opts: MysqlOptions;
  private downUntil = 0;
  private backoff = 0;
  private probing = false;
  private closed = false;
  private readonly guarded = new WeakSet<object>();

  constructor(
    cfg: MysqlUrl,
    readonly displayUrl: string,
    private readonly log: Logger,
    opts: Partial<MysqlOptions> = {},
  ) {
    this.opts = { ...mysqlDefaults, ...opts };
    this.pool = mysql.createPool({
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database: cfg.database,
      connectTimeout: this.opts.connectTimeout,
      connectionLimit: this.opts.connectionLimit,
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      idleTimeout: 60000,
      charset: 'utf8mb4',
    });
  }

  /** true while in a backoff window after a connection failure */
  get isDown(): boolean {
    return this.backoff > 0;
  }

  // ---- connection handling ----

  private markDown(e: unknown): never {
    const first = this.backoff === 0;
    const err = asErr(e);
    // concurrent failures of one outage widen the window only once
    if (!first && Date.now() < this.downUntil) throw new DbError('down', `database ${this.displayUrl} unreachable: ${err.code ?? err.message}`);
    this.backoff = first ? this.opts.backoffMin : Math.min(this.backoff * 2, this.opts.backoffMax);
    this.downUntil = Date.now() + this.backoff;
    if (first) this.log.error({ db: this.displayUrl, code: err.code, err: err.message }, 'database unreachable, will retry');
    else this.log.debug({ db: this.displayUrl, code: err.code, retryMs: this.backoff }, 'database still unreachable');
    throw new DbError('down', `database ${this.displayUrl} unreachable: ${err.code ?? err.message}`);
  }

  private markUp(): void {
    if (this.backoff === 0) return;
    this.backoff = 0;
    this.downUntil = 0;
    this.log.warn({ db: this.displayUrl }, 'database connection restored');
  }

  private async connection(): Promise<PoolConnection> {
    const conn = await this.pool.getConnection();
    // a pooled connection that breaks while idle emits 'error' more than once; never let it
    // reach the process as an unhandled event
    const raw = (conn as unknown as { connection?: { on?: (ev: string, f: (e: unknown) => void) => void } }).connection;
    if (raw && typeof raw.on === 'function' && !this.guarded.has(raw)) {
      this.guarded.add(raw);
      raw.on('error', (e: unknown) => this.log.debug({ db: this.displayUrl, err: asErr(e).message }, 'pooled connection error'));
    }
    return conn;
  }

  private async once(sql: string, params: readonly DbValue[], prepared: boolean): Promise<unknown> {
    const conn = await this.connection();
    try {
      const opts = { sql, timeout: this.opts.queryTimeout };
      const [rows] = prepared ? await conn.execute(opts, params as DbValue[]) : await conn.query(opts, params as DbValue[]);
      conn.release();
      return rows;
    } catch (e) {
      // a timed-out or broken connection may still have our query in flight: never reuse it
      if (isConnectionError(e)) conn.destroy();
      else conn.release();
      throw e;
    }
  }

  /** run one statement with the outage rules above */
  private async run(sql: string, params: readonly DbValue[] = [], prepared = true): Promise<unknown> {
    if (this.closed) throw new DbError('down', `database ${this.displayUrl}: handle closed`);
    if (this.backoff > 0 && (Date.now() < this.downUntil || this.probing)) {
      throw new DbError('down', `database ${this.displayUrl} unreachable (retrying)`);
    }
    const wasDown = this.backoff > 0;
    if (wasDown) this.probing = true;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await this.once(sql, params, prepared);
          this.markUp();
          return r;
        } catch (e) {
          if (!isConnectionError(e)) {
            this.markUp(); // the server answered: it is up, the statement was wrong
            const err = asErr(e);
            if (err.code === 'ER_UNSUPPORTED_PS' && prepared) return await this.run(sql, params, false);
            throw new DbError('query', `${err.code ?? 'error'}: ${err.message}`);
          }
          if (attempt === 0 && !wasDown && STALE_CODES.has(asErr(e).code ?? '')) continue;
          this.markDown(e);
        }
      }
    } finally {
      if (wasDown) this.probing = false;
    }
  }

  private async rows(sql: string, params: readonly DbValue[] = []): Promise<DbRow[]> {
    const r = await this.run(sql, params);
    return Array.isArray(r) ? (r as Record<string, unknown>[]).map(toRow) : [];
  }

  private async affected(sql: string, params: readonly DbValue[]): Promise<number> {
    const r = (await this.run(sql, params)) as { affectedRows?: number };
    return r.affectedRows ?? 0;
  }

  // ---- Db ----

  async query(table: string, q: DbQuery = {}): Promise<DbRow[]> {
    const params: DbValue[] = [];
    const cols = q.columns?.length ? q.columns.map(quoteIdent).join(', ') : '*';
    let sql = `SELECT ${cols} FROM ${quoteIdent(table)}${whereSql(q.where, params)}${orderSql(q.orderBy)}`;
    if (q.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(q.limit))}`;
    return this.rows(sql, params);
  }

  async insert(table: string, row: DbRow): Promise<void> {
    const keys = Object.keys(row);
    if (keys.length === 0) throw new DbError('query', 'insert without columns');
    const sql = `INSERT INTO ${quoteIdent(table)} (${keys.map(quoteIdent).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`;
    await this.run(sql, keys.map((k) => row[k]!));
  }

  async upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void> {
    const keys = Object.keys(row);
    const updates = keys.filter((k) => !keyColumns.includes(k));
    const set = (updates.length ? updates : keys.slice(0, 1)).map((k) => `${quoteIdent(k)} = VALUES(${quoteIdent(k)})`);
    const sql =
      `INSERT INTO ${quoteIdent(table)} (${keys.map(quoteIdent).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})` +
      ` ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
    await this.run(sql, keys.map((k) => row[k]!));
  }

  async update(table: string, where: DbWhere, set: DbRow): Promise<number> {
    const keys = Object.keys(set);
    if (keys.length === 0) return 0;
    const params: DbValue[] = keys.map((k) => set[k]!);
    const sql = `UPDATE ${quoteIdent(table)} SET ${keys.map((k) => `${quoteIdent(k)} = ?`).join(', ')}${whereSql(where, params)}`;
    return this.affected(sql, params);
  }

  async delete(table: string, where: DbWhere): Promise<number> {
    const params: DbValue[] = [];
    return this.affected(`DELETE FROM ${quoteIdent(table)}${whereSql(where, params)}`, params);
  }

  async raw(sql: string, params: readonly DbValue[] = []): Promise<DbRow[]> {
    return this.rows(sql, params);
  }

  async tableVersion(table: string): Promise<number | null> {
    try {
      const r = await this.rows('SELECT `table_version` FROM `version` WHERE `table_name` = ?', [table]);
      if (r.length === 0) return null;
      const v = Number(r[0]!.table_version);
      return Number.isFinite(v) ? v : null;
    } catch (e) {
      if (e instanceof DbError && e.kind === 'query' && e.message.startsWith('ER_NO_SUCH_TABLE')) return null;
      throw e;
    }
  }

  async createTable(def: TableDef): Promise<void> {
    for (const stmt of mysqlDdl(def)) await this.run(stmt, [], false);
  }

  async dropTable(name: string): Promise<void> {
    await this.run(`DROP TABLE IF EXISTS ${quoteIdent(name)}`, [], false);
  }

  async tableColumns(name: string): Promise<string[] | null> {
    const r = await this.rows(
      'SELECT `COLUMN_NAME` AS name FROM information_schema.COLUMNS WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ? ORDER BY `ORDINAL_POSITION`',
      [name],
    );
    return r.length === 0 ? null : r.map((x) => String(x.name));
  }

  async addColumn(table: string, col: ColumnDef): Promise<void> {
    const ddl = mysqlDdl({ name: table, version: 0, columns: [col] })[0]!;
    const spec = /\(\n\s+([\s\S]*)\n\)$/.exec(ddl)![1]!;
    await this.run(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${spec}`, [], false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

/** CREATE DATABASE IF NOT EXISTS for a mysql:// URL (tserctl db create, like kamdbctl) */
export async function createMysqlDatabase(url: string): Promise<void> {
  const u = parseDbUrl(url);
  if (u.driver !== 'mysql') return;
  let conn: mysql.Connection | null = null;
  try {
    conn = await mysql.createConnection({ host: u.host, port: u.port, user: u.user, password: u.password, connectTimeout: mysqlDefaults.connectTimeout });
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(u.database)}`);
  } catch (e) {
    const err = asErr(e);
    throw new DbError(isConnectionError(e) ? 'down' : 'query', err.code ?? err.message);
  } finally {
    await conn?.end().catch(() => undefined);
  }
}
