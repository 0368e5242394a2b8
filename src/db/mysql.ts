// mysql:// driver on mysql2's callback API: a fixed set of `connectionLimit` connections
// (opened on demand), each query given to the least busy one, with prepared statements
// (mysql2 caches them per connection). One promise per query (the caller's), SQL text cached
// per query shape, rows handed over as mysql2 builds them.
//
// mysql2 queues commands on a connection but writes the next one only after the previous
// answer (no pipelining on the wire), so queueing several per connection gains nothing
// (scripts/bench-db.mjs: same queries/s and CPU within noise) and puts queries behind a slow
// one: by default (`pipelineDepth` 1) a connection carries one query and the others wait
// here for the first free connection.
//
// Bounded: at most `maxPending` queries admitted (in flight + waiting); past it a query
// fails at once with DbError('down', '... busy ...'), like an unreachable DB, so callers
// answer with their DB-error code instead of piling up; a query that found no free
// connection within `queryTimeout` fails the same way. A connection with a query out and no
// answer for `queryTimeout` is destroyed and its queries fail; the others go on.
//
// Outages: connection-class failures become DbError('down'); while down, the first query
// that finds no reconnect attempt out becomes one (a probe: it reconnects and runs), the
// others fail at once (no hanging callers), and the probe's success ends the outage. So the
// first query after the server is back reconnects at once, as in Kamailio, with no backoff
// timer to wait out; attempts are single-flight (one more may start every `backoffMin` while
// the one out hangs, up to one per connection). Like Kamailio db_mysql (issue #406), a query
// that hit a stale connection is retried once on a fresh one. A connection that breaks while idle is
// reopened in the background; connection errors never reach the process as 'error' events.
import mysql from 'mysql2';
import type { Connection, FieldPacket, QueryError } from 'mysql2';
import type { Logger } from 'pino';
import { DbError, type Db, type DbQuery, type DbRow, type DbValue, type DbWhere } from './db.js';
import type { ColumnDef, TableDef } from './table-def.js';
import { mysqlDdl } from './schema.js';
import { parseDbUrl, type MysqlUrl } from './url.js';

export interface MysqlOptions {
  /** TCP connect + handshake limit, ms (Kamailio db_mysql timeout_interval) */
  connectTimeout: number;
  /** a connection with queries out and no answer for this long is dropped, its queries fail, ms */
  queryTimeout: number;
  /** number of connections */
  connectionLimit: number;
  /** while down: a reconnect attempt that has hung this long lets another one start, ms */
  backoffMin: number;
  /** while down: "still unreachable" is logged (debug) at most this often, ms */
  backoffMax: number;
  /** queries admitted at once (sent + waiting); past it a query fails at once ('busy') */
  maxPending: number;
  /** queries handed to one connection at once (mysql2 queues them and sends one at a time) */
  pipelineDepth: number;
}

