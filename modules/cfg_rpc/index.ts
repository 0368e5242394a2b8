// cfg_rpc: Kamailio's cfg.* RPC methods. tser's control plane always offers cfg.list,
// cfg.get, cfg.set(i|s), cfg.set_now_int/string (core debug and every module parameter
// declared live), so this module exists only so that `loadmodule "cfg_rpc.so"` loads.
import { defineModule } from '../../src/core/module-api.js';

export default defineModule({
  name: 'cfg_rpc',
  doc: 'run-time settings over RPC (provided by the tser control plane)',
  params: {},
  functions: {},
  init: () => undefined,
});
