// Parsed SIP header types shared by the core and the modules (RFC 3261 §20, §25).
// Values are latin1 strings sliced from the received datagram, so bytes round-trip exactly.
import type { ErrorCode } from '../core/errors.js';

/** Well-known header type ids; OTHER for anything not in the table (see header-types.ts). */
export const enum HT {
  OTHER = 0,
  VIA,
  FROM,
  TO,
  CALL_ID,
  CSEQ,
  CONTACT,
  MAX_FORWARDS,
  ROUTE,
  RECORD_ROUTE,
  CONTENT_LENGTH,
  CONTENT_TYPE,
  EXPIRES,
  AUTHORIZATION,
  PROXY_AUTHORIZATION,
  WWW_AUTHENTICATE,
  PROXY_AUTHENTICATE,
  USER_AGENT,
  SERVER,
  SUPPORTED,
  REQUIRE,
  PROXY_REQUIRE,
  ALLOW,
  EVENT,
  SUBJECT,
  PATH,
  MIN_EXPIRES,
  ACCEPT,
}

export interface SipUri {
  /** lower-case: 'sip', 'sips' or 'tel' */
  scheme: string;
  user: string | null;
  password: string | null;
  host: string; // IPv6 kept with brackets: "[::1]"
  port: number | null;
  /** uri-parameters in order; value null for flag params like `lr` */
  params: [string, string | null][];
  /** "?a=b&c=d" part without the '?', or null */
  headers: string | null;
}

export interface Via {
  protocol: string; // "SIP/2.0"
  transport: string; // upper-case: UDP, TCP, TLS, SCTP, WS, WSS
  host: string;
  port: number | null;
  params: [string, string | null][];
  branch: string | null;
  received: string | null;
  /** null: no rport; '' : rport without value; otherwise the value */
  rport: string | null;
  /** text of this via-parm as received */
  raw: string;
}

export interface NameAddr {
  display: string | null;
  /** URI text without the angle brackets */
  uri: string;
  /** the URI parsed while checking it (sip/sips/tel; null for other schemes): read-only, shared */
  parsedUri: Readonly<SipUri> | null;
  params: [string, string | null][];
  tag: string | null;
  raw: string;
}

export interface Contact extends NameAddr {
  expires: number | null; // `expires=` param when numeric
  q: number | null; // 0..1
}

export interface CSeq {
  seq: number;
  method: string;
}

export interface DigestCredentials {
  scheme: string; // "Digest"
  username: string | null;
  realm: string | null;
  nonce: string | null;
  uri: string | null;
  response: string | null;
  algorithm: string | null;
  cnonce: string | null;
  opaque: string | null;
  qop: string | null;
  nc: string | null;
  /** every auth-param, lower-cased names, values unquoted */
  params: Map<string, string>;
}

export class SipParseError extends Error {
  readonly code: ErrorCode = 'TSER_E_SIP_PARSE';
  constructor(message: string) {
    super(message);
    this.name = 'SipParseError';
  }
}

/**
 * One header line of a received message (RFC 3261 §7.3). Accessors read `value` as received;
 * `removed`/`newValue` are lumps applied only when the message is serialized.
 */
export interface HeaderField {
  /** name as written (may be a compact form) */
  readonly name: string;
  readonly type: HT;
  /** canonical lower-case full name: "via" for both "Via" and "v" */
  readonly lname: string;
  /** trimmed, folding replaced by single spaces */
  readonly value: string;
  removed: boolean;
  newValue: string | null;
  /**
   * The whole line(s) to write for `newValue` when the edit could be spliced into the received
   * text (name spelling, spacing and folding kept); used only while newValue is still `value`.
   */
  newLine: { value: string; line: string } | null;
  /** parse cache filled by the message accessors; null until first use */
  parsed: unknown;
  /** offsets into msg.raw: [start, end) spans the whole line(s) including the terminator */
  readonly start: number;
  readonly end: number;
}
