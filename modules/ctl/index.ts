// ctl: Kamailio's control-socket module. tser's control socket speaks JSON-RPC (one JSON
// document per request), not BINRPC, at the address given by `binrpc` (unix stream path,
// or tcp:/udp: host:port, loopback unless written explicitly); `fifo` opens a FIFO with the
// SER text protocol. Without this module the default socket <run dir>/tser_ctl is used.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'ctl',
  doc: 'control socket address and permissions (JSON-RPC in tser)',
  params: {
    binrpc: param.str(''),
    mode: param.int(0o600, { min: 0, max: 0o777 }),
    user: param.ignored(),
    group: param.ignored(),
    fifo: param.str(''),
    autoconversion: param.ignored(),
    binrpc_max_body_size: param.ignored(),
    binrpc_struct_max_body_size: param.ignored(),
    binrpc_buffer_size: param.ignored(),
  },
  functions: {},
  init: () => undefined,
});
