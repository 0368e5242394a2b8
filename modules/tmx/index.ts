// tmx: tm extensions. t_precheck_trans() tells whether a request is a retransmission of
// one still being processed by the script (before tm created its transaction, e.g. while
// an auth DB query is in flight); tm absorbs retransmissions once the transaction exists.
import { defineModule, fnFor, Route } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';

/** how long a request counts as "being processed" */
const WINDOW_MS = 5000;

interface TmxState {
  seen: Map<string, number>;
}

const fn = fnFor<TmxState>();

function key(ctx: MsgContext): string | null {
  try {
    const via = ctx.msg.topVia();
    return `${ctx.msg.callId()}|${ctx.msg.cseq().seq}|${ctx.msg.method}|${via.branch ?? ''}|${via.host}`;
  } catch {
    return null;
  }
}

export default defineModule({
  name: 'tmx',
  doc: 'tm extensions',
  deps: [{ module: 'tm', optional: true }],
  params: {},
  init: (): TmxState => ({ seen: new Map() }),
  functions: {
    t_precheck_trans: fn({
      args: [],
      routes: Route.REQUEST,
      run: (ctx, st) => {
        const k = key(ctx);
        if (k === null) return -1;
        const now = Date.now();
        if (st.seen.size > 10000) for (const [s, t] of st.seen) if (now - t > WINDOW_MS) st.seen.delete(s);
        const t = st.seen.get(k);
        if (t !== undefined && now - t < WINDOW_MS) return 1;
        st.seen.set(k, now);
        return -1;
      },
    }),
  },
});
