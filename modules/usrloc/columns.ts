// Contact ⇄ `location` row (Kamailio 5.6 columns, names from the *_column params).
// Time columns: like Kamailio's db_mysql (db_time2str/localtime), expires and last_modified
// are written as Date values, which the driver stores in the process's local time zone;
// a permanent contact is written as the epoch (Kamailio's time_t 0). With expires_type=1
// they are integer unix seconds instead.
import type { DbRow, DbValue } from '../../src/db/db.js';
import { ALL_METHODS, Q_UNSPECIFIED, type UlContact } from './api.js';
import { intern, Ucontact } from './contact.js';
import type { UsrlocParams } from './params.js';

export interface Columns {
  user: string;
  domain: string;
  contact: string;
  expires: string;
  q: string;
  callid: string;
  cseq: string;
  flags: string;
  cflags: string;
  userAgent: string;
  received: string;
  path: string;
  socket: string;
  methods: string;
  instance: string;
  regId: string;
  ruid: string;
  lastModified: string;
  serverId: string;
  connectionId: string;
  keepalive: string;
  partition: string;
}

export function columnsFrom(p: UsrlocParams): Columns {
  return {
    user: p.user_column,
    domain: p.domain_column,
    contact: p.contact_column,
    expires: p.expires_column,
    q: p.q_column,
    callid: p.callid_column,
    cseq: p.cseq_column,
    flags: p.flags_column,
    cflags: p.cflags_column,
    userAgent: p.user_agent_column,
    received: p.received_column,
    path: p.path_column,
    socket: p.socket_column,
    methods: p.methods_column,
    instance: p.instance_column,
    regId: p.reg_id_column,
    ruid: p.ruid_column,
    lastModified: p.last_mod_column,
    serverId: p.server_id_column,
    connectionId: p.connection_id_column,
    keepalive: p.keepalive_column,
    partition: p.partition_column,
  };
}

/** how AORs and times map to columns */
export interface RowFormat {
  cols: Columns;
  useDomain: boolean;
  /** true: expires/last_modified as integer seconds */
  intTimes: boolean;
}

/** AOR → username/domain column values (domain only with use_domain, as Kamailio) */
export function aorKey(f: RowFormat, aor: string): DbRow {
  if (!f.useDomain) return { [f.cols.user]: aor };
  const at = aor.indexOf('@');
  if (at < 0) return { [f.cols.user]: aor, [f.cols.domain]: '' };
  return { [f.cols.user]: aor.slice(0, at), [f.cols.domain]: aor.slice(at + 1) };
}

// the last few seconds converted: rows written together mostly share their times (no Date
// per row); nothing mutates these Date objects
const recentDates: (Date | null)[] = [null, null, null, null];

export function timeValue(f: RowFormat, sec: number): DbValue {
  if (f.intTimes) return sec;
  const ms = sec * 1000;
  for (const d of recentDates) if (d !== null && d.getTime() === ms) return d;
  const d = new Date(ms);
  recentDates.pop();
  recentDates.unshift(d);
  return d;
}

const int32 = (n: number): number => n | 0;

const columnLists = new WeakMap<RowFormat, readonly string[]>();

/** the columns of a contact's row, in the order rowValues() gives the values */
export function rowColumns(f: RowFormat): readonly string[] {
  let list = columnLists.get(f);
  if (!list) {
    const k = f.cols;
    list = [
      k.user,
      ...(f.useDomain ? [k.domain] : []),
      k.ruid,
      k.contact,
      k.expires,
      k.q,
      k.callid,
      k.cseq,
      k.flags,
      k.cflags,
      k.userAgent,
      k.received,
      k.path,
      k.socket,
      k.methods,
      k.instance,
      k.regId,
      k.lastModified,
      k.serverId,
      k.connectionId,
      k.keepalive,
      k.partition,
    ];
    columnLists.set(f, list);
  }
  return list;
}

