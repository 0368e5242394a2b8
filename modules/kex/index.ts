// kex: Kamailio's "core extensions". Its RPC methods (core.*, stats.*) are built into the
// tser control plane and its $du helpers (setdsturi, resetdsturi, isdsturiset) are core
// functions; setdebug/resetdebug are accepted as no-ops: Kamailio scopes them to one worker
// process, tser's log level is process-wide (change it with `cfg.set core debug N`).
import { ANY_ROUTE, arg, defineModule, fn, optional, Ret } from '../../src/core/module-api.js';

export default defineModule({
  name: 'kex',
  doc: 'core extensions (RPC methods and $du helpers are provided by the tser core)',
  params: {},
  functions: {
    setdebug: fn({ args: [optional(arg.int())], routes: ANY_ROUTE, run: () => Ret.OK }),
    resetdebug: fn({ args: [], routes: ANY_ROUTE, run: () => Ret.OK }),
  },
  init: () => undefined,
});
