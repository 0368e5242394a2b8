// First pass over a received datagram (RFC 3261 §7): start line, header index with line
// folding and LF-only tolerance, body framing by Content-Length (§18.3). Header values are
// latin1 substrings of the datagram; nothing inside a value is parsed here.

import { C_TOKEN, is, parseUint, skipWs, trimWs } from './chars.js';
import { lookupHeader } from './header-types.js';
import { schemeLength } from './parse-uri.js';
import { HT, SipParseError, type HeaderField } from './types.js';

export const MAX_HEADERS = 256;

class Hf implements HeaderField {
  removed = false;
  newValue: string | null = null;
  newLine: { value: string; line: string } | null = null;
  parsed: unknown = null;
  constructor(
    readonly name: string,
    readonly type: HT,
    readonly lname: string,
    readonly value: string,
    readonly start: number,
    readonly end: number,
  ) {}
}

export interface Parts {
  raw: string;
  startLine: string;
  sl: StartLine;
  headers: HeaderField[];
  body: string;
  crlf: boolean;
  clCount: number;
}

export interface StartLine {
  isRequest: boolean;
  method: string | null;
  ruri: string;
  status: number;
  reason: string;
}

// hot path: one indexOf per line, charCode scanning for the name, no regex, no lower-casing
// of the common header spellings
export function parseMessage(buf: Buffer): Parts {
  const raw = buf.toString('latin1');
  const len = raw.length;
  let pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives)
  while (pos < len) {
    const c = raw.charCodeAt(pos);
    if (c !== 13 && c !== 10) break;
    pos++;
  }
  if (pos >= len) throw new SipParseError('empty message');
  let lf = raw.indexOf('\n', pos);
  if (lf < 0) throw new SipParseError('missing body separator');
  let crlf = true;
  let le = lf;
  if (raw.charCodeAt(le - 1) === 13) le--;
  else crlf = false;
  const startLine = raw.slice(pos, le);
  const sl = parseStartLine(startLine);
  pos = lf + 1;

  const headers: HeaderField[] = [];
  let clIndex = -1;
  let clCount = 0;
  // the header being collected; emitted once its continuation lines are known
  let hs = -1;
  let ne = 0;
  let vs = 0;
  let ve = 0;
  let he = 0;
  let folded = false;
  let bodyStart: number;
  for (;;) {
    if (pos >= len) throw new SipParseError('missing body separator');
    const c = raw.charCodeAt(pos);
    if (c === 13 || c === 10) {
      if (c === 10) {
        bodyStart = pos + 1;
        crlf = false;
      } else if (pos + 1 < len && raw.charCodeAt(pos + 1) === 10) {
        bodyStart = pos + 2;
      } else {
        throw new SipParseError('bare CR in header section');
      }
      break;
    }
    lf = raw.indexOf('\n', pos);
    if (lf < 0) throw new SipParseError('missing body separator');
    le = lf;
    if (raw.charCodeAt(le - 1) === 13) le--;
    else crlf = false;
    if (c === 32 || c === 9) {
      // continuation line (RFC 3261 §7.3.1)
      if (hs < 0) throw new SipParseError('continuation line before the first header');
      ve = le;
      he = lf + 1;
      folded = true;
      pos = lf + 1;
      continue;
    }
    if (hs >= 0) {
      const h = makeHeader(raw, hs, ne, vs, ve, he, folded);
      if (h.type === HT.CONTENT_LENGTH && clCount++ === 0) clIndex = headers.length;
      headers.push(h);
    }
    let i = pos;
    while (i < le && is(raw.charCodeAt(i), C_TOKEN)) i++;
    if (i === pos) throw new SipParseError('bad header name');
    ne = i;
    i = skipWs(raw, i, le);
    if (i >= le || raw.charCodeAt(i) !== 58) {
      const colon = raw.indexOf(':', i);
      throw new SipParseError(colon < 0 || colon >= le ? 'header line without colon' : 'bad header name');
    }
    if (headers.length >= MAX_HEADERS) throw new SipParseError('too many headers');
    hs = pos;
    vs = skipWs(raw, i + 1, le);
    ve = le;
    he = lf + 1;
    folded = false;
    pos = lf + 1;
  }
  if (hs >= 0) {
    const h = makeHeader(raw, hs, ne, vs, ve, he, folded);
    if (h.type === HT.CONTENT_LENGTH && clCount++ === 0) clIndex = headers.length;
    headers.push(h);
  }

  // RFC 3261 §18.3: Content-Length frames the body; extra octets in a datagram are dropped
  let body: string;
  if (clIndex >= 0) {
    const n = parseUint(headers[clIndex].value);
    if (n < 0) throw new SipParseError('bad Content-Length');
    const avail = len - bodyStart;
    if (n > avail) throw new SipParseError('truncated body');
    body = n === avail ? raw.slice(bodyStart) : raw.slice(bodyStart, bodyStart + n);
  } else {
    body = raw.slice(bodyStart);
  }
  return { raw, startLine, sl, headers, body, crlf, clCount };
}

