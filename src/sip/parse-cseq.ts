// CSeq (RFC 3261 §20.16): `1*DIGIT LWS Method`, number within 32 bits.

import { C_DIGIT, C_TOKEN, scanClass, skipWs } from './chars.js';
import { parseUint } from './chars.js';
import { SipParseError, type CSeq } from './types.js';

export function parseCSeq(value: string): CSeq {
  const end = value.length;
  let pos = skipWs(value, 0, end);
  const ds = pos;
  pos = scanClass(value, pos, end, C_DIGIT);
  const seq = parseUint(value.slice(ds, pos));
  if (seq < 0) throw new SipParseError('CSeq: bad sequence number');
  const ms = skipWs(value, pos, end);
  if (ms === pos) throw new SipParseError('CSeq: expected whitespace before method');
  pos = scanClass(value, ms, end, C_TOKEN);
  if (pos === ms) throw new SipParseError('CSeq: missing method');
  if (skipWs(value, pos, end) !== end) throw new SipParseError('CSeq: trailing garbage');
  return { seq, method: value.slice(ms, pos) };
}
