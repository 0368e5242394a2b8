// SipMessage: the first parsing pass over a datagram (start line, header index, body framing;
// RFC 3261 §7, §18.3), lazy cached accessors for the headers a proxy needs, and edits kept as
// lumps. Accessors always read the message as received; lumps only show up when serializing.

import { C_TOKEN, is, parseUint, skipWs, trimWs } from './chars.js';
import { lookupHeader } from './header-types.js';
import { parseCSeq } from './parse-cseq.js';
import { parseDigest } from './parse-digest.js';
import { parseContacts, parseNameAddr, parseNameAddrList } from './parse-name-addr.js';
import { parseUri, schemeLength } from './parse-uri.js';
import { parseVia } from './parse-via.js';
import { normalizeLines, serializeReply, serializeRequest, type RequestOpts, type ReplyOpts } from './serialize.js';
import {
  HT, SipParseError,
  type CSeq, type Contact, type DigestCredentials, type HeaderField, type NameAddr, type SipUri, type Via,
} from './types.js';

export const MAX_HEADERS = 256;

class Hf implements HeaderField {
  removed = false;
  newValue: string | null = null;
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

export interface Credential {
  hf: HeaderField;
  cred: DigestCredentials;
}

interface StartLine {
  isRequest: boolean;
  method: string | null;
  ruri: string;
  status: number;
  reason: string;
}

export class SipMessage {
  // lumps (see removeHeader & co.); read by serialize.ts
  readonly topLines: string[] = [];
  readonly bottomLines: string[] = [];
  newBody: string | null = null;
  newContentType: string | null = null;

  private _method: string | null;
  private _vias: Via[] | null = null;
  private _contacts: Contact[] | '*' | null = null;
  private _routes: NameAddr[] | null = null;
  private _rroutes: NameAddr[] | null = null;
  private _ruri: SipUri | null = null;

  private constructor(
    readonly buf: Buffer,
    readonly raw: string,
    /** the start line as received, without its terminator */
    readonly startLine: string,
    sl: StartLine,
    readonly headers: readonly HeaderField[],
    readonly body: string,
    /** every line ended in CRLF, so untouched header lines may be copied verbatim */
    readonly crlf: boolean,
    /** number of Content-Length headers (more than one is refused by checkRequired) */
    readonly contentLengthCount: number,
  ) {
    this.isRequest = sl.isRequest;
    this._method = sl.method;
    this.ruri = sl.ruri;
    this.status = sl.status;
    this.reason = sl.reason;
  }

  readonly isRequest: boolean;
  /** Request-URI as received ('' for replies) */
  readonly ruri: string;
  /** status code (0 for requests) */
  readonly status: number;
  readonly reason: string;

  /** Parses the start line and indexes the headers; throws SipParseError. */
  static parse(buf: Buffer): SipMessage {
    return parseMessage(buf);
  }

  /** @internal used by parseMessage only */
  static create(buf: Buffer, raw: string, startLine: string, sl: StartLine, headers: HeaderField[], body: string, crlf: boolean, clCount: number): SipMessage {
    return new SipMessage(buf, raw, startLine, sl, headers, body, crlf, clCount);
  }

  /** request method; for replies the CSeq method (throws SipParseError if CSeq is bad) */
  get method(): string {
    if (this._method === null) this._method = this.cseq().method;
    return this._method;
  }

  // ---- header lookup -------------------------------------------------------------------

  header(name: string): HeaderField | undefined {
    const d = lookupHeader(name);
    for (const h of this.headers) if (d.type === HT.OTHER ? h.lname === d.lname : h.type === d.type) return h;
    return undefined;
  }

  headersNamed(name: string): HeaderField[] {
    const d = lookupHeader(name);
    return this.headers.filter((h) => (d.type === HT.OTHER ? h.lname === d.lname : h.type === d.type));
  }

  hasHeader(name: string): boolean {
    return this.header(name) !== undefined;
  }

  value(name: string): string | undefined {
    return this.header(name)?.value;
  }

  private first(type: HT): HeaderField | undefined {
    for (const h of this.headers) if (h.type === type) return h;
    return undefined;
  }

