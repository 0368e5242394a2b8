// SIP/SIPS URIs (RFC 3261 §19.1, §25.1) and tel URIs (RFC 3966), plus formatting back.
// Components keep their %HH escapes as written; comparing them is the caller's business.
// Liberal like Kamailio's parse_uri: phones and carrier switches send '#', '*', bad '%'
// escapes and other unreserved-by-nobody bytes raw in the user part and in parameters, so
// only the delimiters, whitespace/control bytes and '<' '>' '"' are refused there.

import { C_DIGIT, C_HEX, C_HOST, C_SCHEME, is, isLooseRun, scanClass } from './chars.js';
import type { SipUri } from './types.js';

/** length of a valid `scheme ":"` prefix of s (RFC 3986 §3.1), or 0 */
export function schemeLength(s: string): number {
  const c = s.charCodeAt(0);
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return 0;
  const i = scanClass(s, 1, s.length, C_SCHEME);
  return i < s.length && s.charCodeAt(i) === 58 ? i : 0;
}

/** parses sip:, sips: and tel: URIs; null for any other scheme or a syntax error */
export function parseUri(s: string): SipUri | null {
  const sl = schemeLength(s);
  if (sl === 0) return null;
  const scheme = s.slice(0, sl).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSip(s, scheme, sl + 1);
  if (scheme === 'tel') return parseTel(s, sl + 1);
  return null;
}

function parseSip(s: string, scheme: string, pos: number): SipUri | null {
  const end = s.length;
  let user: string | null = null;
  let password: string | null = null;
  // '@' cannot appear unescaped in userinfo, so the first one ends it
  const at = s.indexOf('@', pos);
  if (at >= 0) {
    let pc = s.indexOf(':', pos);
    if (pc > at) pc = -1;
    const ue = pc >= 0 ? pc : at;
    if (ue === pos || !isLooseRun(s, pos, ue)) return null;
    user = s.slice(pos, ue);
    if (pc >= 0) {
      if (!isLooseRun(s, pc + 1, at)) return null;
      password = s.slice(pc + 1, at);
    }
    pos = at + 1;
  }
  const hs = pos;
  pos = scanHost(s, pos, end);
  if (pos < 0) return null;
  const host = s.slice(hs, pos);
  let port: number | null = null;
  if (pos < end && s.charCodeAt(pos) === 58) {
    const ps = pos + 1;
    pos = scanClass(s, ps, end, C_DIGIT);
    if (pos === ps || pos - ps > 5) return null;
    port = Number(s.slice(ps, pos));
    if (port > 65535) return null;
  }
  const params: [string, string | null][] = [];
  pos = parseUriParams(s, pos, end, params);
  if (pos < 0) return null;
  let headers: string | null = null;
  if (pos < end && s.charCodeAt(pos) === 63) {
    if (!isLooseRun(s, pos + 1, end)) return null;
    headers = s.slice(pos + 1);
    pos = end;
  }
  if (pos !== end) return null;
  return { scheme, user, password, host, port, params, headers };
}

function parseTel(s: string, pos: number): SipUri | null {
  const end = s.length;
  const ns = pos;
  while (pos < end) {
    const c = s.charCodeAt(pos);
    if (c === 59 || c === 63) break;
    pos++;
  }
  if (pos === ns || !isLooseRun(s, ns, pos)) return null;
  const user = s.slice(ns, pos);
  const params: [string, string | null][] = [];
  pos = parseUriParams(s, pos, end, params);
  if (pos !== end) return null;
  return { scheme: 'tel', user, password: null, host: '', port: null, params, headers: null };
}

/** hostname, IPv4 or [IPv6]; returns the end index or -1 */
function scanHost(s: string, pos: number, end: number): number {
  if (pos < end && s.charCodeAt(pos) === 91) {
    const close = s.indexOf(']', pos);
    if (close < 0 || close === pos + 1) return -1;
    for (let i = pos + 1; i < close; i++) {
      const c = s.charCodeAt(i);
      if (c !== 58 && c !== 46 && !is(c, C_HEX)) return -1;
    }
    return close + 1;
  }
  const e = scanClass(s, pos, end, C_HOST);
  return e === pos ? -1 : e;
}

/**
 * `*( ";" pname [ "=" pvalue ] )`; returns the end index or -1. An empty param (`;;lr`, a
 * trailing `;`) and an empty value (`;x=`) are kept as ['', null] and ['x', ''] so a rewritten
 * URI still carries them.
 */
function parseUriParams(s: string, pos: number, end: number, out: [string, string | null][]): number {
  while (pos < end && s.charCodeAt(pos) === 59) {
    const ns = pos + 1;
    let i = ns;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 59 || c === 61 || c === 63) break;
      i++;
    }
    if (!isLooseRun(s, ns, i) || (i === ns && i < end && s.charCodeAt(i) === 61)) return -1;
    const name = s.slice(ns, i);
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 61) {
      const vs = i + 1;
      i = vs;
      while (i < end) {
        const c = s.charCodeAt(i);
        if (c === 59 || c === 63) break;
        i++;
      }
      if (!isLooseRun(s, vs, i)) return -1;
      value = s.slice(vs, i);
    }
    out.push([name, value]);
    pos = i;
  }
  return pos;
}

export function formatUri(u: SipUri): string {
  let s = u.scheme + ':';
  if (u.scheme === 'tel') {
    s += u.user ?? '';
  } else {
    if (u.user !== null) {
      s += u.user;
      if (u.password !== null) s += ':' + u.password;
      s += '@';
    }
    s += u.host;
    if (u.port !== null) s += ':' + u.port;
  }
  for (const [n, v] of u.params) s += v === null ? ';' + n : ';' + n + '=' + v;
  if (u.headers !== null) s += '?' + u.headers;
  return s;
}

/** uri-parameter by name (case-insensitive): value, null for a flag like `lr`, undefined if absent */
export function getUriParam(u: SipUri, name: string): string | null | undefined {
  const ln = name.toLowerCase();
  for (const [n, v] of u.params) if (n.length === ln.length && n.toLowerCase() === ln) return v;
  return undefined;
}
