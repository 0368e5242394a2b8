// xlog: the functions (xlog, xlogl, xdbg, xinfo, …) are core in tser and take
// pseudo-variables in their text; this module exists so Kamailio configs load it.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'xlog',
  doc: 'formatted logging (functions are in the core)',
  params: {
    buf_size: param.ignored('int'),
    force_color: param.ignored('int'),
    long_format: param.ignored('int'),
    prefix: param.ignored('str'),
    log_facility: param.ignored('str'),
    log_colors: param.ignored('str'),
    methods_filter: param.ignored('int'),
  },
  functions: {},
  init: () => undefined,
});
