// Via header values (RFC 3261 §20.42, §25.1 via-parm) and writing them back, e.g. after the
// core adds received/rport (RFC 3261 §18.2.1, RFC 3581).

import { C_DIGIT, C_HEX, C_HOST, C_TOKEN, is, scanClass, skipWs } from './chars.js';
import { findParam, parseGenericParams } from './parse-params.js';
import { SipParseError, type Via } from './types.js';

/** all via-parms of one Via header value, in order */
export function parseVia(value: string): Via[] {
  const out: Via[] = [];
  const end = value.length;
  let pos = 0;
  for (;;) {
    pos = parseViaParm(value, skipWs(value, pos, end), end, out);
    if (pos >= end) return out;
    pos++; // the ',' parseGenericParams stopped at
  }
}

function token(s: string, pos: number, end: number, what: string): number {
  const e = scanClass(s, pos, end, C_TOKEN);
  if (e === pos) throw new SipParseError(`Via: missing ${what}`);
  return e;
}

function slash(s: string, pos: number, end: number): number {
  pos = skipWs(s, pos, end);
  if (pos >= end || s.charCodeAt(pos) !== 47) throw new SipParseError("Via: expected '/'");
  return skipWs(s, pos + 1, end);
}

function parseViaParm(s: string, pos: number, end: number, out: Via[]): number {
  const start = pos;
  let e = token(s, pos, end, 'protocol name');
  const pname = s.slice(pos, e);
  pos = slash(s, e, end);
  e = token(s, pos, end, 'protocol version');
  const protocol = pname + '/' + s.slice(pos, e);
  pos = slash(s, e, end);
  e = token(s, pos, end, 'transport');
  const transport = s.slice(pos, e).toUpperCase();
  pos = skipWs(s, e, end);
  if (pos >= end) throw new SipParseError('Via: missing host');
  if (pos === e) throw new SipParseError('Via: expected whitespace before sent-by');
  const hs = pos;
  if (pos < end && s.charCodeAt(pos) === 91) {
    const close = s.indexOf(']', pos);
    if (close < 0) throw new SipParseError('Via: unterminated IPv6 reference');
    for (let i = pos + 1; i < close; i++) {
      const c = s.charCodeAt(i);
      if (c !== 58 && c !== 46 && !is(c, C_HEX)) throw new SipParseError('Via: bad IPv6 reference');
    }
    pos = close + 1;
  } else {
    pos = scanClass(s, pos, end, C_HOST);
  }
  if (pos === hs) throw new SipParseError('Via: missing host');
  const host = s.slice(hs, pos);
  let port: number | null = null;
  pos = skipWs(s, pos, end);
  if (pos < end && s.charCodeAt(pos) === 58) {
    const ps = skipWs(s, pos + 1, end);
    pos = scanClass(s, ps, end, C_DIGIT);
    if (pos === ps || pos - ps > 5) throw new SipParseError('Via: bad port');
    port = Number(s.slice(ps, pos));
    if (port > 65535) throw new SipParseError('Via: bad port');
  }
  const params: [string, string | null][] = [];
  pos = parseGenericParams(s, pos, end, params, 'Via');
  let rawEnd = pos;
  while (rawEnd > start && (s.charCodeAt(rawEnd - 1) === 32 || s.charCodeAt(rawEnd - 1) === 9)) rawEnd--;
  out.push({
    protocol,
    transport,
    host,
    port,
    params,
    branch: findParam(params, 'branch') ?? null,
    received: findParam(params, 'received') ?? null,
    rport: viaRport(findParam(params, 'rport')),
    raw: s.slice(start, rawEnd),
  });
  return pos;
}

function viaRport(v: string | null | undefined): string | null {
  if (v === undefined) return null;
  return v === null ? '' : v;
}

const SPECIAL: readonly string[] = ['branch', 'received', 'rport'];

// the param with its value; the text may be a folded header line, hence \r\n
const RPORT_RE = /;[ \t]*rport(?:[ \t]*=[ \t]*[^; \t\r\n]*)?(?=[ \t\r\n]*(?:;|$))/i;
const RECEIVED_RE = /;[ \t]*received(?:[ \t]*=[ \t]*[^; \t\r\n]*)?(?=[ \t\r\n]*(?:;|$))/i;
const RECEIVED_ANY = /received/i;

/**
 * The via-parm text `raw` (as received) with received= and rport= set to these values (null:
 * leave as is), edited in place like Kamailio does: an existing param keeps its position, a
 * new one is appended, every other byte stays (RFC 3261 §18.2.1, RFC 3581 §4).
 */
// hot path (most requests carry a bare ;rport): plain indexOf for the usual spelling, the
// regexes only for the rest
export function markViaText(raw: string, received: string | null, rport: string | null): string {
  let s = raw;
  if (rport !== null) {
    const i = s.indexOf(';rport') + 6;
    if (i > 5 && (i === s.length || s.charCodeAt(i) === 59)) {
      if (rport !== '') s = s.slice(0, i) + '=' + rport + s.slice(i);
    } else {
      s = setViaParam(s, RPORT_RE, rport === '' ? ';rport' : ';rport=' + rport);
    }
  }
  if (received !== null) s = RECEIVED_ANY.test(s) ? setViaParam(s, RECEIVED_RE, ';received=' + received) : s + ';received=' + received;
  return s;
}

function setViaParam(s: string, re: RegExp, text: string): string {
  const m = re.exec(s);
  return m === null ? s + text : s.slice(0, m.index) + text + s.slice(m.index + m[0].length);
}

/**
 * Writes a via-parm back. branch/received/rport come from the object's fields (so a caller can
 * spread a parsed Via and change them); other params keep their order and spelling.
 */
export function formatVia(v: Via): string {
  let s = v.protocol + '/' + v.transport + ' ' + v.host;
  if (v.port !== null) s += ':' + v.port;
  const seen = [false, false, false];
  for (const [n, val] of v.params) {
    const k = SPECIAL.indexOf(n.toLowerCase());
    if (k < 0) {
      s += val === null ? ';' + n : ';' + n + '=' + val;
      continue;
    }
    if (seen[k]) continue;
    seen[k] = true;
    s += special(k, v);
  }
  for (let k = 0; k < 3; k++) if (!seen[k]) s += special(k, v);
  return s;
}

function special(k: number, v: Via): string {
  const val = k === 0 ? v.branch : k === 1 ? v.received : v.rport;
  if (val === null) return '';
  return val === '' && k === 2 ? ';rport' : ';' + SPECIAL[k] + '=' + val;
}