  private count(type: HT): number {
    let n = 0;
    for (const h of this.headers) if (h.type === type) n++;
    return n;
  }

  private required(type: HT, name: string): HeaderField {
    const h = this.first(type);
    if (h === undefined) throw new SipParseError('missing ' + name);
    return h;
  }

  // ---- parsed accessors ----------------------------------------------------------------

  /** every via-parm of every Via header, top first */
  vias(): Via[] {
    if (this._vias !== null) return this._vias;
    const out: Via[] = [];
    for (const h of this.headers) if (h.type === HT.VIA) for (const v of cached(h, parseVia)) out.push(v);
    return (this._vias = out);
  }

  /** first via-parm; parses only the first Via header */
  topVia(): Via {
    return cached(this.required(HT.VIA, 'Via'), parseVia)[0];
  }

  from(): NameAddr {
    return cached(this.required(HT.FROM, 'From'), parseNameAddr);
  }

  to(): NameAddr {
    return cached(this.required(HT.TO, 'To'), parseNameAddr);
  }

  callId(): string {
    return this.required(HT.CALL_ID, 'Call-ID').value;
  }

  cseq(): CSeq {
    return cached(this.required(HT.CSEQ, 'CSeq'), parseCSeq);
  }

  /** all Contact headers; '*' for a lone wildcard; [] when there is none */
  contacts(): Contact[] | '*' {
    if (this._contacts !== null) return this._contacts;
    const list: Contact[] = [];
    let star = false;
    let n = 0;
    for (const h of this.headers) {
      if (h.type !== HT.CONTACT) continue;
      n++;
      const c = cached(h, parseContacts);
      if (c === '*') star = true;
      else for (const x of c) list.push(x);
    }
    if (star && n > 1) throw new SipParseError("Contact: '*' mixed with other contacts");
    return (this._contacts = star ? '*' : list);
  }

  routes(): NameAddr[] {
    return (this._routes ??= this.nameAddrs(HT.ROUTE));
  }

  recordRoutes(): NameAddr[] {
    return (this._rroutes ??= this.nameAddrs(HT.RECORD_ROUTE));
  }

  private nameAddrs(type: HT): NameAddr[] {
    const out: NameAddr[] = [];
    for (const h of this.headers) if (h.type === type) for (const x of cached(h, parseNameAddrList)) out.push(x);
    return out;
  }

  /** null when absent, -1 when not a number in 0..255 (RFC 3261 §20.22) */
  maxForwards(): number | null {
    const h = this.first(HT.MAX_FORWARDS);
    if (h === undefined) return null;
    const n = parseUint(h.value);
    return n > 255 ? -1 : n;
  }

  /** Expires header in seconds; null when absent, -1 when not a number in 0..2^32-1 */
  expires(): number | null {
    const h = this.first(HT.EXPIRES);
    return h === undefined ? null : parseUint(h.value);
  }

  /** parsed Request-URI (sip, sips, tel); throws SipParseError for replies and other schemes */
  ruriParsed(): SipUri {
    if (this._ruri !== null) return this._ruri;
    if (!this.isRequest) throw new SipParseError('not a request');
    const u = parseUri(this.ruri);
    if (u === null) {
      const sl = schemeLength(this.ruri);
      const scheme = this.ruri.slice(0, sl).toLowerCase();
      const known = scheme === 'sip' || scheme === 'sips' || scheme === 'tel';
      throw new SipParseError(known ? 'bad Request-URI' : 'unsupported Request-URI scheme');
    }
    return (this._ruri = u);
  }

  /** Authorization ('www') or Proxy-Authorization ('proxy') headers, each parsed on its own */
  credentials(kind: 'www' | 'proxy'): Credential[] {
    const type = kind === 'www' ? HT.AUTHORIZATION : HT.PROXY_AUTHORIZATION;
    const out: Credential[] = [];
    for (const h of this.headers) if (h.type === type) out.push({ hf: h, cred: cached(h, parseDigest) });
    return out;
  }