export const mysqlDefaults: MysqlOptions = {
  connectTimeout: 2000,
  queryTimeout: 5000,
  connectionLimit: 4,
  backoffMin: 200,
  backoffMax: 5000,
  maxPending: 512,
  pipelineDepth: 1,
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
/** a connection the server had already closed: worth one retry on a new one */
const STALE_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR']);

interface ErrorLike {
  code?: string;
  fatal?: boolean;
  message: string;
}

function asErr(e: unknown): ErrorLike {
  if (e instanceof Error) return e;
  return { message: String(e) };
}

/** a DbError without a captured stack: refusals (busy, outage window) come by the thousand under load */
function refusal(message: string): DbError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DbError('down', message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isConnectionError(e: unknown): boolean {
  const err = asErr(e);
  return err.fatal === true || (err.code !== undefined && CONNECTION_CODES.has(err.code));
}

// ---- SQL text ----

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const OPS = new Set(['<', '<=', '>', '>=', '!=', '=']);

/** `name` or `db.name` quoted with backticks; anything else is refused (no SQL from scripts) */
export function quoteIdent(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) throw new DbError('query', `bad table or column name "${name}"`);
  return parts.map((p) => `\`${p}\``).join('.');
}

function whereSql(where: DbWhere | undefined): string {
  if (!where) return '';
  const parts: string[] = [];
  for (const col in where) {
    const v = where[col];
    const q = quoteIdent(col);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      if (!OPS.has(v.op)) throw new DbError('query', `bad operator "${String(v.op)}" for ${col}`);
      if (v.value === null) {
        if (v.op !== '!=') throw new DbError('query', `cannot compare ${col} ${v.op} NULL`);
        parts.push(`${q} IS NOT NULL`);
      } else parts.push(`${q} ${v.op} ?`);
    } else if (v === null) parts.push(`${q} IS NULL`);
    else parts.push(`${q} = ?`);
  }
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

function orderSql(orderBy: string | undefined): string {
  if (!orderBy) return '';
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/i.exec(orderBy);
  if (!m) throw new DbError('query', `bad orderBy "${orderBy}"`);
  return ` ORDER BY ${quoteIdent(m[1])}${m[2] ? ` ${m[2].toUpperCase()}` : ''}`;
}

function selectSql(table: string, q: DbQuery): string {
  const cols = q.columns?.length ? q.columns.map(quoteIdent).join(', ') : '*';
  let sql = `SELECT ${cols} FROM ${quoteIdent(table)}${whereSql(q.where)}${orderSql(q.orderBy)}`;
  if (q.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(q.limit))}`;
  return sql;
}

function insertSql(table: string, keys: readonly string[]): string {
  return `INSERT INTO ${quoteIdent(table)} (${keys.map(quoteIdent).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`;
}

function upsertSql(table: string, keys: readonly string[], keyColumns: readonly string[]): string {
  const updates = keys.filter((k) => !keyColumns.includes(k));
  const set = (updates.length ? updates : keys.slice(0, 1)).map((k) => `${quoteIdent(k)} = VALUES(${quoteIdent(k)})`);
  return `${insertSql(table, keys)} ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
}

function updateSql(table: string, keys: readonly string[], where: DbWhere): string {
  return `UPDATE ${quoteIdent(table)} SET ${keys.map((k) => `${quoteIdent(k)} = ?`).join(', ')}${whereSql(where)}`;
}

// The SQL text per query shape, in a trie walked with the names the caller passes (Map
// lookups of strings whose hash V8 has already computed): a repeated query builds no string
// and runs no regex. Symbols separate the parts, so no name can fake another shape.
const END = Symbol('end');
const NONE = Symbol('none');
const IS_NULL = Symbol('is-null');
const NOT_NULL = Symbol('not-null');
type Key = string | number | symbol;

class Node {
  next: Map<Key, Node> | undefined = undefined;
  sql: string | undefined = undefined;
}

/** shapes past this many trie nodes: start over (bounds memory if names vary per call) */
const MAX_NODES = 20000;

class SqlCache {
  select = new Node();
  insert = new Node();
  upsert = new Node();
  update = new Node();
  delete = new Node();
  private nodes = 0;

  step(n: Node, k: Key): Node {
    let m = n.next;
    if (m === undefined) m = n.next = new Map();
    let c = m.get(k);
    if (c === undefined) {
      if (++this.nodes > MAX_NODES) this.reset();
      c = new Node();
      m.set(k, c);
    }
    return c;
  }

  private reset(): void {
    this.nodes = 0;
    this.select = new Node();
    this.insert = new Node();
    this.upsert = new Node();
    this.update = new Node();
    this.delete = new Node();
  }

  /** walk the where shape, appending its values to params */
  where(n: Node, where: DbWhere | undefined, params: DbValue[]): Node {
    if (where === undefined) return n;
    for (const col in where) {
      const v = where[col]!;
      n = this.step(n, col);
      if (v === null) n = this.step(n, IS_NULL);
      else if (typeof v === 'object' && !(v instanceof Date)) {
        if (v.value === null) {
          if (v.op !== '!=') throw new DbError('query', `cannot compare ${col} ${v.op} NULL`);
          n = this.step(n, NOT_NULL);
        } else {
          n = this.step(n, v.op);
          params.push(v.value);
        }
      } else {
        n = this.step(n, '=');
        params.push(v);
      }
    }
    return n;
  }
}

// ---- rows ----

interface FieldLike {
  columnType?: number;
  characterSet?: number;
  extendedFormat?: string;
  name: string;
}

/** mysql2 column types whose values are always string/number/Date/null (1), or strings unless binary (2) */
const SAFE_TYPE = new Uint8Array(256);
for (const t of [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xf6]) SAFE_TYPE[t] = 1;
for (const t of [0x0f, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe]) SAFE_TYPE[t] = 2;
const BINARY_CHARSET = 63;

function toValue(v: unknown): DbValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || v instanceof Date) return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function copyRow(r: Record<string, unknown>): DbRow {
  const out: DbRow = {};
  for (const [k, v] of Object.entries(r)) out[k] = toValue(v);
  return out;
}

/**
 * mysql2's rows as DbRows: they are fresh plain objects, so only the values of columns that
 * can hold something else (BIGINT, binary strings, BIT, JSON...) are looked at, in place.
 */
function toRows(res: unknown, fields: readonly FieldLike[] | undefined): DbRow[] {
  if (!Array.isArray(res)) return [];
  const rows = res as Record<string, unknown>[];
  if (rows.length === 0) return rows as DbRow[];
  if (fields === undefined || Array.isArray(fields[0])) return rows.map(copyRow); // several result sets
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const safe = SAFE_TYPE[(f.columnType ?? 0xff) & 0xff];
    if (safe === 1 || (safe === 2 && f.characterSet !== BINARY_CHARSET && f.extendedFormat !== 'json')) continue;
    const name = f.name;
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j];
      const v = r[name];
      if (v === null || typeof v === 'string' || typeof v === 'number' || v instanceof Date) continue;
      r[name] = toValue(v);
    }
  }
  return rows as DbRow[];
}

