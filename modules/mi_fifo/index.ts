// mi_fifo: the MI FIFO of OpenSIPS and Kamailio < 5.0. tser serves it with the control
// plane's FIFO reader: SER-style ":cmd:reply\n args \n\n" requests and OpenSIPS 3 style
// ":reply:{json-rpc}" requests both work; commands are the RPC methods.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'mi_fifo',
  doc: 'management FIFO (SER text or JSON-RPC requests), served by the tser control plane',
  params: {
    fifo_name: param.str(''),
    fifo_mode: param.int(0o600, { min: 0, max: 0o777 }),
    reply_dir: param.str('/tmp/'),
    fifo_user: param.ignored(),
    fifo_group: param.ignored(),
    reply_indent: param.ignored(),
    pretty_printing: param.ignored(),
    trace_destination: param.ignored(),
    trace_bwlist: param.ignored(),
  },
  functions: {},
  init: () => undefined,
});
