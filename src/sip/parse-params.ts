// `*( SEMI generic-param )` (RFC 3261 §25.1) shared by Via, name-addr and Contact parsing,
// and the comma splitting of list-valued headers (§7.3.1).

import { C_GENVAL, C_TOKEN, scanClass, scanQuoted, skipWs, trimWs } from './chars.js';
import { SipParseError } from './types.js';

export type Params = [string, string | null][];

/**
 * Parses generic-params from s[pos] up to `end` or a top-level ',' (whose index is returned).
 * Values keep their quotes, so a param list can be written back byte for byte. `loose` (the
 * header params of From/To/Contact/Route) takes any name and value bytes up to the next
 * delimiter and an empty value (`;x=`), as Kamailio does; Via stays strict.
 */
export function parseGenericParams(s: string, pos: number, end: number, out: Params, what: string, loose = false): number {
  for (;;) {
    pos = skipWs(s, pos, end);
    if (pos >= end) return pos;
    const c = s.charCodeAt(pos);
    if (c === 44) return pos;
    if (c !== 59) throw new SipParseError(`${what}: unexpected character after value`);
    pos = skipWs(s, pos + 1, end);
    const ns = pos;
    pos = loose ? scanLoose(s, pos, end, true) : scanClass(s, pos, end, C_TOKEN);
    if (pos === ns) throw new SipParseError(`${what}: empty parameter name`);
    const name = s.slice(ns, pos);
    pos = skipWs(s, pos, end);
    let value: string | null = null;
    if (pos < end && s.charCodeAt(pos) === 61) {
      pos = skipWs(s, pos + 1, end);
      const vs = pos;
      if (pos < end && s.charCodeAt(pos) === 34) pos = scanQuoted(s, pos, end);
      else pos = loose ? scanLoose(s, pos, end, false) : scanClass(s, pos, end, C_GENVAL);
      if (pos === vs && !loose) throw new SipParseError(`${what}: empty value for parameter ${name}`);
      value = s.slice(vs, pos);
    }
    out.push([name, value]);
  }
}

/** end of a loose param name (stops at '=' too) or value: SP, HT, ';', ',', '"', '<', '>' and controls end it */
function scanLoose(s: string, i: number, end: number, name: boolean): number {
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 59 || c === 44 || c === 34 || c === 60 || c === 62 || c === 127 || (name && c === 61)) break;
  }
  return i;
}

/** first param named `name` (case-insensitive): its value, null for a flag, undefined if absent */
export function findParam(params: Params, name: string): string | null | undefined {
  const ln = name.toLowerCase();
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p[0].length === ln.length && p[0].toLowerCase() === ln) return p[1];
  }
  return undefined;
}

export function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== 34) return v;
  const inner = v.slice(1, -1);
  return inner.indexOf('\\') < 0 ? inner : inner.replace(/\\(.)/gs, '$1');
}

/** index of the first top-level ',' in s (quotes and <...> respected), or -1 */
export function topLevelComma(s: string, from = 0): number {
  const n = s.length;
  let i = from;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 44) return i;
    if (c === 34) {
      i = scanQuoted(s, i, n);
    } else if (c === 60) {
      const j = s.indexOf('>', i + 1);
      if (j < 0) throw new SipParseError("unbalanced '<'");
      i = j + 1;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * Splits a list-valued header value on top-level commas (RFC 3261 §7.3.1); commas inside
 * quoted strings and <...> do not split. Elements are trimmed; empty elements are kept so
 * callers can reject them. Throws SipParseError on an unterminated quote or '<'.
 */
export function splitHeaderValues(value: string): string[] {
  let comma = value.indexOf(',');
  if (comma < 0) return [trimWs(value)];
  comma = topLevelComma(value);
  const out: string[] = [];
  let start = 0;
  while (comma >= 0) {
    out.push(trimWs(value.slice(start, comma)));
    start = comma + 1;
    comma = topLevelComma(value, start);
  }
  out.push(trimWs(value.slice(start)));
  return out;
}
