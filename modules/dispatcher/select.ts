// Picking a destination in a set (Kamailio ds_manage_routes): the algorithm gives a start
// index, inactive/disabled destinations are stepped over, and the failover order is the
// chosen one, those after it, then those before it (plus the default last, use_default=1).
// Algorithm 9 distributes in proportion to `weight` (10 and 1 → 10/11 and 1/11).
import type { MsgContext } from '../../src/script/context.js';
import { dsHash, uriHash } from './hash.js';
import { skipDst, type DsSet } from './list.js';
import type { DsState } from './state.js';

export const Alg = {
  HASH_CALLID: 0,
  HASH_FROM: 1,
  HASH_TO: 2,
  HASH_RURI: 3,
  ROUND_ROBIN: 4,
  HASH_AUTH: 5,
  RANDOM: 6,
  HASH_PV: 7,
  SERIAL: 8,
  WEIGHT: 9,
  CALL_LOAD: 10,
  REL_WEIGHT: 11,
  PARALLEL: 12,
  LATENCY: 13,
} as const;

export interface Pick {
  /** index in set.dests */
  idx: number;
  /** the algorithm actually used (10 falls back to 0 for non-INVITEs) */
  alg: number;
}

function authUser(ctx: MsgContext): string | null {
  for (const kind of ['proxy', 'www'] as const) {
    for (const c of ctx.msg.credentials(kind)) {
      const u = c.cred.username;
      if (u) return u.split('@')[0].trim();
    }
  }
  return null;
}

/** walk a slot list from its cursor to the first usable destination; -1 when none */
function fromSlots(set: DsSet, slots: number[], cursor: 'wlast' | 'rwlast', limitIdx: number): number {
  const n = slots.length;
  for (let k = 0; k < n; k++) {
    const pos = (set[cursor] + k) % n;
    const i = slots[pos];
    if (i < limitIdx && !skipDst(set.dests[i].flags)) {
      set[cursor] = (pos + 1) % n;
      return i;
    }
  }
  return -1;
}

/** the start index for the algorithm, before inactive ones are stepped over; null = error */
function startIndex(ctx: MsgContext, st: DsState, set: DsSet, alg: number, range: number): { hash: number; alg: number; rr: boolean } | null {
  const userOnly = (st.p.flags & 1) !== 0;
  const fromHash = (h: number | null) => (h === null ? null : { hash: h, alg, rr: false });
  switch (alg) {
    case Alg.HASH_CALLID:
      return fromHash(dsHash(ctx.msg.callId().trim()));
    case Alg.HASH_FROM:
      return fromHash(uriHash(ctx.msg.from().uri, userOnly));
    case Alg.HASH_TO:
      return fromHash(uriHash(ctx.msg.to().uri, userOnly));
    case Alg.HASH_RURI:
      return fromHash(uriHash(ctx.ruri, userOnly));
    case Alg.HASH_AUTH: {
      const u = authUser(ctx);
      if (u) return { hash: dsHash(u), alg, rr: false };
      return { hash: set.last, alg, rr: true };
    }
    case Alg.ROUND_ROBIN:
    case Alg.LATENCY:
      return { hash: set.last, alg, rr: true };
    case Alg.RANDOM:
      return { hash: Math.floor(st.rnd() * range), alg, rr: false };
    case Alg.HASH_PV: {
      if (!st.hashPv) {
        ctx.log.error('dispatcher: algorithm 7 needs the hash_pvar parameter');
        return null;
      }
      const s = st.hashPv.eval(ctx).trim();
      if (!s) {
        ctx.log.error({ hash_pvar: st.hashPv.text }, 'dispatcher: hash_pvar is empty for this message');
        return null;
      }
      return { hash: dsHash(s), alg, rr: false };
    }
    case Alg.WEIGHT:
    case Alg.REL_WEIGHT: {
      const i = fromSlots(set, alg === Alg.WEIGHT ? set.wlist : set.rwlist, alg === Alg.WEIGHT ? 'wlast' : 'rwlast', range);
      return { hash: i < 0 ? 0 : i, alg, rr: false };
    }
    case Alg.CALL_LOAD: {
      if (ctx.msg.method !== 'INVITE') return { hash: 0, alg: Alg.HASH_CALLID, rr: false };
      if (st.p.ds_hash_size <= 0) {
        ctx.log.error('dispatcher: algorithm 10 needs ds_hash_size > 0; using the first destination');
        return { hash: 0, alg: Alg.HASH_CALLID, rr: false };
      }
      let best = -1;
      for (let j = 0; j < set.dests.length; j++) {
        const d = set.dests[j];
        if (skipDst(d.flags) || (d.attrs.maxload !== 0 && d.dload >= d.attrs.maxload)) continue;
        if (best < 0 || d.dload < set.dests[best].dload) best = j;
      }
      if (best < 0) return null;
      if (!st.callLoad.add(ctx.msg.callId(), set.dests[best])) {
        ctx.log.error({ uri: set.dests[best].uri }, 'dispatcher: destination has no duid; classic dispatching');
        return { hash: best, alg: Alg.HASH_CALLID, rr: false };
      }
      return { hash: best, alg, rr: false };
    }
    case Alg.SERIAL:
    case Alg.PARALLEL:
      return { hash: 0, alg, rr: false };
    default:
      return { hash: 0, alg, rr: false };
  }
}

/** select per algorithm; null when the set has no usable destination (or the key is missing) */
export function pickDest(ctx: MsgContext, st: DsState, set: DsSet, alg: number): Pick | null {
  const n = set.dests.length;
  if (n === 0) return null;
  const useDefault = st.p.use_default === 1 && n !== 1;
  const range = useDefault ? n - 1 : n;
  let start: ReturnType<typeof startIndex>;
  try {
    start = startIndex(ctx, st, set, alg, range);
  } catch (e) {
    ctx.log.warn({ alg, err: (e as Error).message }, 'dispatcher: cannot compute the hash key');
    return null;
  }
  if (!start) return null;
  const hash = start.hash % range;
  let i = hash;
  while (skipDst(set.dests[i].flags)) {
    i = (i + 1) % range;
    if (i === hash) {
      if (!useDefault || skipDst(set.dests[n - 1].flags)) return null;
      i = n - 1;
      break;
    }
  }
  if (start.rr) set.last = (i + 1) % n;
  return { idx: i, alg: start.alg };
}

/** failover order after `idx`: usable ones after it, then before it, then the default */
export function failoverOrder(st: DsState, set: DsSet, idx: number, alg: number, limit: number): number[] {
  const n = set.dests.length;
  const useDefault = st.p.use_default === 1;
  const out = [idx];
  const usable = (i: number) => {
    const d = set.dests[i];
    if (skipDst(d.flags) || (useDefault && i === n - 1)) return false;
    return !(alg === Alg.CALL_LOAD && d.attrs.maxload !== 0 && d.dload >= d.attrs.maxload);
  };
  for (let i = idx + 1; i < n && out.length < limit; i++) if (usable(i)) out.push(i);
  for (let i = 0; i < idx && out.length < limit; i++) if (usable(i)) out.push(i);
  if (useDefault && idx !== n - 1 && out.length < limit) out.push(n - 1);
  return out;
}
