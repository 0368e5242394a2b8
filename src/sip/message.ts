// SipMessage: a received message after the first pass (parse-message.ts), lazy cached accessors
// for the headers a proxy needs (RFC 3261 §8.1.1, §16.3), and edits kept as lumps. Accessors
// always read the message as received; lumps only show up when serializing.

import { parseUint, skipWs } from './chars.js';
import { lookupHeader } from './header-types.js';
import { MAX_HEADERS, parseMessage, type StartLine } from './parse-message.js';
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

export interface Credential {
  hf: HeaderField;
  cred: DigestCredentials;
}

export { MAX_HEADERS };

export class SipMessage {
  readonly isRequest: boolean;
  /** Request-URI as received ('' for replies) */
  readonly ruri: string;
  /** status code (0 for requests) */
  readonly status: number;
  readonly reason: string;

  // lumps (see removeHeader & co.), read by serialize.ts
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
    /** the datagram as one latin1 string: every byte is one char */
    readonly raw: string,
    /** the start line as received, without its terminator */
    readonly startLine: string,
    sl: StartLine,
    readonly headers: readonly HeaderField[],
    /** the body as received (framed by Content-Length) */
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

  /** Parses the start line and indexes the headers; throws SipParseError. */
  static parse(buf: Buffer): SipMessage {
    const p = parseMessage(buf);
    return new SipMessage(buf, p.raw, p.startLine, p.sl, p.headers, p.body, p.crlf, p.clCount);
  }

  /**
   * A reply that never crossed the wire (Kamailio's FAKED_REPLY): tm's own 408 on a timeout,
   * as its failure_route sees it. Status line only; it has no headers and is never sent.
   */
  static fakedReply(status: number, reason: string): SipMessage {
    const line = `SIP/2.0 ${status} ${reason}`;
    const sl: StartLine = { isRequest: false, method: null, ruri: '', status, reason };
    return new SipMessage(Buffer.from(`${line}\r\n\r\n`, 'latin1'), `${line}\r\n\r\n`, line, sl, [], '', true, 0);
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
   * CSeq present and unique where single-valued; Via, To and CSeq parseable (the headers
   * Kamailio parses on receipt); CSeq method equal to the request method; a sip/sips/tel
   * Request-URI that parses and carries no headers (RFC 4475 §3.1.2.11); at most one
   * Content-Length. From is parsed only when the script or a module reads it, as in
   * Kamailio: a From nothing looks at never rejects a request.
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

  /**
   * Edits the first via-parm of the top Via (`oldText` is how it reads now, `edit` makes the
   * new text from it). When the header was not edited before, the same edit is applied to the
   * received bytes, so name spelling, spacing and folding go out as received: "exact on output".
   */
  editTopViaParm(oldText: string, edit: (parm: string) => string): string {
    const text = edit(oldText);
    const hf = this.first(HT.VIA);
    if (hf === undefined) return text;
    const value = hf.newValue ?? hf.value;
    const newValue = text + value.slice(oldText.length);
    if (hf.newValue === null && this.crlf) {
      const raw = this.raw;
      const vs = skipWs(raw, raw.indexOf(':', hf.start) + 1, hf.end);
      // usually the via-parm is one run of the received text; a folded one is edited as received
      const line = raw.startsWith(oldText, vs)
        ? raw.slice(hf.start, vs) + text + raw.slice(vs + oldText.length, hf.end)
        : raw.slice(hf.start, vs) + edit(raw.slice(vs, rawIndex(raw, vs, oldText.length))) + raw.slice(rawIndex(raw, vs, oldText.length), hf.end);
      hf.newLine = { value: newValue, line };
    }
    hf.newValue = newValue;
    return text;
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
 * Index in raw of the k-th char of a header value that starts at raw[i]: unfolding (see
 * parse-message.ts) turns each line break with the whitespace around it into one space.
 */
function rawIndex(raw: string, i: number, k: number): number {
  for (let j = 0; j < k; j++) {
    let e = i;
    while (raw.charCodeAt(e) === 32 || raw.charCodeAt(e) === 9) e++;
    const c = raw.charCodeAt(e);
    if (c === 13 || c === 10) {
      while (e < raw.length && (raw.charCodeAt(e) <= 32)) e++;
      i = e;
    } else {
      i++;
    }
  }
  return i;
}

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