/** a contact's row values in rowColumns() order, appended to out (no row object) */
export function rowValues(f: RowFormat, c: UlContact, out: DbValue[]): void {
  const aor = c.aor;
  if (!f.useDomain) out.push(aor);
  else {
    const at = aor.indexOf('@');
    if (at < 0) out.push(aor, '');
    else out.push(aor.slice(0, at), aor.slice(at + 1));
  }
  out.push(
    c.ruid,
    c.uri,
    timeValue(f, c.expires),
    c.q === Q_UNSPECIFIED ? -1 : c.q / 1000,
    c.callid,
    c.cseq,
    int32(c.flags),
    int32(c.cflags),
    c.userAgent,
    c.received,
    c.path,
    c.socket,
    int32(c.methods),
    c.instance,
    c.regId,
    timeValue(f, c.lastModified),
    c.serverId,
    c.connectionId,
    c.keepalive,
    c.partition,
  );
}

/** row k of a flat list of values in `cols` order, as a row object */
export function rowObject(cols: readonly string[], values: readonly DbValue[], k = 0): DbRow {
  const row: DbRow = {};
  const base = k * cols.length;
  for (let i = 0; i < cols.length; i++) row[cols[i]] = values[base + i] ?? null;
  return row;
}

export function toRow(f: RowFormat, c: UlContact): DbRow {
  const values: DbValue[] = [];
  rowValues(f, c, values);
  return rowObject(rowColumns(f), values);
}

/** unix seconds from a DATETIME (Date or 'YYYY-MM-DD HH:MM:SS' local) or an integer column */
export function secondsOf(v: DbValue | undefined): number {
  if (v === null || v === undefined) return 0;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === 'number') return Math.floor(v);
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)/.exec(s);
  if (!m) return 0;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Math.floor(d.getTime() / 1000);
}

function str(v: DbValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.toISOString() : String(v);
}

function num(v: DbValue | undefined, def: number): number {
  if (v === null || v === undefined || v === '') return def;
  const n = Number(v);
  return Number.isFinite(n) ? n : def;
}

function nullOrInterned(s: string | null): string | null {
  return s ? intern(s) : null;
}

// expires near the epoch means "permanent": Kamailio writes time_t 0, which lands a few hours
// either side of 1970-01-01 00:00 depending on the time zone it was written in
const PERMANENT_BEFORE = 2 * 86400;

/** a DB row → contact (aor from username[@domain]); null for rows without a contact */
export function fromRow(f: RowFormat, row: DbRow): Ucontact | null {
  const k = f.cols;
  const user = str(row[k.user]) ?? '';
  const domain = f.useDomain ? (str(row[k.domain]) ?? '') : '';
  const aor = domain ? `${user}@${domain}` : user;
  const uri = str(row[k.contact]);
  if (!uri) return null;
  const c = new Ucontact(aor, str(row[k.ruid]) ?? '');
  c.uri = uri;
  const exp = secondsOf(row[k.expires]);
  c.expires = exp < PERMANENT_BEFORE ? 0 : exp;
  const q = num(row[k.q], -1);
  c.q = q < 0 ? Q_UNSPECIFIED : Math.min(1000, Math.round(q * 1000));
  c.callid = str(row[k.callid]) ?? 'Default-Call-ID';
  c.cseq = num(row[k.cseq], 1);
  c.flags = num(row[k.flags], 0);
  c.cflags = num(row[k.cflags], 0);
  c.userAgent = intern(str(row[k.userAgent]) ?? '');
  c.received = str(row[k.received]) || null;
  c.path = nullOrInterned(str(row[k.path]));
  c.socket = nullOrInterned(str(row[k.socket]));
  const m = row[k.methods];
  c.methods = m === null || m === undefined ? ALL_METHODS : num(m, ALL_METHODS) >>> 0;
  c.instance = str(row[k.instance]) || null;
  c.regId = num(row[k.regId], 0);
  c.lastModified = secondsOf(row[k.lastModified]);
  c.serverId = num(row[k.serverId], 0);
  c.connectionId = num(row[k.connectionId], 0);
  c.keepalive = num(row[k.keepalive], 0);
  c.partition = num(row[k.partition], 0);
  return c;
}
