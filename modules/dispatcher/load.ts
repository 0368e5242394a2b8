// Reading destinations: Kamailio's list file format (`setid uri [flags [priority [attrs]]]`,
// '#' comments) and the Kamailio 5.6 `dispatcher` table (versions 1-4), then checking each
// URI and resolving its host once (Kamailio ds_dns_mode 1). Unusable destinations are skipped
// with a log line; a malformed line makes the whole read fail so the caller keeps old data.
import { promises as dns } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Db } from '../../src/db/db.js';
import { parseUri } from '../../src/sip/index.js';
import { DsFlag, parseAttrs, type DsDest } from './list.js';
import type { ErrorCode } from '../../src/core/errors.js';

export interface RawDest {
  setid: number;
  uri: string;
  flags: number;
  priority: number;
  attrs: string;
  description: string;
  /** "file:line" or "dispatcher row N" */
  where: string;
}

export class ListError extends Error {
  readonly code: ErrorCode = 'TSER_E_DS_LIST';
}

export function parseListFile(text: string, file: string): RawDest[] {
  const out: RawDest[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${i + 1}`;
    const f = line.split(/\s+/);
    const bad = (why: string) => {
      throw new ListError(`${where}: ${why}: "${raw.trim()}"`);
    };
    if (!/^\d+$/.test(f[0])) bad('the set id must be a number');
    if (f.length < 2) bad('missing destination URI');
    if (f[2] !== undefined && !/^\d+$/.test(f[2])) bad('flags must be a number');
    if (f[3] !== undefined && !/^-?\d+$/.test(f[3])) bad('priority must be a number');
    if (f.length > 5) bad('too many fields (expected: setid uri [flags [priority [attrs]]])');
    out.push({
      setid: Number(f[0]),
      uri: f[1],
      flags: f[2] !== undefined ? Number(f[2]) : 0,
      priority: f[3] !== undefined ? Number(f[3]) : 0,
      attrs: f[4] ?? '',
      description: '',
      where,
    });
  });
  return out;
}

export function readListFile(path: string): RawDest[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ListError(`cannot read list file ${path}: ${(e as Error).message}`);
  }
  return parseListFile(text, path);
}

export interface DsColumns {
  table: string;
  setid: string;
  destination: string;
  flags: string;
  priority: string;
  attrs: string;
  /** "aname=cname;..." columns appended to attrs (ds_db_extra_attrs) */
  extra: [string, string][];
}

function num(v: unknown): number {
  if (v === null || v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** rows of the dispatcher table; which columns exist follows the table version */
export async function queryDispatcher(db: Db, c: DsColumns, version: number): Promise<RawDest[]> {
  const cols = [c.setid, c.destination];
  if (version >= 2) cols.push(c.flags);
  if (version >= 3) cols.push(c.priority);
  if (version >= 4) cols.push(c.attrs, ...c.extra.map(([, col]) => col));
  const rows = await db.query(c.table, { columns: cols });
  return rows.map((r, i) => {
    let attrs = version >= 4 && r[c.attrs] !== null && r[c.attrs] !== undefined ? String(r[c.attrs]) : '';
    for (const [name, col] of c.extra) {
      const v = r[col];
      if (v === null || v === undefined || v === '') continue;
      attrs = `${attrs}${attrs && !attrs.endsWith(';') ? ';' : ''}${name}=${String(v)}`;
    }
    return {
      setid: num(r[c.setid]),
      uri: String(r[c.destination] ?? ''),
      flags: version >= 2 ? num(r[c.flags]) : 0,
      priority: version >= 3 ? num(r[c.priority]) : 0,
      attrs,
      description: '',
      where: `${c.table} row ${i + 1}`,
    };
  });
}

export interface ResolveOpts {
  log: Logger;
  /** ds_attrs_none: "none=yes" for records without attrs */
  attrsNone: boolean;
  /** host name → address; defaults to an A/AAAA lookup */
  lookup?: (host: string) => Promise<string | null>;
}

async function dnsLookup(host: string): Promise<string | null> {
  try {
    return (await dns.lookup(host)).address;
  } catch {
    return null;
  }
}

/** check and resolve one destination; null (logged) when it cannot be used */
export async function resolveDest(r: RawDest, o: ResolveOpts): Promise<DsDest | null> {
  let uri = r.uri.trim();
  let u = parseUri(uri);
  // Kamailio fixes destinations written without a scheme
  if (!u && !/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    u = parseUri(`sip:${uri}`);
    if (u) uri = `sip:${uri}`;
  }
  const warn = (why: string) => o.log.warn({ where: r.where, setid: r.setid, uri: r.uri }, `dispatcher: destination skipped: ${why}`);
  if (!u || (u.scheme !== 'sip' && u.scheme !== 'sips') || !u.host) {
    warn('bad SIP URI');
    return null;
  }
  const host = u.host.replace(/^\[|\]$/g, '');
  const transport = u.params.find(([k]) => k.toLowerCase() === 'transport')?.[1]?.toLowerCase() ?? null;
  let ip: string | null = null;
  if (!(r.flags & DsFlag.NODNS)) {
    ip = isIP(host) ? host : await (o.lookup ?? dnsLookup)(host);
    if (ip === null) {
      warn(`could not resolve ${host} (set flag 16 to skip DNS at load)`);
      return null;
    }
  }
  const attrs = parseAttrs(r.attrs || (o.attrsNone ? 'none=yes' : ''), (why) =>
    o.log.warn({ where: r.where, uri }, `dispatcher: ${why}`),
  );
  return {
    setid: r.setid,
    uri,
    flags: r.flags,
    priority: r.priority,
    attrs,
    description: r.description,
    host,
    port: u.port ?? 0,
    proto: transport,
    ip,
    probingCount: 0,
    dload: 0,
    pinging: false,
  };
}

/** resolve all (in parallel); returns usable destinations in input order and the skip count */
export async function resolveAll(raw: readonly RawDest[], o: ResolveOpts): Promise<{ dests: DsDest[]; skipped: number }> {
  const res = await Promise.all(raw.map((r) => resolveDest(r, o)));
  const dests = res.filter((d): d is DsDest => d !== null);
  return { dests, skipped: res.length - dests.length };
}
