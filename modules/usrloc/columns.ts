// Contact ⇄ `location` row (Kamailio 5.6 columns, names from the *_column params).
// Time columns: like Kamailio's db_mysql (db_time2str/localtime), expires and last_modified
// are written as Date values, which the driver stores in the process's local time zone;
// a permanent contact is written as the epoch (Kamailio's time_t 0). With expires_type=1
// they are integer unix seconds instead.
import type { DbRow, DbValue } from '../../src/db/db.js';
import { ALL_METHODS, Q_UNSPECIFIED, type UlContact } from './api.js';
import { Ucontact } from './contact.js';
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

export function timeValue(f: RowFormat, sec: number): DbValue {
  return f.intTimes ? sec : new Date(sec * 1000);
}

const int32 = (n: number): number => n | 0;

export function toRow(f: RowFormat, c: UlContact): DbRow {
  const k = f.cols;
  return {
    ...aorKey(f, c.aor),
    [k.ruid]: c.ruid,
    [k.contact]: c.uri,
    [k.expires]: timeValue(f, c.expires),
    [k.q]: c.q === Q_UNSPECIFIED ? -1 : c.q / 1000,
    [k.callid]: c.callid,
    [k.cseq]: c.cseq,
    [k.flags]: int32(c.flags),
    [k.cflags]: int32(c.cflags),
    [k.userAgent]: c.userAgent,
    [k.received]: c.received,
    [k.path]: c.path,
    [k.socket]: c.socket,
    [k.methods]: int32(c.methods),
    [k.instance]: c.instance,
    [k.regId]: c.regId,
    [k.lastModified]: timeValue(f, c.lastModified),
    [k.serverId]: c.serverId,
    [k.connectionId]: c.connectionId,
    [k.keepalive]: c.keepalive,
    [k.partition]: c.partition,
  };
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
  const d = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
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
  c.userAgent = str(row[k.userAgent]) ?? '';
  c.received = str(row[k.received]) || null;
  c.path = str(row[k.path]) || null;
  c.socket = str(row[k.socket]) || null;
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
