// rr: record routing and loose routing (Kamailio rr module).
import { arg, defineModule, fnFor, optional, Route, REQ_FAIL_BRANCH } from '../../src/core/module-api.js';
import { rrParams, type RrParams } from './params.js';
import { recordRoute, recordRoutePreset } from './record.js';
import { looseRoute } from './loose.js';

interface RrState {
  params: RrParams;
}

const fn = fnFor<RrState>();

export default defineModule({
  name: 'rr',
  doc: 'Record-Route and loose routing',
  params: rrParams,
  init: (env): RrState => ({ params: env.params }),
  reconfigure: (st, params) => {
    st.params = params;
  },
  functions: {
    record_route: fn({
      args: [optional(arg.str())],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, st, extra) => recordRoute(ctx, st.params, extra),
    }),
    record_route_preset: fn({
      args: [arg.str(), optional(arg.str())],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, st, a, b) => recordRoutePreset(ctx, st.params, a, b),
    }),
    loose_route: fn({ args: [], routes: Route.REQUEST, run: (ctx) => looseRoute(ctx) }),
    add_rr_param: fn({
      args: [arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _st, p) => {
        const list = ctx.getExt<string[]>('rr.params') ?? [];
        list.push(p.startsWith(';') ? p : `;${p}`);
        ctx.setExt('rr.params', list);
        return 1;
      },
    }),
    check_route_param: fn({
      args: [arg.regex()],
      routes: Route.REQUEST,
      run: (ctx, _st, re) => {
        const params = ctx.getExt<[string, string | null][]>('rr.routeParams');
        if (!params) return -1;
        const text = params.map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
        return re.test(text) ? 1 : -1;
      },
    }),
    is_direction: fn({
      args: [arg.custom('direction', (s) => {
        const d = s.toLowerCase();
        if (d !== 'downstream' && d !== 'upstream') throw new Error('expected "downstream" or "upstream"');
        return d;
      })],
      routes: Route.REQUEST,
      run: (ctx, _st, dir) => {
        const ftag = ctx.getExt<string | null>('rr.ftag');
        if (ftag === undefined || ftag === null) return -1;
        const downstream = ctx.msg.from().tag === ftag;
        return (dir === 'downstream') === downstream ? 1 : -1;
      },
    }),
    remove_record_route: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx) => (ctx.msg.removeHeaders('record-route') > 0 ? 1 : -1),
    }),
  },
});
