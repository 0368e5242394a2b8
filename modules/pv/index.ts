// pv: pseudo-variables are part of the tser core; this module exists so Kamailio configs
// load it.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'pv',
  doc: 'pseudo-variables (built into the core)',
  params: {
    shvset: param.ignored('str'),
    varset: param.ignored('str'),
    avp_aliases: param.ignored('str'),
  },
  functions: {},
  init: () => undefined,
});
