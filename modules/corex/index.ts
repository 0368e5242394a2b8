// corex: Kamailio's core extensions. The connection-control functions some configs call
// (set_reply_no_connect, ...) are core functions in tser; this module keeps the rest that
// means something here.
import { defineModule, fn, param, ANY_ROUTE } from '../../src/core/module-api.js';

export default defineModule({
  name: 'corex',
  doc: 'core extensions',
  params: { alias_subdomains: param.ignored('str'), network_io_intercept: param.ignored('int'), min_msg_len: param.ignored('int') },
  init: () => undefined,
  functions: {
    // tser has no faked messages (Kamailio builds them for timer-driven routes)
    is_faked_msg: fn({ args: [], routes: ANY_ROUTE, run: () => -1 }),
  },
});
