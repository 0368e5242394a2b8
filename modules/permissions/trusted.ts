// allow_trusted (Kamailio permissions trusted.c): peers in the `trusted` table by source IP
// and protocol, optionally restricted by regexes on the From URI and the R-URI; higher
// priority first. db_mode 0 queries per request, db_mode 1 caches (trustedReload re-reads).
import type { Logger } from 'pino';
import type { Db, DbRow } from '../../src/db/db.js';

export interface TrustedCols {
  table: string;
  src: string;
  proto: string;
  from: string;
  ruri: string;
  tag: string;
  priority: string;
}

export interface TrustedRule {
  src: string;
  proto: string;
  from: RegExp | null;
  ruri: RegExp | null;
  tag: string | null;
  priority: number;
}

function regex(v: unknown, log: Logger, what: string, src: string): RegExp | null | undefined {
  if (v === null || v === undefined || v === '') return null;
  try {
    return new RegExp(String(v));
  } catch (e) {
    log.warn({ src_ip: src, pattern: String(v) }, `permissions: trusted entry skipped: bad ${what} regex (${(e as Error).message})`);
    return undefined;
  }
}

export function toRules(rows: readonly DbRow[], c: TrustedCols, log: Logger): TrustedRule[] {
  const out: TrustedRule[] = [];
  for (const r of rows) {
    const src = String(r[c.src] ?? '').trim();
    const from = regex(r[c.from], log, 'from_pattern', src);
    const ruri = regex(r[c.ruri], log, 'ruri_pattern', src);
    if (!src || from === undefined || ruri === undefined) continue;
    const tag = r[c.tag];
    out.push({
      src,
      proto: String(r[c.proto] ?? 'any').trim().toLowerCase(),
      from,
      ruri,
      tag: tag === null || tag === undefined || tag === '' ? null : String(tag),
      priority: Number(r[c.priority] ?? 0) || 0,
    });
  }
  // stable: equal priorities keep table order
  return out.map((r, i) => ({ r, i })).sort((a, b) => b.r.priority - a.r.priority || a.i - b.i).map((x) => x.r);
}

export async function queryTrusted(db: Db, c: TrustedCols, src: string | null, log: Logger): Promise<TrustedRule[]> {
  const rows = await db.query(c.table, {
    columns: [c.src, c.proto, c.from, c.ruri, c.tag, c.priority],
    where: src === null ? undefined : { [c.src]: src },
  });
  return toRules(rows, c, log);
}

export interface TrustedRequest {
  src: string;
  proto: string;
  fromUri: string;
  ruri: string;
}

/** matching rules in priority order: all of them, or the first only */
export function matchTrusted(rules: readonly TrustedRule[], q: TrustedRequest, all: boolean): TrustedRule[] {
  const out: TrustedRule[] = [];
  const proto = q.proto.toLowerCase();
  for (const r of rules) {
    if (r.src !== q.src) continue;
    if (r.proto === 'none' || (r.proto !== 'any' && r.proto !== proto)) continue;
    if (r.from && !r.from.test(q.fromUri)) continue;
    if (r.ruri && !r.ruri.test(q.ruri)) continue;
    out.push(r);
    if (!all) break;
  }
  return out;
}
