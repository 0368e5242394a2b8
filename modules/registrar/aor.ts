// Address-of-record from a URI (Kamailio registrar extract_aor): the unescaped user part,
// plus "@domain" with use_domain (realm_prefix stripped), lower-cased unless
// case_sensitive (then only the domain is lower-cased).
import { parseUri, type SipUri } from '../../src/sip/index.js';
import { R, RegError } from './errors.js';

export interface AorOptions {
  useDomain: boolean;
  caseSensitive: boolean;
  realmPrefix: string;
}

// Kamailio USERNAME_MAX_SIZE / DOMAIN_MAX_SIZE (the location columns are VARCHAR(64))
const USER_MAX = 64;
const DOMAIN_MAX = 64;

function unescape(s: string): string {
  if (s.indexOf('%') < 0) return s;
  if (/%(?![0-9a-fA-F]{2})/.test(s)) throw new RegError(R.UNESCAPE);
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** the AOR key of a sip/sips/tel URI; '' when the URI has no user part */
export function extractAor(uri: string, o: AorOptions): string {
  return aorOfUri(parseUri(uri), o);
}

/** extractAor() of an already parsed URI (null: unparsable) */
export function aorOfUri(u: Readonly<SipUri> | null, o: AorOptions): string {
  if (!u) throw new RegError(R.AOR_PARSE);
  const user = unescape(u.user ?? '');
  let host = u.host;
  if (user.length > USER_MAX || host.length > DOMAIN_MAX) throw new RegError(R.AOR_LEN);
  if (!o.useDomain || u.scheme === 'tel' || host === '') return o.caseSensitive ? user : user.toLowerCase();
  if (o.realmPrefix && host.length > o.realmPrefix.length && host.toLowerCase().startsWith(o.realmPrefix.toLowerCase())) {
    host = host.slice(o.realmPrefix.length);
  }
  host = host.toLowerCase();
  if (!user) return host;
  return `${o.caseSensitive ? user : user.toLowerCase()}@${host}`;
}
