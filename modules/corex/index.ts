// corex: Kamailio's core extensions. The connection-control functions some configs call
// (set_reply_no_connect, ...) are core functions in tser; this module keeps the rest that
// means something here, and corex.list_sockets (what `kamctl srv sockets` calls).
import { defineModule, fn, param, ANY_ROUTE } from '../../src/core/module-api.js';
import type { CoreApi } from '../../src/core/core-api.js';

interface CorexState {
  core: CoreApi;
}

/** the listen sockets in corex.list_sockets' layout (Kamailio 5.6) */
function listSockets(st: CorexState): unknown[] {
  return st.core.listens().map((s) => {
    const advertised = s.advertiseHost !== s.ip || s.advertisePort !== s.port;
    return {
      PROTO: s.proto,
      NAME: s.ip,
      ADDRLIST: { ADDR: s.ip },
      PORT: String(s.port),
      MCAST: 'no',
      MHOMED: 'no',
      VIRTUAL: 'no',
      SOCKNAME: '-',
      ADVERTISE: advertised ? `${s.advertiseHost}:${s.advertisePort}` : '-',
    };
  });
}

export default defineModule({
  name: 'corex',
  doc: 'core extensions',
  params: { alias_subdomains: param.ignored('str'), network_io_intercept: param.ignored('int'), min_msg_len: param.ignored('int') },
  init: (env): CorexState => ({ core: env.core }),
  functions: {
    // tser has no faked messages (Kamailio builds them for timer-driven routes)
    is_faked_msg: fn({ args: [], routes: ANY_ROUTE, run: () => -1 }),
  },
  rpc: {
    'corex.list_sockets': { help: 'List the listen sockets', run: (st: CorexState) => listSockets(st) },
  },
});
