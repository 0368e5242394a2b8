// What the script calls: ds_select_dst/_domain/ds_select/ds_select_routes, ds_next_*,
// ds_set_*, ds_mark_dst, ds_is_from_list, ds_is_active, ds_list_exists, ds_load_*.
// Return codes as Kamailio: 1 done, -1 unknown set / nothing usable / no failover record.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { Ret } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { formatUri, parseUri } from '../../src/sip/index.js';
import { getRecords, setCount, setRecords, type DsRecord } from './failover.js';
import { skipDst, type DsDest, type DsSet } from './list.js';
import { writePv } from '../../src/script/pv-target.js';
import { Alg, failoverOrder, pickDest } from './select.js';
import { updateState, type DsState } from './state.js';

/** where the chosen address goes (Kamailio DS_SETOP_*) */
export const SetOp = { DSTURI: 0, RURI: 1, XAVP: 2 } as const;
export type SetOpMode = (typeof SetOp)[keyof typeof SetOp];

/** R-URI host, port, params and headers replaced by the destination's (Kamailio SET_HOSTALL) */
function rewriteDomain(ctx: MsgContext, destUri: string): boolean {
  const d = parseUri(destUri);
  const r = parseUri(ctx.ruri);
  if (!d || !r) {
    ctx.log.warn({ ruri: ctx.ruri, dest: destUri }, 'dispatcher: cannot rewrite the R-URI domain');
    return false;
  }
  r.host = d.host;
  r.port = d.port;
  r.params = d.params;
  r.headers = d.headers;
  ctx.newUri = formatUri(r);
  return true;
}

function pushDst(ctx: MsgContext, uri: string, mode: SetOpMode): boolean {
  if (mode === SetOp.RURI) return rewriteDomain(ctx, uri);
  if (mode === SetOp.DSTURI) ctx.dstUri = uri;
  return true;
}

/** attrs_pvname and the old dst/grp/cnt/attrs AVPs for the current record */
function exportVars(ctx: MsgContext, st: DsState, recs: readonly DsRecord[]): void {
  const t = st.targets;
  const cur = recs[0];
  if (t.attrs && cur && cur.attrs) writePv(ctx, t.attrs, cur.attrs);
  if (t.dst) {
    if (t.dst.kind === 'avp') ctx.avps?.delete(t.dst.key);
    // newest first: $avp(dst) is the current destination, [1] the next one
    for (let i = recs.length - 1; i >= 0; i--) writePv(ctx, t.dst, recs[i].uri);
  }
  if (t.attrsAvp && cur) writePv(ctx, t.attrsAvp, cur.attrs);
  if (t.grp && cur) writePv(ctx, t.grp, cur.grp);
  if (t.cnt) writePv(ctx, t.cnt, recs.length);
}

function record(st: DsState, d: DsDest, alg: number): DsRecord {
  // xavp_dst_mode bit 1: leave the attributes out
  const r: DsRecord = { uri: d.uri, grp: d.setid, attrs: (st.p.xavp_dst_mode & 1) === 0 ? d.attrs.body : '' };
  if (alg === Alg.CALL_LOAD && d.attrs.duid) r.dstid = d.attrs.duid;
  return r;
}

interface Selected {
  recs: DsRecord[];
}

/** select in one set and build its failover records; null when nothing is usable */
function selectIn(ctx: MsgContext, st: DsState, setid: number, alg: number, limit: number, mode: SetOpMode): Selected | null {
  const set = st.sets.get(setid);
  if (!set) {
    ctx.log.warn({ setid }, 'dispatcher: destination set not found');
    ctx.setError(500, 'Destination set not found');
    return null;
  }
  const pick = pickDest(ctx, st, set, alg);
  if (!pick) {
    ctx.log.debug({ setid, alg }, 'dispatcher: no usable destination');
    ctx.setError(503, 'No destination available');
    return null;
  }
  const chosen = set.dests[pick.idx];
  if (pick.alg === Alg.PARALLEL) {
    if (mode !== SetOp.XAVP && !pushDst(ctx, chosen.uri, mode)) return null;
    addBranches(ctx, set, pick.idx, mode);
    return { recs: [] };
  }
  const order = failoverOrder(st, set, pick.idx, pick.alg, limit > 0 ? limit : Number.MAX_SAFE_INTEGER);
  return { recs: order.map((i) => record(st, set.dests[i], pick.alg)) };
}

