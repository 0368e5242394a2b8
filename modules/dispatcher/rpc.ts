// Control-socket commands (Kamailio dispatcher RPC): list, reload, set_state,
// set_duid_state, ping_active, add, remove, hash. Output shapes follow kamcmd's.
import { RpcError, type RpcParams, type RpcSpec } from '../../src/core/module-api.js';
import { dsHash } from './hash.js';
import { flagsText, parseState } from './list.js';
import { resolveDest } from './load.js';
import { allDests, installDests, reinitState, reloadList, type DsState } from './state.js';

function str(p: RpcParams, i: number, what: string): string {
  const v = p[i];
  if (v === undefined || v === null || v === '') throw new RpcError(-32602, `Invalid params: missing ${what}`);
  return String(v);
}

function int(p: RpcParams, i: number, what: string, def?: number): number {
  const v = p[i];
  if ((v === undefined || v === null || v === '') && def !== undefined) return def;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw new RpcError(-32602, `Invalid params: ${what} must be an integer`);
  return n;
}

function listSets(st: DsState, short: boolean) {
  return {
    NRSETS: st.sets.size,
    RECORDS: [...st.sets.values()].map((set) => ({
      SET: {
        ID: set.id,
        TARGETS: set.dests.map((d) => {
          const dest: Record<string, unknown> = { URI: d.uri, FLAGS: flagsText(d.flags) };
          if (!short) {
            dest.PRIORITY = d.priority;
            if (d.attrs.body) {
              dest.ATTRS = {
                BODY: d.attrs.body,
                DUID: d.attrs.duid,
                MAXLOAD: d.attrs.maxload,
                WEIGHT: d.attrs.weight,
                RWEIGHT: d.attrs.rweight,
                SOCKET: d.attrs.socket,
                SOCKNAME: d.attrs.sockname,
                OBPROXY: d.attrs.obproxy,
              };
            }
            if (d.attrs.duid) dest.LOAD = d.dload;
          }
          return { DEST: dest };
        }),
      },
    })),
  };
}

function stateArg(p: RpcParams): number {
  const s = parseState(str(p, 0, 'state (a|i|t|d, optionally followed by p)'));
  if (s === null) throw new RpcError(-32602, 'Invalid params: state must be a, i, t or d, optionally followed by p');
  return s;
}

export const rpc: Record<string, RpcSpec<DsState>> = {
  'dispatcher.list': {
    help: 'destination sets with state flags (A/I/T/D + P/X), priority and attributes; "short" for URI and flags only',
    run: (st, p) => {
      if (st.sets.size === 0) throw new RpcError(500, 'No destination sets');
      return listSets(st, p[0] === 'short');
    },
  },
  'dispatcher.reload': {
    help: 'reload the list file or table; on bad data the previous destinations stay',
    run: async (st) => {
      if (st.p.ds_hash_size > 0) throw new RpcError(500, 'reload is disabled with call load distribution (ds_hash_size > 0)');
      try {
        await reloadList(st, { rpc: true });
      } catch (e) {
        if (e instanceof RpcError) throw e;
        throw new RpcError(500, `Reload failed: ${(e as Error).message}`);
      }
      return 'Ok';
    },
  },
  'dispatcher.set_state': {
    help: 'set the state of a destination: set_state <a|i|t|d>[p] <group> <uri|all>',
    run: (st, p) => {
      const state = stateArg(p);
      const group = int(p, 1, 'group');
      const addr = str(p, 2, 'address');
      const n = reinitState(st, group, addr === 'all' ? null : addr, state);
      if (n === 0) throw new RpcError(404, `destination ${addr} not found in group ${group}`);
      return 'Ok';
    },
  },
  'dispatcher.set_duid_state': {
    help: 'set the state of the destinations with a duid: set_duid_state <state> <group> <duid>',
    run: (st, p) => {
      const state = stateArg(p);
      const group = int(p, 1, 'group');
      const duid = str(p, 2, 'duid');
      if (reinitState(st, group, duid, state, true) === 0) throw new RpcError(404, `duid ${duid} not found in group ${group}`);
      return 'Ok';
    },
  },
  'dispatcher.ping_active': {
    help: 'keepalives on (1) or off (0); without a value, the current setting',
    run: (st, p) => {
      if (p[0] === undefined || p[0] === null || p[0] === '') return { OldPingState: st.pingActive ? 1 : 0 };
      const v = int(p, 0, 'state');
      const old = st.pingActive ? 1 : 0;
      st.pingActive = v !== 0;
      return { NewPingState: v !== 0 ? 1 : 0, OldPingState: old };
    },
  },
  'dispatcher.add': {
    help: 'add a destination in memory: add <group> <uri> [flags [priority [attrs]]] (a reload drops it)',
    run: async (st, p) => {
      const raw = {
        setid: int(p, 0, 'group'),
        uri: str(p, 1, 'address'),
        flags: int(p, 2, 'flags', 0),
        priority: int(p, 3, 'priority', 0),
        attrs: p[4] === undefined || p[4] === null ? '' : String(p[4]),
        description: '',
        where: 'rpc dispatcher.add',
      };
      const d = await resolveDest(raw, { log: st.log, attrsNone: st.p.ds_attrs_none === 1 });
      if (!d) throw new RpcError(500, `cannot add ${raw.uri}: bad URI or unresolvable host`);
      installDests(st, [...allDests(st), d]);
      return 'Ok';
    },
  },
  'dispatcher.remove': {
    help: 'remove a destination from memory: remove <group> <uri> (a reload brings it back)',
    run: (st, p) => {
      const group = int(p, 0, 'group');
      const uri = str(p, 1, 'address');
      const all = allDests(st);
      const keep = all.filter((d) => !(d.setid === group && d.uri === uri));
      if (keep.length === all.length) throw new RpcError(404, `destination ${uri} not found in group ${group}`);
      installDests(st, keep);
      return 'Ok';
    },
  },
  'dispatcher.hash': {
    help: 'hash of one or two values and its slot: hash <nslots> <val1> [val2]',
    run: (_st, p) => {
      const n = int(p, 0, 'nslots');
      const h = dsHash(str(p, 1, 'value'), p[2] === undefined || p[2] === null ? null : String(p[2]));
      return n > 0 ? { hashid: h, slot: h % n } : { hashid: h };
    },
  },
};
