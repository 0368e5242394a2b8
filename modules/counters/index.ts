// counters: script-defined statistics counters (Kamailio counters module): cnt_inc,
// cnt_add, cnt_reset; values show up in stats.get_statistics under their group.
import { arg, defineModule, fnFor, param, ANY_ROUTE } from '../../src/core/module-api.js';
import type { Counter, Stats } from '../../src/core/stats.js';

interface CountersState {
  stats: Stats;
  cache: Map<string, Counter>;
}

const fn = fnFor<CountersState>();

function counter(st: CountersState, name: string): Counter {
  let c = st.cache.get(name);
  if (!c) {
    const dot = name.indexOf('.');
    c = dot > 0 ? st.stats.counter(name.slice(0, dot), name.slice(dot + 1)) : st.stats.counter('script', name);
    st.cache.set(name, c);
  }
  return c;
}

export default defineModule({
  name: 'counters',
  doc: 'script counters',
  params: { script_counter: param.ignored('str'), script_cnt_grp_name: param.ignored('str') },
  init: (env): CountersState => ({ stats: env.core.stats, cache: new Map() }),
  functions: {
    cnt_inc: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (_c, st, n) => ((counter(st, n).value += 1), 1) }),
    cnt_add: fn({ args: [arg.str(), arg.int()], routes: ANY_ROUTE, run: (_c, st, n, v) => ((counter(st, n).value += v), 1) }),
    cnt_reset: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (_c, st, n) => ((counter(st, n).value = 0), 1) }),
  },
});