/** algorithm 12: the others as extra branches (Kamailio adds those after the chosen one) */
function addBranches(ctx: MsgContext, set: DsSet, idx: number, mode: SetOpMode): void {
  const user = parseUri(ctx.ruri)?.user ?? null;
  for (let i = idx + 1; i < set.dests.length; i++) {
    const d = set.dests[i];
    if (mode === SetOp.RURI) {
      const u = parseUri(d.uri);
      if (!u) continue;
      u.user = user;
      ctx.branches.push({ uri: formatUri(u), dstUri: null, q: null, path: null, flags: 0 });
    } else {
      ctx.branches.push({ uri: ctx.ruri, dstUri: d.uri, q: null, path: null, flags: 0 });
    }
  }
}

function finish(ctx: MsgContext, st: DsState, recs: DsRecord[], mode: SetOpMode): number {
  const old = getRecords(ctx, st.p.xavp_dst);
  const head = recs[0];
  if (head && mode !== SetOp.XAVP && !pushDst(ctx, head.uri, mode)) return Ret.FALSE;
  // new records go before any left from an earlier selection (Kamailio xavp_add_value_after)
  const all = [...recs, ...old];
  setRecords(ctx, st.p.xavp_dst, all);
  if ((st.p.xavp_ctx_mode & 1) === 0) setCount(ctx, st.p.xavp_ctx, recs.length);
  exportVars(ctx, st, all);
  return Ret.OK;
}

export function dsSelect(ctx: MsgContext, st: DsState, setid: number, alg: number, limit: number, mode: SetOpMode): number {
  if (mode === SetOp.DSTURI && st.p.force_dst === 0 && ctx.dstUri) {
    ctx.log.warn({ du: ctx.dstUri }, 'dispatcher: destination already set (force_dst=0)');
    return Ret.FALSE;
  }
  const sel = selectIn(ctx, st, setid, alg, limit, mode);
  if (!sel) return Ret.FALSE;
  if (alg === Alg.PARALLEL) return Ret.OK;
  return finish(ctx, st, sel.recs, mode);
}

/** ds_select_routes("1=4;2=9", "d|r|x", limit) */
export function dsSelectRoutes(ctx: MsgContext, st: DsState, rules: string, modeText: string, limit: number): number {
  const c = modeText.trim()[0]?.toLowerCase();
  const mode: SetOpMode = c === '1' || c === 'r' ? SetOp.RURI : c === '2' || c === 'x' ? SetOp.XAVP : SetOp.DSTURI;
  const recs: DsRecord[] = [];
  const max = limit > 0 ? limit : Number.MAX_SAFE_INTEGER;
  for (const rule of rules.split(';')) {
    if (!rule.trim()) continue;
    const m = /^\s*(\d+)\s*=\s*(\d+)\s*$/.exec(rule);
    if (!m) {
      ctx.log.error({ rule }, 'dispatcher: ds_select_routes rule must be "set=alg"');
      return Ret.FALSE;
    }
    if (recs.length >= max) break;
    const sel = selectIn(ctx, st, Number(m[1]), Number(m[2]), max - recs.length, SetOp.XAVP);
    if (sel) recs.push(...sel.recs);
  }
  if (recs.length === 0) return Ret.FALSE;
  return finish(ctx, st, recs, mode);
}

/** ds_next_dst / ds_next_domain (next = true) and ds_set_dst / ds_set_domain */
export function dsUpdate(ctx: MsgContext, st: DsState, next: boolean, mode: SetOpMode): number {
  let recs = getRecords(ctx, st.p.xavp_dst);
  if (recs.length === 0) return Ret.FALSE;
  for (;;) {
    if (next) {
      recs = recs.slice(1);
      setRecords(ctx, st.p.xavp_dst, recs);
    }
    const cur = recs[0];
    if (!cur) return Ret.FALSE;
    if (next && cur.dstid && !st.callLoad.replace(ctx.msg.callId(), cur.dstid)) {
      // the destination went away meanwhile (Kamailio skips it too)
      ctx.log.warn({ duid: cur.dstid }, 'dispatcher: cannot move the call load; skipping destination');
      continue;
    }
    if (!pushDst(ctx, cur.uri, mode)) return Ret.FALSE;
    exportVars(ctx, st, recs);
    return Ret.OK;
  }
}

