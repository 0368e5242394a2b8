// kex: Kamailio's "core extensions". Its RPC methods (core.*, stats.*) are built into the
// tser control plane and its script functions are core functions in tser, so this module
// exists only so that `loadmodule "kex.so"` loads.
import { defineModule } from '../../src/core/module-api.js';

export default defineModule({
  name: 'kex',
  doc: 'core extensions (RPC and functions provided by the tser core)',
  params: {},
  functions: {},
  init: () => undefined,
});