function makeHeader(raw: string, hs: number, ne: number, vs: number, ve: number, he: number, folded: boolean): HeaderField {
  const name = raw.slice(hs, ne);
  const d = lookupHeader(name);
  let value: string;
  if (folded) {
    value = unfold(raw, vs, ve);
  } else {
    while (ve > vs && (raw.charCodeAt(ve - 1) === 32 || raw.charCodeAt(ve - 1) === 9)) ve--;
    value = raw.slice(vs, ve);
  }
  return new Hf(name, d.type, d.lname, value, hs, he);
}

/** joins folded lines: each line break with the whitespace around it becomes one space */
function unfold(raw: string, vs: number, ve: number): string {
  let out = '';
  let seg = vs;
  let i = vs;
  while (i < ve) {
    const c = raw.charCodeAt(i);
    if (c !== 13 && c !== 10) {
      i++;
      continue;
    }
    let se = i;
    while (se > seg && (raw.charCodeAt(se - 1) === 32 || raw.charCodeAt(se - 1) === 9)) se--;
    out += raw.slice(seg, se) + ' ';
    while (i < ve) {
      const d = raw.charCodeAt(i);
      if (d !== 13 && d !== 10 && d !== 32 && d !== 9) break;
      i++;
    }
    seg = i;
  }
  return trimWs(out + raw.slice(seg, ve));
}

function isSipVersion(s: string, i: number): boolean {
  return (
    s.length >= i + 7 &&
    (s.charCodeAt(i) | 32) === 115 && // s
    (s.charCodeAt(i + 1) | 32) === 105 && // i
    (s.charCodeAt(i + 2) | 32) === 112 && // p
    s.startsWith('/2.0', i + 3)
  );
}

function parseStartLine(line: string): StartLine {
  const n = line.length;
  if (n > 4 && (line.charCodeAt(0) | 32) === 115 && (line.charCodeAt(1) | 32) === 105 &&
      (line.charCodeAt(2) | 32) === 112 && line.charCodeAt(3) === 47) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if (!isSipVersion(line, 0) || (n > 7 && line.charCodeAt(7) !== 32)) throw new SipParseError('unsupported SIP version');
    const d = line.charCodeAt(8) - 48;
    const d1 = line.charCodeAt(9) - 48;
    const d2 = line.charCodeAt(10) - 48;
    if (!(d >= 1 && d <= 6 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || (n > 11 && line.charCodeAt(11) !== 32)) {
      throw new SipParseError('bad status code');
    }
    // "SIP/2.0 100" without the SP before an empty reason is tolerated
    return { isRequest: false, method: null, ruri: '', status: d * 100 + d1 * 10 + d2, reason: n > 12 ? line.slice(12) : '' };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (exactly one SP each, §7.1)
  const sp1 = line.indexOf(' ');
  if (sp1 <= 0) throw new SipParseError('malformed request line');
  for (let i = 0; i < sp1; i++) if (!is(line.charCodeAt(i), C_TOKEN)) throw new SipParseError('bad method');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || sp2 === sp1 + 1) throw new SipParseError('malformed request line');
  const ruri = line.slice(sp1 + 1, sp2);
  if (schemeLength(ruri) === 0) throw new SipParseError('bad Request-URI');
  for (let i = 0; i < ruri.length; i++) {
    const c = ruri.charCodeAt(i);
    if (c < 33 || c === 34 || c === 60 || c === 62 || c === 127) throw new SipParseError('bad Request-URI');
  }
  if (n - sp2 - 1 === 7 && isSipVersion(line, sp2 + 1)) {
    return { isRequest: true, method: line.slice(0, sp1), ruri, status: 0, reason: '' };
  }
  const v = line.slice(sp2 + 1, sp2 + 5);
  throw new SipParseError(v.toUpperCase() === 'SIP/' && !isSipVersion(line, sp2 + 1) ? 'unsupported SIP version' : 'malformed request line');
}
