// The failover list (Kamailio XAVP `_dsdst_`): the selected destination first, then the
// others to try, one record each (uri, grp, attrs, dstid). It lives in the message's AVPs,
// which tm binds to the transaction, so failure_route sees it and ds_next_dst() moves on.
// `_dsctx_` holds cnt, the number of records the last selection added.
import type { MsgContext } from '../../src/script/context.js';

export interface DsRecord {
  uri: string;
  grp: number;
  attrs: string;
  /** duid of the destination (algorithm 10 only) */
  dstid?: string;
}

function isRecord(v: unknown): v is DsRecord {
  return typeof v === 'object' && v !== null && typeof (v as DsRecord).uri === 'string' && typeof (v as DsRecord).grp === 'number';
}

export function getRecords(ctx: MsgContext, key: string): DsRecord[] {
  const list = ctx.avps?.get(key);
  if (!list) return [];
  const out: DsRecord[] = [];
  for (const v of list) {
    if (typeof v !== 'string') continue;
    try {
      const r: unknown = JSON.parse(v);
      if (isRecord(r)) out.push(r);
    } catch {
      // a script wrote something else under this name: not ours
    }
  }
  return out;
}

/** always a new array: the map may be shared with the transaction */
export function setRecords(ctx: MsgContext, key: string, recs: readonly DsRecord[]): void {
  const m = (ctx.avps ??= new Map());
  if (recs.length === 0) m.delete(key);
  else m.set(key, recs.map((r) => JSON.stringify(r)));
}

export function setCount(ctx: MsgContext, key: string, cnt: number): void {
  (ctx.avps ??= new Map()).set(key, [cnt]);
}

export function getCount(ctx: MsgContext, key: string): number | null {
  const v = ctx.avps?.get(key)?.[0];
  return typeof v === 'number' ? v : null;
}

export interface XavpRef {
  name: string;
  index: number;
  field: string | null;
}

/** "$xavp(_dsdst_[1]=>uri)" inner part */
export function parseXavpInner(inner: string | null): XavpRef {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(\d+)\])?\s*(?:=>\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[0\])?)?\s*$/.exec(inner ?? '');
  if (!m) throw new Error(`bad $xavp name "${inner ?? ''}": expected $xavp(name[index]=>field)`);
  return { name: m[1], index: m[2] ? Number(m[2]) : 0, field: m[3] ?? null };
}
