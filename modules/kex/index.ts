// kex: Kamailio's "core extensions". Its RPC methods (core.*, stats.*) are built into the
// tser control plane; the script functions here are the $du helpers configs use
// (setdsturi, resetdsturi, isdsturiset) and setdebug/resetdebug, accepted as no-ops (the
// log level is process-wide in tser: change it with `cfg.set core debug N`).
import { ANY_ROUTE, arg, defineModule, fn, optional, REQ_FAIL_BRANCH, Ret } from '../../src/core/module-api.js';

export default defineModule({
  name: 'kex',
  doc: 'core extensions: $du helpers; RPC methods are provided by the tser control plane',
  params: {},
  functions: {
    setdsturi: fn({
      args: [arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, uri) => {
        if (!/^(sips?|tel):/i.test(uri)) return Ret.FALSE;
        ctx.dstUri = uri;
        return Ret.OK;
      },
    }),
    resetdsturi: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx) => {
        ctx.dstUri = null;
        return Ret.OK;
      },
    }),
    isdsturiset: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.dstUri ? Ret.OK : Ret.FALSE) }),
    setdebug: fn({ args: [optional(arg.int())], routes: ANY_ROUTE, run: () => Ret.OK }),
    resetdebug: fn({ args: [], routes: ANY_ROUTE, run: () => Ret.OK }),
  },
  init: () => undefined,
});
