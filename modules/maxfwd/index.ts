// maxfwd: Max-Forwards processing (RFC 3261 §16.6 step 3). Return codes as Kamailio/SER:
// 2 header added, 1 decremented, -1 value was 0 (script sends 483), -2 unparsable.
import { arg, defineModule, fnFor, param, REQ_FAIL_BRANCH, Route, type ParamValues } from '../../src/core/module-api.js';
import type { SipMessage } from '../../src/sip/message.js';

export function processMaxfwd(msg: SipMessage, initial: number, limit: number): number {
  const hf = msg.header('max-forwards');
  if (!hf) {
    msg.appendHeader(`Max-Forwards: ${Math.min(initial, limit)}`);
    return 2;
  }
  const text = (hf.newValue ?? hf.value).trim();
  if (!/^\d{1,10}$/.test(text)) return -2;
  let v = Number(text);
  if (v === 0) return -1;
  v = Math.min(v - 1, limit);
  msg.setHeaderValue(hf, String(v));
  return 1;
}

function currentValue(msg: SipMessage): number | null {
  const hf = msg.header('max-forwards');
  if (!hf) return null;
  const t = (hf.newValue ?? hf.value).trim();
  return /^\d+$/.test(t) ? Number(t) : -1;
}

const mfArg = () => arg.int({ min: 1, max: 255 });

const params = {
  max_limit: param.int(70, { min: 1, max: 255, live: true }),
};

interface MaxfwdState {
  params: ParamValues<typeof params>;
}

const fn = fnFor<MaxfwdState>();

const processFn = fn({
  args: [mfArg()],
  routes: Route.REQUEST | Route.FAILURE,
  run: (ctx, st, max) => processMaxfwd(ctx.msg, max, st.params.max_limit),
});

export default defineModule({
  name: 'maxfwd',
  doc: 'Max-Forwards checks',
  params,
  init: (env): MaxfwdState => ({ params: env.params }),
  reconfigure: (st, params) => {
    st.params = params;
  },
  functions: {
    // SER 0.9 name, Kamailio name and alias: one function
    mf_process_maxfwd_header: processFn,
    maxfwd_process: processFn,
    process_maxfwd: processFn,
    is_maxfwd_lt: fn({
      args: [mfArg()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _st, n) => {
        const v = currentValue(ctx.msg);
        if (v === null) return -1;
        if (v < 0) return -2;
        return v < n ? 1 : -1;
      },
    }),
    maxfwd_at_least: fn({
      args: [mfArg()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _st, n) => {
        const v = currentValue(ctx.msg);
        if (v === null) return -1;
        if (v < 0) return -2;
        return v >= n ? 1 : -1;
      },
    }),
  },
});
