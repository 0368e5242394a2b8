// ctl: Kamailio's control-socket module. Its `binrpc` addresses (repeatable: unix stream
// path, tcp:/udp: host:port, loopback unless written explicitly) speak BINRPC, so Debian's
// kamcmd works unchanged, and JSON-RPC on the same sockets (the first byte tells them
// apart); `fifo` opens a FIFO with the SER text protocol. Sockets are opened by the control
// plane (src/control/endpoints.ts); this module only declares the parameters.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'ctl',
  doc: 'control sockets: BINRPC (kamcmd) and JSON-RPC, addresses and permissions',
  params: {
    binrpc: param.str(''),
    mode: param.int(0o600, { min: 0, max: 0o777 }),
    user: param.str(''),
    group: param.str(''),
    fifo: param.str(''),
    autoconversion: param.ignored(),
    binrpc_max_body_size: param.ignored(),
    binrpc_struct_max_body_size: param.ignored(),
    binrpc_buffer_size: param.ignored(),
  },
  functions: {},
  init: () => undefined,
});
