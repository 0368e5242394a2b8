// name-addr / addr-spec with header params (RFC 3261 §20.10, §25.1): From, To, Contact,
// Route, Record-Route, Path. The URI stays text; it is checked here so later parseUri calls
// on it cannot fail for sip/sips/tel.

import { scanQuoted, trimWs } from './chars.js';
import { findParam, parseGenericParams, splitHeaderValues } from './parse-params.js';
import { parseUri, schemeLength } from './parse-uri.js';
import { SipParseError, type Contact, type NameAddr, type SipUri } from './types.js';

export function parseNameAddr(value: string): NameAddr {
  const s = trimWs(value);
  const end = s.length;
  if (end === 0) throw new SipParseError('empty address');
  let display: string | null = null;
  let uri: string;
  let parsedUri: SipUri | null;
  let pos = 0;
  const la = displayEnd(s, end);
  if (la >= 0) {
    pos = la;
    const d = trimWs(s.slice(0, la));
    // one quoted string is the usual form and is unquoted; anything else is kept as written
    if (d.length > 0) display = d.charCodeAt(0) === 34 && scanQuoted(d, 0, d.length) === d.length ? d.slice(1, -1) : d;
    // pos is at '<'
    const ra = s.indexOf('>', pos + 1);
    if (ra < 0) throw new SipParseError("address: missing '>'");
    uri = s.slice(pos + 1, ra);
    parsedUri = checkUri(uri);
    pos = ra + 1;
  } else {
    // addr-spec: the URI ends at ';' or whitespace, and may not carry '?' headers (§20.10)
    while (pos < end) {
      const c = s.charCodeAt(pos);
      if (c === 59 || c === 32 || c === 9) break;
      if (c === 63 || c === 44) throw new SipParseError("address: URI with '?' or ',' must be enclosed in <>");
      pos++;
    }
    uri = s.slice(0, pos);
    parsedUri = checkUri(uri);
  }
  const params: [string, string | null][] = [];
  pos = parseGenericParams(s, pos, end, params, 'address', true);
  if (pos < end) throw new SipParseError("address: unexpected ','");
  const tag = findParam(params, 'tag');
  if (tag === null || tag === '') throw new SipParseError('address: tag without value');
  return { display, uri, parsedUri, params, tag: tag ?? null, raw: s };
}

/**
 * If s is a name-addr, returns the index of its '<'; -1 means addr-spec form. The display name
 * before it is taken liberally, as phones write it: tokens, quoted strings in any mix, UTF-8
 * octets, '(' and the like. A ',' outside quotes is not (RFC 4475 §3.1.2.15: it would read as
 * a list separator).
 */
function displayEnd(s: string, end: number): number {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 60) return i;
    if (c === 44) return -1;
    if (c === 34) i = scanQuoted(s, i, end) - 1;
  }
  return -1;
}

/** throws on a bad URI; the parse of a sip/sips/tel URI, null for other schemes */
function checkUri(uri: string): SipUri | null {
  const sl = schemeLength(uri);
  if (sl === 0 || sl + 1 === uri.length) throw new SipParseError('address: bad URI');
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 32 || c === 34 || c === 60 || c === 62 || c === 127) throw new SipParseError('address: bad character in URI');
  }
  const scheme = uri.slice(0, sl).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return null;
  const parsed = parseUri(uri);
  if (parsed === null) throw new SipParseError('address: bad ' + scheme + ' URI');
  return parsed;
}

/** comma-separated name-addrs (Route, Record-Route, Path) */
export function parseNameAddrList(value: string): NameAddr[] {
  return splitHeaderValues(value).map(parseNameAddr);
}

/** one Contact header value: '*' or a list of contacts with expires/q decoded */
export function parseContacts(value: string): Contact[] | '*' {
  const v = trimWs(value);
  if (v === '*') return '*';
  return splitHeaderValues(v).map(parseContact);
}

export function parseContact(value: string): Contact {
  const na = parseNameAddr(value);
  const e = findParam(na.params, 'expires');
  let expires: number | null = null;
  if (typeof e === 'string' && e.length <= 10 && /^[0-9]+$/.test(e)) {
    const n = Number(e);
    if (n <= 0xffffffff) expires = n;
  }
  const qs = findParam(na.params, 'q');
  let q: number | null = null;
  if (typeof qs === 'string' && /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(qs)) q = Number(qs);
  return { ...na, expires, q };
}