  /**
   * Reason to answer 400 (RFC 3261 §8.1.1, §8.2.2, §16.3) or null: Via, From, To, Call-ID and
   * CSeq present, unique where single-valued, parseable; CSeq method equal to the request
   * method; a sip/sips/tel Request-URI that parses and carries no headers (RFC 4475 §3.1.2.11);
   * at most one Content-Length.
   */
  checkRequired(): string | null {
    if (this.first(HT.VIA) === undefined) return 'missing Via';
    for (const [t, n] of SINGLE) {
      const c = this.count(t);
      if (c !== 1) return (c === 0 ? 'missing ' : 'multiple ') + n;
    }
    if (this.contentLengthCount > 1) return 'multiple Content-Length';
    let what = 'Via';
    try {
      this.topVia();
      what = 'From';
      this.from();
      what = 'To';
      this.to();
      const cid = this.callId();
      if (cid.indexOf(' ') >= 0 || cid.indexOf('\t') >= 0 || cid.length === 0) return 'bad Call-ID';
      what = 'CSeq';
      const cs = this.cseq();
      if (this.isRequest) {
        if (cs.method !== this._method) return 'CSeq method does not match the request method';
        what = 'Request-URI';
        const scheme = this.ruri.slice(0, schemeLength(this.ruri)).toLowerCase();
        if ((scheme === 'sip' || scheme === 'sips' || scheme === 'tel') && this.ruriParsed().headers !== null) {
          return 'Request-URI with headers';
        }
      }
      return null;
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      const m = e.message;
      return 'bad ' + what + ': ' + (m.startsWith(what + ': ') ? m.slice(what.length + 2) : m);
    }
  }

  // ---- lumps ---------------------------------------------------------------------------

  removeHeader(hf: HeaderField): void {
    hf.removed = true;
  }

  /** removes every header with this name (compact forms included); returns how many */
  removeHeaders(name: string): number {
    let n = 0;
    for (const h of this.headersNamed(name)) {
      if (!h.removed) n++;
      h.removed = true;
    }
    return n;
  }

  setHeaderValue(hf: HeaderField, value: string): void {
    hf.newValue = value;
  }

  /** adds line(s) above the first received header, after earlier inserts */
  insertHeaderTop(line: string): void {
    this.topLines.push(normalizeLines(line));
  }

  /** adds line(s) after the last received header, after earlier appends */
  appendHeader(line: string): void {
    this.bottomLines.push(normalizeLines(line));
  }

  /**
   * Replaces the body; Content-Length follows automatically. With contentType the first
   * Content-Type is rewritten (or added); an empty body drops Content-Type.
   */
  setBody(body: string, contentType?: string): void {
    this.newBody = body;
    if (contentType !== undefined) this.newContentType = contentType;
  }

  // ---- output --------------------------------------------------------------------------

  /** outgoing request with lumps applied; does not change the message (one call per branch) */
  serializeRequest(opts: RequestOpts = {}): Buffer {
    return serializeRequest(this, opts);
  }

  /** reply forwarded statelessly (RFC 3261 §16.7 step 3: drop our via-parm) */
  serializeReply(opts: ReplyOpts): Buffer {
    return serializeReply(this, opts);
  }
}

const SINGLE: [HT, string][] = [
  [HT.FROM, 'From'],
  [HT.TO, 'To'],
  [HT.CALL_ID, 'Call-ID'],
  [HT.CSEQ, 'CSeq'],
];

/**
 * Parse cache in hf.parsed. Each header type has exactly one parser filling the slot, so the
 * cast below is sound; failures are cached too so a bad header is not re-parsed on every call.
 */
function cached<T>(hf: HeaderField, parse: (v: string) => T): T {
  const p = hf.parsed;
  if (p === null) {
    try {
      const r = parse(hf.value);
      hf.parsed = r;
      return r;
    } catch (e) {
      if (e instanceof SipParseError) hf.parsed = e;
      throw e;
    }
  }
  if (p instanceof SipParseError) throw p;
  return p as T;
}

// ---- first pass ------------------------------------------------------------------------

// hot path: one indexOf per line, charCode scanning for the name, no regex, no lower-casing
// of the common header spellings
function parseMessage(buf: Buffer): SipMessage {
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
  return SipMessage.create(buf, raw, startLine, sl, headers, body, crlf, clCount);
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
