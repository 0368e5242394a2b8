// Module state: the current destination sets, where they come from, and the state machine
// of a destination (Kamailio ds_update_state): trying → inactive after ds_probing_threshold
// failures, inactive → active after ds_inactive_threshold successes, with
// event_route[dispatcher:dst-down|dst-up] on every change of "usable".
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CoreApi } from '../../src/core/core-api.js';
import { RpcError } from '../../src/core/module-api.js';
import type { Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { checkVersion } from '../../src/db/schema.js';
import type { TmApi } from '../tm/api.js';
import { CallLoad } from './call-load.js';
import { runDsEvent, type DsEventInfo } from './events.js';
import { buildSets, DsFlag, initRelativeWeights, skipDst, STATES_ALL, type DsDest, type DsSet } from './list.js';
import { ListError, queryDispatcher, readListFile, resolveAll, type RawDest } from './load.js';
import type { DsParams } from './params.js';
import { parseReplyCodes, type ReplyCodes } from './ping-codes.js';
import { parsePvName, type PvTarget } from '../../src/script/pv-target.js';
import { TemplateEval } from './template-eval.js';

export interface DsTargets {
  setid: PvTarget | null;
  attrs: PvTarget | null;
  dst: PvTarget | null;
  grp: PvTarget | null;
  cnt: PvTarget | null;
  attrsAvp: PvTarget | null;
}

export interface DsState {
  p: DsParams;
  log: Logger;
  core: CoreApi;
  sets: Map<number, DsSet>;
  source: { kind: 'file'; path: string } | { kind: 'db'; db: Db; version: number } | { kind: 'none' };
  lastReload: number;
  /** dispatcher.ping_active */
  pingActive: boolean;
  replyCodes: ReplyCodes;
  targets: DsTargets;
  hashPv: TemplateEval | null;
  callLoad: CallLoad;
  timers: NodeJS.Timeout[];
  /** tm's API, bound on first use (tm may be loaded after dispatcher) */
  tm: () => TmApi | undefined;
  noTmWarned: boolean;
  rnd: () => number;
}

const target = (s: string): PvTarget | null => (s ? parsePvName(s) : null);

export async function createState(
  p: DsParams,
  log: Logger,
  core: CoreApi,
  bindApi: <T>(m: string) => T | undefined,
): Promise<DsState> {
  let tm: TmApi | undefined;
  const st: DsState = {
    p,
    log,
    core,
    sets: new Map(),
    source: { kind: 'none' },
    lastReload: 0,
    pingActive: true,
    replyCodes: parseReplyCodes(p.ds_ping_reply_codes),
    targets: {
      setid: target(p.setid_pvname),
      attrs: target(p.attrs_pvname),
      dst: target(p.dst_avp),
      grp: target(p.grp_avp),
      cnt: target(p.cnt_avp),
      attrsAvp: target(p.attrs_avp),
    },
    hashPv: p.hash_pvar ? new TemplateEval(p.hash_pvar) : null,
    callLoad: new CallLoad(() => st.sets, p.ds_hash_expire, p.ds_hash_initexpire),
    timers: [],
    tm: () => (tm ??= bindApi<TmApi>('tm')),
    noTmWarned: false,
    rnd: Math.random,
  };
  if (p.db_url) {
    const db = openDb(p.db_url, log);
    const version = await checkVersion(db, p.table_name, { min: 1, max: 4 });
    st.source = { kind: 'db', db, version };
  } else {
    // a relative list_file is taken from the config file's folder (as permissions' address_file)
    const base = dirname(resolve(core.script().file));
    st.source = { kind: 'file', path: isAbsolute(p.list_file) ? p.list_file : resolve(base, p.list_file) };
  }
  await reloadList(st, { initial: true });
  return st;
}

async function readRaw(st: DsState): Promise<RawDest[]> {
  const s = st.source;
  if (s.kind === 'file') return readListFile(s.path);
  if (s.kind === 'db') {
    const extra: [string, string][] = st.p.ds_db_extra_attrs
      .split(';')
      .filter((x) => x.trim())
      .map((x) => {
        const [a, c] = x.split('=');
        return [a.trim(), c.trim()];
      });
    return queryDispatcher(
      s.db,
      {
        table: st.p.table_name,
        setid: st.p.setid_col,
        destination: st.p.destination_col,
        flags: st.p.flags_col,
        priority: st.p.priority_col,
        attrs: st.p.attrs_col,
        extra,
      },
      s.version,
    );
  }
  return [];
}

/** replace the sets (used by reload, add, remove); states come from the new destinations */
export function installDests(st: DsState, dests: readonly DsDest[]): void {
  st.sets = buildSets(dests, st.rnd);
}

/**
 * Re-read the destinations. At startup an unreadable or malformed source throws (the proxy
 * does not start); later the old sets stay and the error is thrown for RPC/ds_reload to report.
 */
export async function reloadList(st: DsState, o: { initial?: boolean; rpc?: boolean } = {}): Promise<number> {
  const now = Date.now();
  if (o.rpc && st.p.reload_delta > 0 && now - st.lastReload < st.p.reload_delta * 1000) {
    throw new RpcError(500, `ongoing reload: wait ${st.p.reload_delta} s between reloads (reload_delta)`);
  }
  // only control-socket reloads count for reload_delta (Kamailio ds_rpc_reload_time)
  if (o.rpc) st.lastReload = now;
  const where = st.source.kind === 'file' ? st.source.path : st.source.kind === 'db' ? st.source.db.displayUrl : 'none';
  const fail = (msg: string): never => {
    st.log.error({ source: where }, `dispatcher: ${msg}${o.initial ? '' : '; keeping the previous destinations'}`);
    throw new ListError(msg);
  };
  let raw: RawDest[];
  try {
    raw = await readRaw(st);
  } catch (e) {
    return fail((e as Error).message);
  }
  const { dests, skipped } = await resolveAll(raw, { log: st.log, attrsNone: st.p.ds_attrs_none === 1 });
  if (skipped > 0 && st.p.ds_load_mode === 1) return fail(`${skipped} destination(s) could not be added (ds_load_mode=1)`);
  if (raw.length === 0) {
    if (!o.initial) return fail(`no destinations in ${where}`);
    st.log.warn({ source: where }, 'dispatcher: no destinations loaded; ds_select_* will fail');
  } else if (dests.length === 0) {
    return fail(`none of the ${raw.length} destinations in ${where} is usable`);
  }
  installDests(st, dests);
  st.log.info({ source: where, sets: st.sets.size, destinations: dests.length, skipped }, 'dispatcher: destinations loaded');
  return dests.length;
}

export function findDest(st: DsState, group: number, uri: string): DsDest | undefined {
  const u = uri.toLowerCase();
  return st.sets.get(group)?.dests.find((d) => d.uri.toLowerCase() === u);
}

function afterChange(st: DsState, set: DsSet, d: DsDest, old: number, info: DsEventInfo): void {
  if (skipDst(old) !== skipDst(d.flags)) {
    if (d.attrs.rweight > 0) initRelativeWeights(set, st.rnd);
    const up = !skipDst(d.flags);
    st.log.info({ setid: d.setid, uri: d.uri, code: info.code }, `dispatcher: destination ${up ? 'up' : 'down'}`);
    runDsEvent(st.core, up ? 'dispatcher:dst-up' : 'dispatcher:dst-down', d.uri, info, st.log);
  }
}

/**
 * Kamailio ds_update_state: set `state` on the destination `uri` of `group`, counting
 * failures while trying and successes while inactive. mode 1 skips the thresholds.
 */
export function updateState(st: DsState, group: number, uri: string, state: number, mode: 0 | 1, info: DsEventInfo): boolean {
  const set = st.sets.get(group);
  const u = uri.toLowerCase();
  const d = set?.dests.find((x) => x.uri.toLowerCase() === u);
  if (!set || !d) return false;
  const old = d.flags;
  const init = state;
  d.flags &= ~STATES_ALL;
  if (state & DsFlag.TRYING && old & DsFlag.INACTIVE) state = (state & ~DsFlag.TRYING) | DsFlag.INACTIVE;
  if (state & DsFlag.DISABLED) d.flags |= DsFlag.DISABLED;
  else d.flags |= state;
  if (state & DsFlag.TRYING) {
    d.probingCount++;
    if (mode === 1 || d.probingCount >= st.p.ds_probing_threshold) {
      d.flags = (d.flags & ~DsFlag.TRYING) | DsFlag.INACTIVE;
      d.probingCount = 0;
    }
  } else if (!(init & DsFlag.TRYING) && old & DsFlag.INACTIVE) {
    d.probingCount++;
    if (mode === 0 && d.probingCount < st.p.ds_inactive_threshold) {
      // not enough successes yet: stays inactive (and probing, if it was)
      d.flags |= DsFlag.INACTIVE | (old & DsFlag.PROBING);
    } else d.probingCount = 0;
  } else d.probingCount = 0;
  afterChange(st, set, d, old, info);
  return true;
}

/** RPC set_state: the state as given, no counters, no events (Kamailio ds_reinit_state) */
export function reinitState(st: DsState, group: number, uri: string | null, state: number, byDuid = false): number {
  const set = st.sets.get(group);
  if (!set) return 0;
  let n = 0;
  const u = uri?.toLowerCase() ?? null;
  for (const d of set.dests) {
    if (u !== null && (byDuid ? d.attrs.duid.toLowerCase() : d.uri.toLowerCase()) !== u) continue;
    const old = d.flags;
    d.flags = (d.flags & ~STATES_ALL) | state;
    d.probingCount = 0;
    if (d.attrs.rweight > 0 && skipDst(old) !== skipDst(d.flags)) initRelativeWeights(set, st.rnd);
    n++;
  }
  return n;
}

export function allDests(st: DsState): DsDest[] {
  return [...st.sets.values()].flatMap((s) => s.dests);
}
