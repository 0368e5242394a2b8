// usrloc module parameters: Kamailio 5.6 names and defaults (SER 0.9 names are a subset).
import { param, type ParamValues } from '../../src/core/module-api.js';

const col = (name: string) => param.str(name);

export const usrlocParams = {
  /** empty: the dialect's default URL (see README) */
  db_url: param.str(''),
  db_mode: param.int(0, { min: 0, max: 4 }),
  timer_interval: param.int(60, { min: 1, max: 86400 }),
  /** tser, db_mode 2: ms between write-back flushes of changed contacts (the most a crash loses); 0 = every timer_interval */
  write_back_interval: param.int(1000, { min: 0, max: 86_400_000 }),
  use_domain: param.bool(false),
  desc_time_order: param.bool(false),
  matching_mode: param.int(0, { min: 0, max: 2 }),
  cseq_delay: param.int(20, { min: 0 }),
  /** branch flag marking NATed contacts; -1 = not set */
  nat_bflag: param.int(-1, { min: -1, max: 31 }),
  db_load: param.bool(true),
  fetch_rows: param.int(2000, { min: 1 }),
  version_table: param.bool(true),
  /** usrloc tables to load at start, comma separated */
  preload: param.str(''),
  /** 0: expires/last_modified are DATETIME; 1: integer unix seconds (K56 expires_type) */
  expires_type: param.int(0, { min: 0, max: 2 }),
  /** seconds an expired contact is kept before it is removed (K56 rm_expired_delay) */
  rm_expired_delay: param.int(0, { min: 0 }),

  user_column: col('username'),
  domain_column: col('domain'),
  contact_column: col('contact'),
  expires_column: col('expires'),
  q_column: col('q'),
  callid_column: col('callid'),
  cseq_column: col('cseq'),
  flags_column: col('flags'),
  cflags_column: col('cflags'),
  user_agent_column: col('user_agent'),
  received_column: col('received'),
  path_column: col('path'),
  socket_column: col('socket'),
  methods_column: col('methods'),
  instance_column: col('instance'),
  reg_id_column: col('reg_id'),
  ruid_column: col('ruid'),
  last_mod_column: col('last_modified'),
  server_id_column: col('server_id'),
  connection_id_column: col('connection_id'),
  keepalive_column: col('keepalive'),
  partition_column: col('partition'),

  // accepted for compatibility, no effect in tser
  hash_size: param.ignored('int'),
  db_insert_update: param.ignored('int'),
  db_update_as_insert: param.ignored('int'),
  db_check_update: param.ignored('int'),
  db_ops_ruid: param.ignored('int'),
  db_timer_clean: param.ignored('int'),
  db_skip_delete: param.ignored('int'),
  db_raw_fetch_type: param.ignored('int'),
  db_clean_tcp: param.ignored('int'),
  timer_procs: param.ignored('int'),
  handle_lost_tcp: param.ignored('int'),
  close_expired_tcp: param.ignored('int'),
  skip_remote_socket: param.ignored('int'),
  server_id_filter: param.ignored('int'),
  load_rank: param.ignored('int'),
  xavp_contact: param.ignored('str'),
  ka_mode: param.ignored('int'),
  ka_method: param.ignored('str'),
  ka_from: param.ignored('str'),
  ka_domain: param.ignored('str'),
  ka_filter: param.ignored('int'),
  ka_timeout: param.ignored('int'),
  ka_loglevel: param.ignored('int'),
  ka_logmsg: param.ignored('str'),
  method_column: param.ignored('str'),
  replicate_column: param.ignored('str'),
  state_column: param.ignored('str'),
};

export type UsrlocParams = ParamValues<typeof usrlocParams>;
