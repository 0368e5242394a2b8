// Keepalive probing (Kamailio ds_ping_set / ds_options_callback): every ds_ping_interval
// seconds, an OPTIONS (ds_ping_method) to each destination that ds_probing_mode selects, sent
// statefully through tm's API (TmApi.sendRequest: downstream reply, or 408 after fr_timer).
// A 2xx or an accepted code marks it up; anything else counts as a failure.
import { DsFlag } from './list.js';
import { isUpCode } from './ping-codes.js';
import { allDests, findDest, updateState, type DsState } from './state.js';
import type { DsDest } from './list.js';

/** Kamailio ds_probing_mode values */
export const ProbeMode = { FLAGGED: 0, ALL: 1, INACTIVE: 2, ONLY_FLAGGED_KEEP: 3 } as const;

export function shouldPing(mode: number, flags: number): boolean {
  if (flags & (DsFlag.DISABLED | DsFlag.NODNS)) return false;
  if (mode === ProbeMode.ALL) return true;
  if (mode !== ProbeMode.INACTIVE && flags & DsFlag.PROBING) return true;
  return mode === ProbeMode.INACTIVE && (flags & DsFlag.PROBING) !== 0 && (flags & DsFlag.INACTIVE) !== 0;
}

/** apply a probe outcome to the destination (looked up again: a reload may have replaced it) */
export function onProbeResult(st: DsState, setid: number, uri: string, code: number, reason: string, realReply: boolean): void {
  const d = findDest(st, setid, uri);
  if (!d) return;
  const mode = st.p.ds_probing_mode;
  // someone switched probing off for it meanwhile (RPC, reload)
  if (mode === ProbeMode.ONLY_FLAGGED_KEEP && !(d.flags & DsFlag.PROBING)) return;
  if (d.flags & DsFlag.DISABLED) return;
  const info = { code, reason, flags: realReply ? 1 : 0 };
  let state: number;
  if (isUpCode(code, st.replyCodes)) {
    state = 0;
    if (mode === ProbeMode.ALL || (mode === ProbeMode.ONLY_FLAGGED_KEEP && d.flags & DsFlag.PROBING)) state |= DsFlag.PROBING;
  } else {
    state = DsFlag.TRYING;
    if (mode !== ProbeMode.FLAGGED) state |= DsFlag.PROBING;
  }
  updateState(st, setid, uri, state, 0, info);
}

function pingOne(st: DsState, d: DsDest): void {
  const tm = st.tm();
  if (!tm) {
    if (!st.noTmWarned) st.log.error('dispatcher: ds_ping_interval is set but the tm module is not loaded; no keepalives are sent');
    st.noTmWarned = true;
    return;
  }
  d.pinging = true;
  const { setid, uri } = d;
  tm.sendRequest({
    method: st.p.ds_ping_method.toUpperCase(),
    ruri: uri,
    to: uri,
    from: d.attrs.pingFrom || st.p.ds_ping_from,
    nextHop: d.attrs.obproxy || st.p.outbound_proxy || null,
  }).then(
    (r) => {
      d.pinging = false;
      onProbeResult(st, setid, uri, r.code, r.reason, r.reply !== null);
    },
    (e: unknown) => {
      d.pinging = false;
      st.log.warn({ uri, err: (e as Error).message }, 'dispatcher: keepalive could not be sent');
      onProbeResult(st, setid, uri, 500, 'Sending keepalive failed', false);
    },
  );
}

/** one keepalive round; a destination whose previous probe is still pending is skipped */
export function pingRound(st: DsState): void {
  if (!st.pingActive) return;
  for (const d of allDests(st)) {
    if (d.pinging || !shouldPing(st.p.ds_probing_mode, d.flags)) continue;
    pingOne(st, d);
  }
}

export function startProbing(st: DsState): void {
  if (st.p.ds_ping_interval <= 0) return;
  const t = setInterval(() => pingRound(st), st.p.ds_ping_interval * 1000);
  t.unref();
  st.timers.push(t);
}
