// dispatcher: load balancing and failover over destination sets (Kamailio 5.6 dispatcher):
// list file or `dispatcher` table, algorithms 0-13, failover list for failure_route,
// OPTIONS keepalives with active/trying/inactive/disabled states, RPC control. Export table.
import { ANY_ROUTE, arg, ArgError, defineModule, fnFor, optional, REQ_FAIL_BRANCH, Ret, Route } from '../../src/core/module-api.js';
import { startCallLoadSweep } from './call-load-timer.js';
import * as f from './functions.js';
import { parseState } from './list.js';
import { dsParams } from './params.js';
import { parseReplyCodes } from './ping-codes.js';
import { startProbing } from './probe.js';
import { pvs } from './pvs.js';
import { rpc } from './rpc.js';
import { createState, reloadList, type DsState } from './state.js';

const fn = fnFor<DsState>();

const REQ_FAIL = Route.REQUEST | Route.FAILURE;

const algArg = () => arg.int({ min: 0 });
const limitArg = () => optional(arg.int({ min: 0 }));
const stateArg = () =>
  arg.custom('dispatcher state', (s) => {
    const v = parseState(s);
    if (v === null) throw new ArgError(`state must be a, i, t or d, optionally followed by p; got "${s}"`);
    return v;
  });

export default defineModule({
  name: 'dispatcher',
  doc: 'load balancing over destination sets with failover and OPTIONS keepalives',
  deps: [{ module: 'tm', optional: true }],
  params: dsParams,
  init: async (env) => {
    const st = await createState(env.params, env.log, env.core, env.bindApi);
    startProbing(st);
    startCallLoadSweep(st);
    return st;
  },
  reconfigure: (st, p) => {
    st.p = { ...st.p, ds_probing_threshold: p.ds_probing_threshold, ds_inactive_threshold: p.ds_inactive_threshold };
    st.replyCodes = parseReplyCodes(p.ds_ping_reply_codes);
  },
  destroy: async (st) => {
    for (const t of st.timers) clearInterval(t);
    st.timers = [];
    if (st.source.kind === 'db') await st.source.db.close();
  },
  pvs,
  rpc,
  functions: {
    ds_select_dst: fn({
      args: [arg.int(), algArg(), limitArg()],
      routes: REQ_FAIL,
      run: (ctx, st, set, alg, limit) => f.dsSelect(ctx, st, set, alg, limit ?? 0, f.SetOp.DSTURI),
    }),
    ds_select_domain: fn({
      args: [arg.int(), algArg(), limitArg()],
      routes: REQ_FAIL,
      run: (ctx, st, set, alg, limit) => f.dsSelect(ctx, st, set, alg, limit ?? 0, f.SetOp.RURI),
    }),
    ds_select: fn({
      args: [arg.int(), algArg(), limitArg()],
      routes: ANY_ROUTE,
      run: (ctx, st, set, alg, limit) => f.dsSelect(ctx, st, set, alg, limit ?? 0, f.SetOp.XAVP),
    }),
    ds_select_routes: fn({
      args: [arg.str(), arg.str(), limitArg()],
      routes: ANY_ROUTE,
      run: (ctx, st, rules, mode, limit) => f.dsSelectRoutes(ctx, st, rules, mode, limit ?? 0),
    }),
    ds_next_dst: fn({ args: [], routes: REQ_FAIL, run: (ctx, st) => f.dsUpdate(ctx, st, true, f.SetOp.DSTURI) }),
    ds_next_domain: fn({ args: [], routes: REQ_FAIL, run: (ctx, st) => f.dsUpdate(ctx, st, true, f.SetOp.RURI) }),
    ds_set_dst: fn({ args: [], routes: REQ_FAIL, run: (ctx, st) => f.dsUpdate(ctx, st, false, f.SetOp.DSTURI) }),
    ds_set_domain: fn({ args: [], routes: REQ_FAIL, run: (ctx, st) => f.dsUpdate(ctx, st, false, f.SetOp.RURI) }),
    ds_mark_dst: fn({
      args: [optional(stateArg())],
      routes: REQ_FAIL,
      // no argument: inactive (Kamailio)
      run: (ctx, st, state) => f.dsMarkDst(ctx, st, state ?? 1),
    }),
    ds_list_exists: fn({ args: [arg.int()], routes: ANY_ROUTE, run: (_ctx, st, set) => f.dsListExists(st, set) }),
    ds_list_exist: fn({ args: [arg.int()], routes: ANY_ROUTE, run: (_ctx, st, set) => f.dsListExists(st, set) }),
    ds_is_active: fn({
      args: [arg.int(), optional(arg.str())],
      routes: ANY_ROUTE,
      run: (_ctx, st, set, uri) => f.dsIsActive(st, set, uri),
    }),
    ds_is_from_list: fn({
      args: [optional(arg.int()), optional(arg.int({ min: 0 })), optional(arg.str())],
      routes: ANY_ROUTE,
      async: true,
      // no arguments or only the group: match IP and port, not the protocol (Kamailio)
      run: (ctx, st, group, mode, uri) => f.dsIsFromList(ctx, st, group ?? -1, mode ?? 2, uri ?? ''),
    }),
    ds_load_update: fn({ args: [], routes: REQ_FAIL_BRANCH | Route.ONREPLY, run: (ctx, st) => f.dsLoadUpdate(ctx, st) }),
    ds_load_unset: fn({ args: [], routes: REQ_FAIL_BRANCH | Route.ONREPLY, run: (ctx, st) => f.dsLoadUnset(ctx, st) }),
    ds_reload: fn({
      args: [],
      routes: ANY_ROUTE,
      async: true,
      run: (_ctx, st) =>
        reloadList(st).then(
          () => Ret.OK,
          () => Ret.FALSE,
        ),
    }),
  },
});
