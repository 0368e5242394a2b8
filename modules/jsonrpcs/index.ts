// jsonrpcs: Kamailio's JSON-RPC server module. In tser the control plane (src/control)
// serves JSON-RPC itself; this module only holds the parameters that say where: a FIFO
// (fifo_name, transport bit 2), a UDP socket (dgram_socket "udp:ADDR:PORT", bit 4) and a
// TCP socket (tcp_socket, bit 8). Changing them needs a restart.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'jsonrpcs',
  doc: 'JSON-RPC 2.0 control transports (FIFO, UDP, TCP); served by the tser control plane',
  params: {
    pretty_format: param.int(1, { min: 0, max: 1 }), // Kamailio's default; kamctl's filters expect it
    /** bit mask: 1 http (not in tser), 2 fifo, 4 datagram, 8 tcp; 0 = all */
    transport: param.int(6, { min: 0, max: 15 }),
    fifo_name: param.str('tser_rpc.fifo'),
    fifo_mode: param.int(0o600, { min: 0, max: 0o777 }),
    fifo_reply_dir: param.str('/tmp/'),
    fifo_user: param.ignored(),
    fifo_group: param.ignored(),
    dgram_socket: param.str(''),
    dgram_workers: param.ignored(),
    dgram_timeout: param.ignored(),
    dgram_mode: param.ignored(),
    dgram_user: param.ignored(),
    dgram_group: param.ignored(),
    tcp_socket: param.str(''),
  },
  functions: {},
  init: () => undefined,
});
