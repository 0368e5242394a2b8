// registrar parameters: Kamailio 5.6 names and defaults; SER 0.9 names are a subset.
// A few defaults differ between the dialects; -1 / '' below mean "the dialect's default".
import { param, type ParamValues } from '../../src/core/module-api.js';

export const registrarParams = {
  default_expires: param.int(3600, { min: 0, live: true }),
  default_expires_range: param.int(0, { min: 0, max: 100, live: true }),
  expires_range: param.int(0, { min: 0, max: 100, live: true }),
  min_expires: param.int(60, { min: 0, live: true }),
  /** 0: raise a too short expires to min_expires; 1: reply 423 with Min-Expires (K56) */
  min_expires_mode: param.int(0, { min: 0, max: 1, live: true }),
  max_expires: param.int(0, { min: 0, live: true }),
  /** q × 1000 for contacts without q; -1 = unspecified (K56 Q_UNSPECIFIED) */
  default_q: param.int(-1, { min: -1, max: 1000, live: true }),
  append_branches: param.bool(true, { live: true }),
  max_contacts: param.int(0, { min: 0, live: true }),
  retry_after: param.int(0, { min: 0, live: true }),
  case_sensitive: param.bool(false, { live: true }),
  realm_prefix: param.str('', { live: true }),
  received_param: param.str('received', { live: true }),
  /** AVP holding the source address to save as `received` ("$avp(RECEIVED)", "i:42"); '' = dialect default */
  received_avp: param.any(''),
  method_filtering: param.bool(false, { live: true }),
  use_path: param.bool(false),
  /** 0 off, 1 lazy, 2 strict (needs Supported: path) */
  path_mode: param.int(2, { min: 0, max: 2 }),
  path_use_received: param.bool(false),
  /** SER 0.9: message flag saved as the contact's NAT flag and set again by lookup(); -1 = dialect default */
  nat_flag: param.any(-1),
  /** -1: follow usrloc's use_domain (SER 0.9 registrar had its own copy) */
  use_domain: param.int(-1, { min: -1, max: 1 }),
  contact_max_size: param.int(512, { min: 16 }),
  /** hard cap on contacts in one REGISTER (tser): above it the request gets 400 (503 with max_contacts) */
  max_contacts_per_request: param.int(100, { min: 1 }),

  // accepted for compatibility, no effect in tser
  gruu_enabled: param.ignored('int'),
  outbound_mode: param.ignored('int'),
  regid_mode: param.ignored('int'),
  desc_time_order: param.ignored('int'),
  xavp_cfg: param.ignored('str'),
  xavp_rcd: param.ignored('str'),
  sock_flag: param.ignored('int'),
  sock_hdr_name: param.ignored('str'),
  tcp_persistent_flag: param.ignored('int'),
  aor_avp: param.ignored('str'),
  reg_callid_avp: param.ignored('str'),
  path_check_local: param.ignored('int'),
  flow_timer: param.ignored('int'),
  event_callback: param.ignored('str'),
  lookup_filter_mode: param.ignored('int'),
  use_expired_contacts: param.ignored('int'),
  // sip-router (SER 2.x) names
  save_nat_flag: param.ignored('any'),
  load_nat_flag: param.ignored('any'),
};

export type RegistrarParams = ParamValues<typeof registrarParams>;
