// registrar settings resolved once from the module parameters and the script dialect (where
// SER 0.9 and Kamailio 5.6 differ: received AVP, NAT flag, User-Agent placeholder).
import type { Dialect } from '../../src/core/dialect.js';
import type { AorOptions } from './aor.js';
import type { RegistrarParams } from './params.js';

export interface RegConfig {
  dialect: Dialect;
  aor: AorOptions;
  defaultExpires: number;
  defaultExpiresRange: number;
  expiresRange: number;
  minExpires: number;
  minExpiresMode: number;
  maxExpires: number;
  defaultQ: number;
  appendBranches: boolean;
  maxContacts: number;
  maxPerRequest: number;
  retryAfter: number;
  receivedParam: string;
  /** key in ctx.avps, null when disabled */
  receivedAvp: string | null;
  methodFiltering: boolean;
  usePath: boolean;
  pathMode: number;
  pathUseReceived: boolean;
  /** message flag number saved as the NAT flag (SER 0.9), null when disabled */
  natFlag: number | null;
  contactMaxSize: number;
  /** User-Agent stored when the REGISTER has none */
  noUserAgent: string;
}

/** "$avp(s:rcv)", "$avp(i:42)", "i:42", 42, "rcv" → the ctx.avps key */
export function avpKey(v: string | number): string | null {
  if (typeof v === 'number') return v > 0 ? `i:${v}` : null;
  let s = v.trim();
  if (!s) return null;
  const m = /^\$avp\((.*)\)$/i.exec(s);
  if (m) s = m[1]!;
  if (s.startsWith('s:')) s = s.slice(2);
  if (/^\d+$/.test(s)) s = `i:${s}`;
  return s || null;
}

export function resolveConfig(p: RegistrarParams, dialect: Dialect, ulUseDomain: boolean): RegConfig {
  const ser = dialect === 'ser';
  const avpParam = p.received_avp === '' || p.received_avp === -1 ? (ser ? 42 : '') : p.received_avp;
  const nat = Number(p.nat_flag);
  return {
    dialect,
    aor: {
      useDomain: p.use_domain === -1 ? ulUseDomain : p.use_domain === 1,
      caseSensitive: p.case_sensitive,
      realmPrefix: p.realm_prefix,
    },
    defaultExpires: p.default_expires,
    defaultExpiresRange: p.default_expires_range,
    expiresRange: p.expires_range,
    minExpires: p.min_expires,
    minExpiresMode: p.min_expires_mode,
    maxExpires: p.max_expires,
    defaultQ: p.default_q,
    appendBranches: p.append_branches,
    maxContacts: p.max_contacts,
    maxPerRequest: p.max_contacts_per_request,
    retryAfter: p.retry_after,
    receivedParam: p.received_param,
    receivedAvp: avpKey(avpParam),
    methodFiltering: p.method_filtering,
    usePath: p.use_path,
    pathMode: p.path_mode,
    pathUseReceived: p.path_use_received,
    natFlag: Number.isInteger(nat) && nat >= 0 && nat <= 31 ? nat : ser && p.nat_flag === -1 ? 4 : null,
    contactMaxSize: p.contact_max_size,
    noUserAgent: ser ? 'Unknown' : 'n/a',
  };
}
