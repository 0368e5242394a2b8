import { param, type ParamValues } from '../../src/core/module-api.js';

export const rrParams = {
  enable_full_lr: param.bool(false, { live: true }),
  append_fromtag: param.bool(true, { live: true }),
  enable_double_rr: param.int(1, { min: 0, max: 2, live: true }),
  add_username: param.bool(false, { live: true }),
  ignore_user: param.ignored('int'),
  custom_user_avp: param.ignored('str'),
  force_send_socket: param.ignored('int'),
  enable_socket_mismatch_warning: param.ignored('int'),
};

export type RrParams = ParamValues<typeof rrParams>;
