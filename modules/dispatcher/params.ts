// dispatcher module parameters (Kamailio 5.6 README.dispatcher §3), with their defaults.
// Parameters about features tser does not have (latency stats, sockets, KEMI callbacks) are
// accepted and ignored so Kamailio configs load.
import { param, type ParamValues } from '../../src/core/module-api.js';
import { readPv } from '../../src/script/template.js';
import { checkPvName } from '../../src/script/pv-target.js';
import { parseReplyCodes } from './ping-codes.js';

function checkCodes(s: string): string | null {
  try {
    parseReplyCodes(s);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function checkExtraAttrs(s: string): string | null {
  if (!s) return null;
  for (const part of s.split(';')) {
    if (!part.trim()) continue;
    if (!/^\s*[A-Za-z0-9_.-]+\s*=\s*[A-Za-z0-9_]+\s*$/.test(part)) return `expected "name=column;...", got "${part}"`;
  }
  return null;
}

function checkTemplate(s: string): string | null {
  for (let i = s.indexOf('$'); i >= 0; i = s.indexOf('$', i + 1)) {
    if (s[i + 1] === '$') {
      i++;
      continue;
    }
    if (!readPv(s, i)) return `bad pseudo-variable at "${s.slice(i, i + 12)}"`;
  }
  return null;
}

export const dsParams = {
  list_file: param.str('/etc/kamailio/dispatcher.list'),
  db_url: param.str(''),
  table_name: param.str('dispatcher'),
  setid_col: param.str('setid'),
  destination_col: param.str('destination'),
  flags_col: param.str('flags'),
  priority_col: param.str('priority'),
  attrs_col: param.str('attrs'),
  force_dst: param.int(1, { min: 0, max: 1 }),
  /** bit 1: hash only the URI user; bit 2 (failover) is always on in tser */
  flags: param.int(0, { min: 0 }),
  use_default: param.int(0, { min: 0, max: 1 }),
  xavp_dst: param.str('_dsdst_'),
  xavp_dst_mode: param.int(0, { min: 0 }),
  xavp_ctx: param.str('_dsctx_'),
  xavp_ctx_mode: param.int(0, { min: 0 }),
  hash_pvar: param.str('', { validate: checkTemplate }),
  setid_pvname: param.str('', { validate: checkPvName }),
  attrs_pvname: param.str('', { validate: checkPvName }),
  ds_ping_method: param.str('OPTIONS', { validate: (s) => (/^[A-Za-z]+$/.test(s) ? null : 'a SIP method name') }),
  ds_ping_from: param.str('sip:dispatcher@localhost'),
  /** seconds between keepalive rounds; 0 = no probing */
  ds_ping_interval: param.int(0, { min: 0 }),
  ds_probing_threshold: param.int(1, { min: 1, live: true }),
  ds_inactive_threshold: param.int(1, { min: 1, live: true }),
  ds_ping_reply_codes: param.str('', { validate: checkCodes, live: true }),
  ds_probing_mode: param.int(0, { min: 0, max: 3 }),
  ds_hash_size: param.int(0, { min: 0 }),
  ds_hash_expire: param.int(7200, { min: 1 }),
  ds_hash_initexpire: param.int(7200, { min: 1 }),
  ds_hash_check_interval: param.int(30, { min: 1 }),
  outbound_proxy: param.str(''),
  ds_attrs_none: param.int(0, { min: 0, max: 1 }),
  ds_db_extra_attrs: param.str('', { validate: checkExtraAttrs }),
  ds_load_mode: param.int(0, { min: 0, max: 1 }),
  reload_delta: param.int(5, { min: 0 }),
  // Kamailio 1.x-4.x AVP names, still found in old configs: filled on selection
  dst_avp: param.str('', { validate: checkPvName }),
  grp_avp: param.str('', { validate: checkPvName }),
  cnt_avp: param.str('', { validate: checkPvName }),
  attrs_avp: param.str('', { validate: checkPvName }),
  dstid_avp: param.ignored('str'),
  sock_avp: param.ignored('str'),
  ds_ping_latency_stats: param.ignored('int'),
  ds_latency_estimator_alpha: param.ignored('int'),
  ds_default_socket: param.ignored('str'),
  ds_default_sockname: param.ignored('str'),
  ds_timer_mode: param.ignored('int'),
  event_callback: param.ignored('str'),
  ds_dns_mode: param.ignored('int'),
  ds_dns_interval: param.ignored('int'),
  ds_dns_ttl: param.ignored('int'),
};

export type DsParams = ParamValues<typeof dsParams>;
