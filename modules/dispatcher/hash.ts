// Hash keys for the hashing algorithms (Kamailio dispatch.c ds_get_hash and
// get_uri_hash_keys): the same arithmetic, so a Call-ID or From URI picks the same slot.
import { parseUri } from '../../src/sip/index.js';

function mix(h: number, s: string): number {
  let p = 0;
  let v: number;
  for (; p + 4 <= s.length; p += 4) {
    v = (((s.charCodeAt(p) & 0xff) << 24) + ((s.charCodeAt(p + 1) & 0xff) << 16) + ((s.charCodeAt(p + 2) & 0xff) << 8) + (s.charCodeAt(p + 3) & 0xff)) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; p < s.length; p++) v = ((v << 8) + (s.charCodeAt(p) & 0xff)) >>> 0;
  return (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
}

/** Kamailio ds_get_hash(x, y): never 0 when a key is given */
export function dsHash(x: string | null, y: string | null = null): number {
  if (x === null && y === null) return 0;
  let h = 0;
  if (x !== null) h = mix(h, x);
  if (y !== null) h = mix(h, y);
  h = (((h + (h >>> 11)) >>> 0) + ((h >>> 13) + (h >>> 23))) >>> 0;
  return h || 1;
}

/**
 * URI hash keys: user, and host[:port] (port only when not the default 5060/5061), or the
 * user alone with flags bit 1 (Kamailio DS_HASH_USER_ONLY). Null for an unparsable URI.
 */
export function uriHash(uri: string, userOnly: boolean): number | null {
  const u = parseUri(uri.trim());
  if (!u || !u.host) return null;
  const user = u.user ?? '';
  if (userOnly) return dsHash(user, null);
  const def = u.scheme === 'sips' ? 5061 : 5060;
  const host = u.port !== null && u.port !== def ? `${u.host}:${u.port}` : u.host;
  return dsHash(user, host);
}
