// Header name → type id table, including the compact forms of RFC 3261 §7.3.3, RFC 3265 (o, u),
// RFC 3515 (r), RFC 3892 (b), RFC 4028 (x) and RFC 3841 (a, j, d).
// Hot path: common spellings hit an exact-match Map, so most names are never lower-cased.

import { HT } from './types.js';

export interface HeaderDef {
  readonly type: HT;
  /** canonical lower-case full name */
  readonly lname: string;
  /** canonical spelling used when tser writes the header itself */
  readonly cname: string;
}

const KNOWN: [string, HT, string?][] = [
  ['Via', HT.VIA, 'v'],
  ['From', HT.FROM, 'f'],
  ['To', HT.TO, 't'],
  ['Call-ID', HT.CALL_ID, 'i'],
  ['CSeq', HT.CSEQ],
  ['Contact', HT.CONTACT, 'm'],
  ['Max-Forwards', HT.MAX_FORWARDS],
  ['Route', HT.ROUTE],
  ['Record-Route', HT.RECORD_ROUTE],
  ['Content-Length', HT.CONTENT_LENGTH, 'l'],
  ['Content-Type', HT.CONTENT_TYPE, 'c'],
  ['Expires', HT.EXPIRES],
  ['Authorization', HT.AUTHORIZATION],
  ['Proxy-Authorization', HT.PROXY_AUTHORIZATION],
  ['WWW-Authenticate', HT.WWW_AUTHENTICATE],
  ['Proxy-Authenticate', HT.PROXY_AUTHENTICATE],
  ['User-Agent', HT.USER_AGENT],
  ['Server', HT.SERVER],
  ['Supported', HT.SUPPORTED, 'k'],
  ['Require', HT.REQUIRE],
  ['Proxy-Require', HT.PROXY_REQUIRE],
  ['Allow', HT.ALLOW],
  ['Event', HT.EVENT, 'o'],
  ['Subject', HT.SUBJECT, 's'],
  ['Path', HT.PATH],
  ['Min-Expires', HT.MIN_EXPIRES],
  ['Accept', HT.ACCEPT],
  ['Content-Encoding', HT.OTHER, 'e'],
  ['Allow-Events', HT.OTHER, 'u'],
  ['Refer-To', HT.OTHER, 'r'],
  ['Referred-By', HT.OTHER, 'b'],
  ['Session-Expires', HT.OTHER, 'x'],
  ['Accept-Contact', HT.OTHER, 'a'],
  ['Reject-Contact', HT.OTHER, 'j'],
  ['Request-Disposition', HT.OTHER, 'd'],
];

/** exact spellings: canonical, lower, upper and both cases of the compact form */
const EXACT = new Map<string, HeaderDef>();
/** lower-case full and compact names */
const LOWER = new Map<string, HeaderDef>();

for (const [cname, type, compact] of KNOWN) {
  const lname = cname.toLowerCase();
  const def: HeaderDef = { type, lname, cname };
  for (const n of [cname, lname, cname.toUpperCase()]) EXACT.set(n, def);
  LOWER.set(lname, def);
  if (compact !== undefined) {
    EXACT.set(compact, def);
    EXACT.set(compact.toUpperCase(), def);
    LOWER.set(compact, def);
  }
}

// hot path: called once per header line of every received message
export function lookupHeader(name: string): HeaderDef {
  const d = EXACT.get(name);
  if (d !== undefined) return d;
  const lname = name.toLowerCase();
  return LOWER.get(lname) ?? { type: HT.OTHER, lname, cname: name };
}