// ---- queries and connections ----

const enum Mode {
  Rows,
  Affected,
  Void,
}

/** a sync throw (bad name, bad value) as the query's rejection */
function rejected(e: unknown): Promise<never> {
  return Promise.reject(e instanceof Error ? e : new Error(String(e)));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one resolver type for every result shape
type Settle = (v: any) => void;
let grabbedRes: Settle = () => undefined;
let grabbedRej: Settle = () => undefined;
/** Promise executor that allocates no closure: the caller picks resolve/reject up at once */
function grab(res: Settle, rej: Settle): void {
  grabbedRes = res;
  grabbedRej = rej;
}

class Req {
  res: Settle = grabbedRes;
  rej: Settle = grabbedRej;
  /** 1 after the stale-connection retry */
  attempt = 0;
  /** when it started waiting for a free connection */
  queuedAt = 0;
  /** sent with conn.execute(): fetch the statement handle once it worked */
  fresh = false;
  constructor(
    readonly sql: string,
    readonly params: readonly DbValue[],
    readonly mode: Mode,
    public prepared: boolean,
    /** a query that, while the DB is down, reconnects */
    public probe: boolean,
  ) {}
}

/** FIFO ring buffer (the queries sent on one connection, or waiting for one) */
class Fifo<T> {
  private buf: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  length = 0;

  push(x: T): void {
    if (this.length === this.buf.length) {
      const old = this.buf;
      this.buf = new Array<T | undefined>(old.length * 2);
      for (let i = 0; i < this.length; i++) this.buf[i] = old[(this.head + i) & (old.length - 1)];
      this.head = 0;
    }
    this.buf[(this.head + this.length++) & (this.buf.length - 1)] = x;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const x = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.length--;
    return x;
  }

  /** remove the newest entry if it is `x` */
  dropLast(x: T): boolean {
    if (this.length === 0) return false;
    const i = (this.head + this.length - 1) & (this.buf.length - 1);
    if (this.buf[i] !== x) return false;
    this.buf[i] = undefined;
    this.length--;
    return true;
  }
}

type ResultCb = (err: QueryError | null, res: unknown, fields?: FieldPacket[]) => void;

/** mysql2's prepared statement handle (its typings lack `query`) */
interface Statement {
  query: string;
  execute(params: readonly DbValue[], cb: ResultCb): unknown;
}

/**
 * statement handles kept per connection: past this many the map starts over. Below
 * mysql2's own per-connection cache (maxPreparedStatements), so a handle kept here was never
 * evicted (closed) there. That cache allocates its full size up front (four arrays of
 * maxPreparedStatements slots per connection: 16000, mysql2's default, cost 0.5 MB each).
 */
const MAX_STATEMENTS = 1000;
const MYSQL2_MAX_STATEMENTS = 1024;

/** one connection of the set; `conn` is replaced when it breaks */
class Slot {
  conn: Connection | null = null;
  /** handshake done (a failure before it means the server is unreachable) */
  connected = false;
  connectedAt = 0;
  /** queries sent on `conn`, answered in this order */
  readonly sent = new Fifo<Req>();
  /** last answer, or when the first of `sent` went out */
  lastProgress = 0;
  timer: NodeJS.Timeout | null = null;
  /** prepared statement handles on `conn` by SQL text: executed without mysql2's per-call
   *  prepare-cache lookup, options copies and statement key string */
  stmts = new Map<string, Statement>();
  /** mysql2 callback for every query on `conn` (bound once per connection) */
  onResult: ResultCb = () => undefined;
  onPrepared: (err: QueryError | null, stmt: Statement) => void = () => undefined;
  onTimer: () => void = () => undefined;
  /** close(): resolves when `conn` has ended */
  quit: (() => void) | null = null;
}

function destroyConnection(c: Connection): void {
  try {
    c.destroy();
  } catch {
    // already closed
  }
  // mysql2's destroy() only half-closes: do not leave a socket to an unanswering peer behind
  (c as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

function timeoutError(ms: number): ErrorLike {
  return { code: 'PROTOCOL_SEQUENCE_TIMEOUT', fatal: true, message: `no answer for ${ms} ms` };
}

export interface MysqlStats {
  /** queries admitted and not settled (sent + waiting) */
  pending: number;
  /** queries waiting for a connection below pipelineDepth */
  waiting: number;
  /** open (or opening) connections */
  connections: number;
}

export class MysqlDb implements Db {
  readonly driver = 'mysql' as const;
  private readonly opts: MysqlOptions;
  private readonly connOpts: mysql.ConnectionOptions;
  private readonly slots: Slot[] = [];
  private readonly waiting = new Fifo<Req>();
  private readonly sqlCache = new SqlCache();
  private next = 0;
  private pending = 0;
  private downUntil = 0;
  private backoff = 0;
  /** reconnect attempts (probes) out while down, and when the last one started */
  private probes = 0;
  private lastProbeAt = 0;
  private closed = false;
  private busyLogged = false;

  constructor(
    cfg: MysqlUrl,
    readonly displayUrl: string,
    private readonly log: Logger,
    opts: Partial<MysqlOptions> = {},
  ) {
    this.opts = { ...mysqlDefaults, ...opts };
    this.connOpts = {
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      password: cfg.password,
      database: cfg.database,
      connectTimeout: this.opts.connectTimeout,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      maxPreparedStatements: MYSQL2_MAX_STATEMENTS,
    };
    for (let i = 0; i < Math.max(1, this.opts.connectionLimit); i++) {
      const s = new Slot();
      s.onTimer = () => this.timerFired(s);
      this.slots.push(s);
    }
  }

  /** true from a connection failure until a query succeeds again */
  get isDown(): boolean {
    return this.backoff > 0;
  }

  get stats(): MysqlStats {
    return { pending: this.pending, waiting: this.waiting.length, connections: this.slots.filter((s) => s.conn !== null).length };
  }

  // ---- outage state ----

  private markDown(e: ErrorLike): DbError {
    const err = new DbError('down', `database ${this.displayUrl} unreachable: ${e.code ?? e.message}`);
    const first = this.backoff === 0;
    // failed reconnects are logged (debug) once per doubling interval; they do not delay the next
    if (!first && Date.now() < this.downUntil) return err;
    this.backoff = first ? this.opts.backoffMin : Math.min(this.backoff * 2, this.opts.backoffMax);
    this.downUntil = Date.now() + this.backoff;
    if (first) this.log.error({ db: this.displayUrl, code: e.code, err: e.message }, 'database unreachable, will retry');
    else this.log.debug({ db: this.displayUrl, code: e.code, retryMs: this.backoff }, 'database still unreachable');
    this.failWaiting(err);
    return err;
  }

  private markUp(): void {
    if (this.backoff === 0) return;
    this.backoff = 0;
    this.downUntil = 0;
    this.log.warn({ db: this.displayUrl }, 'database connection restored');
  }

  private busy(): DbError {
    if (!this.busyLogged) {
      this.busyLogged = true;
      this.log.warn({ db: this.displayUrl, pending: this.pending }, 'database busy: queries refused until the backlog drains');
    }
    return refusal(`database ${this.displayUrl} busy: ${this.opts.maxPending} queries pending`);
  }

  // ---- queries ----

  /** admit one statement (the outage and overload rules above) and send it */
  private submit(sql: string, params: readonly DbValue[], mode: Mode, prepared = true): Promise<never> {
    if (this.closed) return Promise.reject(new DbError('down', `database ${this.displayUrl}: handle closed`));
    let probe = false;
    if (this.backoff > 0) {
      // down: this query reconnects unless an attempt is already out (and not hanging)
      const now = Date.now();
      if (this.probes > 0 && (this.probes >= this.slots.length || now - this.lastProbeAt < this.opts.backoffMin)) {
        return Promise.reject(refusal(`database ${this.displayUrl} unreachable (retrying)`));
      }
      probe = true;
      this.lastProbeAt = now;
    }
    if (this.pending >= this.opts.maxPending) return Promise.reject(this.busy());
    if (probe) this.probes++;
    const p = new Promise<never>(grab);
    const req = new Req(sql, params, mode, prepared, probe);
    this.pending++;
    this.dispatch(req);
    return p;
  }

  private dispatch(req: Req): void {
    if (this.closed) {
      this.fail(req, new DbError('down', `database ${this.displayUrl}: handle closed`));
      return;
    }
    const s = this.pick();
    if (s !== null) this.send(s, req);
    else {
      req.queuedAt = Date.now();
      this.waiting.push(req);
    }
  }

  /** the oldest waiting query; those that waited past queryTimeout fail (overload) */
  private takeWaiting(): Req | undefined {
    for (let req = this.waiting.shift(); req !== undefined; req = this.waiting.shift()) {
      if (Date.now() - req.queuedAt < this.opts.queryTimeout) return req;
      this.fail(req, new DbError('down', `database ${this.displayUrl} busy: no free connection within ${this.opts.queryTimeout} ms`));
    }
    return undefined;
  }

  /** the connection with the fewest queries out (below pipelineDepth), opened if needed */
  private pick(): Slot | null {
    const slots = this.slots;
    const n = slots.length;
    const start = this.next;
    this.next = start + 1 === n ? 0 : start + 1;
    let best: Slot | null = null;
    let load = this.opts.pipelineDepth;
    for (let k = 0, i = start; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const s = slots[i];
      if (s.sent.length < load) {
        best = s;
        load = s.sent.length;
        if (load === 0) break;
      }
    }
    if (best !== null && best.conn === null) this.connect(best);
    return best;
  }

  private send(s: Slot, req: Req): void {
    const conn = s.conn!;
    if (s.sent.length === 0) {
      s.lastProgress = Date.now();
      if (s.timer === null) this.arm(s, this.opts.queryTimeout);
    }
    s.sent.push(req);
    try {
      if (!req.prepared) conn.query(req.sql, req.params as DbValue[], s.onResult);
      else {
        const stmt = s.stmts.get(req.sql);
        if (stmt !== undefined) {
          req.fresh = false;
          // what conn.execute() checks, and a statement handle does not
          for (let i = 0; i < req.params.length; i++) {
            if (req.params[i] === undefined) throw new TypeError('Bind parameters must not contain undefined. To pass SQL NULL specify JS null');
          }
          stmt.execute(req.params, s.onResult);
        } else {
          // prepares (once per connection) and executes; on success its handle is fetched
          conn.execute(req.sql, req.params as DbValue[], s.onResult);
          req.fresh = true;
        }
      }
    } catch (e) {
      // refused before anything was queued (mysql2 checks the bind values)
      if (s.conn === conn) s.sent.dropLast(req);
      this.fail(req, new DbError('query', asErr(e).message));
    }
  }

  private connect(s: Slot): void {
    const conn = mysql.createConnection(this.connOpts);
    s.conn = conn;
    s.connected = false;
    s.onResult = (err, res, fields) => this.result(s, conn, err, res, fields);
    const stmts = (s.stmts = new Map());
    s.onPrepared = (err, stmt) => {
      if (err || s.conn !== conn) return;
      if (stmts.size >= MAX_STATEMENTS) stmts.clear();
      stmts.set(stmt.query, stmt);
    };
    // a connection that breaks emits 'error' (more than once, sometimes): never unhandled
    conn.on('error', (e: unknown) => {
      this.log.debug({ db: this.displayUrl, err: asErr(e).message }, 'database connection error');
      if (s.conn === conn) this.kill(s, asErr(e));
    });
    conn.once('connect', () => {
      if (s.conn !== conn) return;
      s.connected = true;
      s.connectedAt = Date.now();
    });
  }

  private arm(s: Slot, ms: number): void {
    s.timer = setTimeout(s.onTimer, ms);
    s.timer.unref();
  }

  private timerFired(s: Slot): void {
    s.timer = null;
    if (s.sent.length === 0 || s.conn === null) return;
    const idle = Date.now() - s.lastProgress;
    if (idle >= this.opts.queryTimeout) this.kill(s, timeoutError(this.opts.queryTimeout));
    else this.arm(s, this.opts.queryTimeout - idle);
  }

  /** mysql2's answer to the oldest query sent on `conn` */
  private result(s: Slot, conn: Connection, err: QueryError | null, res: unknown, fields: FieldPacket[] | undefined): void {
    if (s.conn !== conn) return; // a connection already dropped
    if (err && isConnectionError(err)) {
      this.kill(s, err);
      return;
    }
    const req = s.sent.shift();
    if (req === undefined) return;
    s.lastProgress = Date.now();
    if (req.fresh && !err) {
      // the statement is in mysql2's cache now: prepare() answers at once with its handle
      req.fresh = false;
      conn.prepare(req.sql, s.onPrepared as never);
    }
    if (this.waiting.length > 0) {
      const next = this.takeWaiting();
      if (next !== undefined) this.send(s, next);
    }
    if (req.probe) {
      this.probes--;
      req.probe = false;
    }
    this.markUp(); // the server answered
    if (err) {
      if (err.code === 'ER_UNSUPPORTED_PS' && req.prepared) {
        req.prepared = false;
        this.dispatch(req);
        return;
      }
      this.fail(req, new DbError('query', `${err.code ?? 'error'}: ${err.message}`));
      return;
    }
    this.pending--;
    if (this.busyLogged && this.pending < this.opts.maxPending >> 1) this.busyLogged = false;
    if (req.mode === Mode.Rows) req.res(toRows(res, fields));
    else if (req.mode === Mode.Affected) req.res((res as { affectedRows?: number }).affectedRows ?? 0);
    else req.res(undefined);
  }

  private fail(req: Req, e: DbError): void {
    if (req.probe) {
      this.probes--;
      req.probe = false;
    }
    this.pending--;
    req.rej(e);
  }

  /** drop a broken (or unanswering) connection: its queries fail or, if stale, go elsewhere once */
  private kill(s: Slot, e: ErrorLike): void {
    const conn = s.conn;
    if (conn === null) return;
    const wasConnected = s.connected;
    s.conn = null;
    s.connected = false;
    if (s.timer !== null) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    destroyConnection(conn);
    const quit = s.quit;
    s.quit = null;
    const reqs: Req[] = [];
    for (let req = s.sent.shift(); req !== undefined; req = s.sent.shift()) reqs.push(req);
    const stale = STALE_CODES.has(e.code ?? '');
    for (const req of reqs) {
      if (stale && req.attempt === 0 && !req.probe && this.backoff === 0 && !this.closed) {
        req.attempt = 1;
        this.dispatch(req);
      } else this.fail(req, this.markDown(e));
    }
    quit?.();
    if (reqs.length === 0 && !wasConnected && !this.closed) this.markDown(e); // a connect attempt failed
    if (this.closed || this.backoff > 0) return;
    // broke while idle (server restart, wait_timeout): reopen now rather than on the next
    // query — unless it had just opened (a server dropping every connection: no busy loop)
    if (reqs.length === 0 && wasConnected && s.conn === null && Date.now() - s.connectedAt >= this.opts.backoffMin) this.connect(s);
    if (this.waiting.length > 0) this.pumpWaiting();
  }

  private pumpWaiting(): void {
    while (this.waiting.length > 0) {
      const s = this.pick();
      if (s === null) return;
      const req = this.takeWaiting();
      if (req !== undefined) this.send(s, req);
    }
  }

  private failWaiting(e: DbError): void {
    for (let req = this.waiting.shift(); req !== undefined; req = this.waiting.shift()) this.fail(req, e);
  }

  // ---- Db ----

  query(table: string, q: DbQuery = {}): Promise<DbRow[]> {
    try {
      const c = this.sqlCache;
      let n = c.step(c.select, table);
      n = c.step(n, q.orderBy ?? NONE);
      n = c.step(n, q.limit ?? NONE);
      const cols = q.columns;
      if (cols !== undefined) for (let i = 0; i < cols.length; i++) n = c.step(n, cols[i]);
      n = c.step(n, END);
      const params: DbValue[] = [];
      n = c.where(n, q.where, params);
      const sql = (n.sql ??= selectSql(table, q));
      return this.submit(sql, params, Mode.Rows);
    } catch (e) {
      return rejected(e);
    }
  }

  insert(table: string, row: DbRow): Promise<void> {
    try {
      const c = this.sqlCache;
      let n = c.step(c.insert, table);
      const params: DbValue[] = [];
      for (const k in row) {
        n = c.step(n, k);
        params.push(row[k]);
      }
      if (params.length === 0) throw new DbError('query', 'insert without columns');
      const sql = (n.sql ??= insertSql(table, Object.keys(row)));
      return this.submit(sql, params, Mode.Void);
    } catch (e) {
      return rejected(e);
    }
  }

  upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void> {
    try {
      const c = this.sqlCache;
      let n = c.step(c.upsert, table);
      const params: DbValue[] = [];
      for (const k in row) {
        n = c.step(n, k);
        params.push(row[k]);
      }
      n = c.step(n, END);
      for (let i = 0; i < keyColumns.length; i++) n = c.step(n, keyColumns[i]);
      if (params.length === 0) throw new DbError('query', 'insert without columns');
      const sql = (n.sql ??= upsertSql(table, Object.keys(row), keyColumns));
      return this.submit(sql, params, Mode.Void);
    } catch (e) {
      return rejected(e);
    }
  }

  update(table: string, where: DbWhere, set: DbRow): Promise<number> {
    try {
      const c = this.sqlCache;
      let n = c.step(c.update, table);
      const params: DbValue[] = [];
      for (const k in set) {
        n = c.step(n, k);
        params.push(set[k]);
      }
      if (params.length === 0) return Promise.resolve(0);
      n = c.where(c.step(n, END), where, params);
      const sql = (n.sql ??= updateSql(table, Object.keys(set), where));
      return this.submit(sql, params, Mode.Affected);
    } catch (e) {
      return rejected(e);
    }
  }

  delete(table: string, where: DbWhere): Promise<number> {
    try {
      const c = this.sqlCache;
      const params: DbValue[] = [];
      const n = c.where(c.step(c.delete, table), where, params);
      const sql = (n.sql ??= `DELETE FROM ${quoteIdent(table)}${whereSql(where)}`);
      return this.submit(sql, params, Mode.Affected);
    } catch (e) {
      return rejected(e);
    }
  }

  raw(sql: string, params: readonly DbValue[] = []): Promise<DbRow[]> {
    return this.submit(sql, params, Mode.Rows);
  }

  async tableVersion(table: string): Promise<number | null> {
    try {
      const r = await this.raw('SELECT `table_version` FROM `version` WHERE `table_name` = ?', [table]);
      if (r.length === 0) return null;
      const v = Number(r[0].table_version);
      return Number.isFinite(v) ? v : null;
    } catch (e) {
      if (e instanceof DbError && e.kind === 'query' && e.message.startsWith('ER_NO_SUCH_TABLE')) return null;
      throw e;
    }
  }

  async createTable(def: TableDef): Promise<void> {
    for (const stmt of mysqlDdl(def)) await this.submit(stmt, [], Mode.Void, false);
  }

  async dropTable(name: string): Promise<void> {
    await this.submit(`DROP TABLE IF EXISTS ${quoteIdent(name)}`, [], Mode.Void, false);
  }

  async tableColumns(name: string): Promise<string[] | null> {
    const r = await this.raw(
      'SELECT `COLUMN_NAME` AS name FROM information_schema.COLUMNS WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ? ORDER BY `ORDINAL_POSITION`',
      [name],
    );
    return r.length === 0 ? null : r.map((x) => String(x.name));
  }

  async addColumn(table: string, col: ColumnDef): Promise<void> {
    const ddl = mysqlDdl({ name: table, version: 0, columns: [col] })[0];
    const spec = /\(\n\s+([\s\S]*)\n\)$/.exec(ddl)![1];
    await this.submit(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${spec}`, [], Mode.Void, false);
  }

  /** refuse new queries, let those sent finish (bounded by queryTimeout), end every connection */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failWaiting(new DbError('down', `database ${this.displayUrl}: handle closed`));
    const ends: Promise<void>[] = [];
    for (const s of this.slots) {
      const conn = s.conn;
      if (conn === null) continue;
      if (s.sent.length === 0 && !s.connected) {
        this.kill(s, { message: 'closed' }); // still connecting: nothing to wait for
        continue;
      }
      ends.push(
        new Promise<void>((resolve) => {
          s.quit = resolve;
          // mysql2 runs QUIT after the queries already sent
          conn.end(() => {
            if (s.quit === resolve) s.quit = null;
            if (s.conn === conn) {
              s.conn = null;
              if (s.timer !== null) clearTimeout(s.timer);
              s.timer = null;
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(ends);
  }
}

/** CREATE DATABASE IF NOT EXISTS for a mysql:// URL (tserctl db create, like kamdbctl) */
export async function createMysqlDatabase(url: string): Promise<void> {
  const u = parseDbUrl(url);
  if (u.driver !== 'mysql') return;
  const sql = `CREATE DATABASE IF NOT EXISTS ${quoteIdent(u.database)}`;
  const conn = mysql.createConnection({ host: u.host, port: u.port, user: u.user, password: u.password, connectTimeout: mysqlDefaults.connectTimeout });
  conn.on('error', () => undefined); // reported through the query callback
  try {
    await new Promise<void>((resolve, reject) => conn.query(sql, (e) => (e ? reject(e) : resolve())));
  } catch (e) {
    const err = asErr(e);
    throw new DbError(isConnectionError(e) ? 'down' : 'query', err.code ?? err.message);
  } finally {
    await new Promise<void>((resolve) => conn.end(() => resolve()));
  }
}
