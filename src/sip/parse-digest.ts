// Authorization / Proxy-Authorization credentials (RFC 3261 §22.4, §25.1; RFC 2617 §3.2.2;
// RFC 7235 auth-param syntax). One header holds exactly one credentials value.

import { C_TOKEN, scanClass, scanQuoted, skipWs } from './chars.js';
import { unquote } from './parse-params.js';
import { SipParseError, type DigestCredentials } from './types.js';

const TOKEN68_EXTRA = '-._~+/=';

export function parseDigest(value: string): DigestCredentials {
  const end = value.length;
  let pos = skipWs(value, 0, end);
  const ss = pos;
  pos = scanClass(value, pos, end, C_TOKEN);
  if (pos === ss) throw new SipParseError('credentials: missing scheme');
  const scheme = value.slice(ss, pos);
  const params = new Map<string, string>();
  const ps = skipWs(value, pos, end);
  if (ps < end && ps === pos) throw new SipParseError('credentials: expected whitespace after scheme');
  pos = ps;
  if (pos < end && scheme.toLowerCase() !== 'digest' && isToken68(value, pos, end)) {
    // e.g. Basic: nothing a Digest verifier can use; kept only as the scheme
    pos = end;
  }
  while (pos < end) {
    const c = value.charCodeAt(pos);
    if (c === 44) {
      pos = skipWs(value, pos + 1, end); // empty list elements are allowed (RFC 7230 §7)
      continue;
    }
    const ns = pos;
    pos = scanClass(value, pos, end, C_TOKEN);
    if (pos === ns) throw new SipParseError('credentials: bad auth-param name');
    const name = value.slice(ns, pos).toLowerCase();
    pos = skipWs(value, pos, end);
    if (pos >= end || value.charCodeAt(pos) !== 61) throw new SipParseError("credentials: expected '='");
    pos = skipWs(value, pos + 1, end);
    const vs = pos;
    pos = pos < end && value.charCodeAt(pos) === 34 ? scanQuoted(value, pos, end) : scanClass(value, pos, end, C_TOKEN);
    if (pos === vs) throw new SipParseError(`credentials: empty value for ${name}`);
    // a repeated directive is ambiguous (which one did the client hash?): refuse it
    if (params.has(name)) throw new SipParseError(`credentials: duplicate ${name}`);
    params.set(name, unquote(value.slice(vs, pos)));
    pos = skipWs(value, pos, end);
    if (pos < end && value.charCodeAt(pos) !== 44) throw new SipParseError("credentials: expected ','");
  }
  const get = (k: string): string | null => params.get(k) ?? null;
  return {
    scheme,
    username: get('username'),
    realm: get('realm'),
    nonce: get('nonce'),
    uri: get('uri'),
    response: get('response'),
    algorithm: get('algorithm'),
    cnonce: get('cnonce'),
    opaque: get('opaque'),
    qop: get('qop'),
    nc: get('nc'),
    params,
  };
}

/** token68 (RFC 7235 §2.1) spanning the rest of the value, without any '=' param syntax */
function isToken68(s: string, pos: number, end: number): boolean {
  let i = pos;
  while (i < end) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && TOKEN68_EXTRA.indexOf(s[i]) < 0) break;
    i++;
  }
  if (skipWs(s, i, end) !== end || i === pos) return false;
  // "realm=x" also matches token68's charset; only trailing '='s make it token68
  const eq = s.indexOf('=', pos);
  return eq < 0 || eq >= i || /^=+$/.test(s.slice(eq, i));
}