export function dsMarkDst(ctx: MsgContext, st: DsState, state: number): number {
  const cur = getRecords(ctx, st.p.xavp_dst)[0];
  if (!cur) return Ret.FALSE;
  const r = ctx.reply;
  const info = r ? { code: r.status, reason: r.reason, flags: 1 } : { code: 820, reason: '', flags: 0 };
  return updateState(st, cur.grp, cur.uri, state, 0, info) ? Ret.OK : Ret.FALSE;
}

export function dsListExists(st: DsState, setid: number): number {
  return st.sets.has(setid) ? Ret.OK : Ret.FALSE;
}

export function dsIsActive(st: DsState, setid: number, uri?: string): number {
  const set = st.sets.get(setid);
  if (!set) return Ret.FALSE;
  for (const d of set.dests) {
    if (skipDst(d.flags)) continue;
    if (!uri || d.uri === uri) return Ret.OK;
  }
  return Ret.FALSE;
}

/** ds_is_from_list mode bits (Kamailio DS_MATCH_*) */
const NOPORT = 1;
const NOPROTO = 2;
const ACTIVE = 4;

function normIp(ip: string): string {
  const s = ip.replace(/^\[|\]$/g, '').toLowerCase();
  return s.startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s;
}

function matchIn(set: DsSet, ip: string, port: number, proto: string | null, mode: number): DsDest | null {
  for (const d of set.dests) {
    if (d.ip === null || normIp(d.ip) !== ip) continue;
    if (!(mode & NOPORT) && d.port !== 0 && d.port !== port) continue;
    if (!(mode & NOPROTO) && d.proto !== proto) continue;
    if (mode & ACTIVE && skipDst(d.flags)) continue;
    return d;
  }
  return null;
}

export function dsIsFromList(ctx: MsgContext, st: DsState, group: number, mode: number, uri: string): number | Promise<number> {
  const check = (ip: string, port: number, proto: string | null): number => {
    const nip = normIp(ip);
    const sets = group === -1 ? [...st.sets.values()] : [st.sets.get(group)].filter((s): s is DsSet => s !== undefined);
    for (const set of sets) {
      const d = matchIn(set, nip, port, proto, mode);
      if (!d) continue;
      if (group === -1 && st.targets.setid) writePv(ctx, st.targets.setid, d.setid);
      if (st.targets.attrs && d.attrs.body) writePv(ctx, st.targets.attrs, d.attrs.body);
      return Ret.OK;
    }
    return Ret.FALSE;
  };
  if (!uri) return check(ctx.rcv.srcIp, ctx.rcv.srcPort, ctx.rcv.proto);
  const u = parseUri(uri);
  if (!u) {
    ctx.log.warn({ uri }, 'dispatcher: ds_is_from_list: bad URI');
    return Ret.FALSE;
  }
  const port = u.port ?? 0;
  const proto = u.params.find(([k]) => k.toLowerCase() === 'transport')?.[1]?.toLowerCase() ?? null;
  const host = u.host.replace(/^\[|\]$/g, '');
  if (isIP(host)) return check(host, port, proto);
  return dns.lookup(host).then(
    (a) => check(a.address, port, proto),
    () => {
      ctx.log.warn({ host }, 'dispatcher: ds_is_from_list: cannot resolve');
      return Ret.FALSE;
    },
  );
}

/** ds_load_update(): BYE/CANCEL give the slot back; a 2xx to INVITE confirms the call */
export function dsLoadUpdate(ctx: MsgContext, st: DsState): number {
  const msg = ctx.reply ?? ctx.msg;
  let callId: string;
  try {
    callId = msg.callId();
  } catch {
    return Ret.FALSE;
  }
  if (msg.isRequest) {
    if (msg.method === 'BYE' || msg.method === 'CANCEL') st.callLoad.remove(callId);
    return Ret.OK;
  }
  if (msg.method === 'INVITE' && msg.status >= 200 && msg.status < 300) st.callLoad.confirm(callId);
  return Ret.OK;
}

export function dsLoadUnset(ctx: MsgContext, st: DsState): number {
  const msg = ctx.reply ?? ctx.msg;
  if (msg.isRequest && msg.method === 'INVITE' && !getRecords(ctx, st.p.xavp_dst).some((r) => r.dstid)) return Ret.OK;
  return st.callLoad.remove(msg.callId()) ? Ret.OK : Ret.FALSE;
}
