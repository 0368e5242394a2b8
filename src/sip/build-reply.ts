// Local replies to a received request (RFC 3261 §8.2.6): Via (all, as edited by the core),
// From, To (+ our tag), Call-ID, CSeq, Record-Route for 101..299, extras, Content-Length.
// Works on requests that failed checkRequired too, so a 400 can always be built.

import type { SipMessage } from './message.js';
import { normalizeLines } from './serialize.js';
import { HT, SipParseError } from './types.js';

const CRLF = '\r\n';

export interface BuildReplyOpts {
  /** To tag added when the request's To has none and code > 100 */
  toTag?: string;
  /** extra header lines ("Name: value", CRLF optional) */
  headers?: string[];
  body?: string;
  contentType?: string;
  /** value of a Server header */
  server?: string;
}

export function buildReply(req: SipMessage, code: number, reason: string, opts: BuildReplyOpts = {}): Buffer {
  if (!req.isRequest) throw new TypeError('buildReply: not a request');
  if (!Number.isInteger(code) || code < 100 || code > 699) throw new RangeError('buildReply: bad status code ' + code);
  let out = 'SIP/2.0 ' + code + ' ' + oneLine(reason) + CRLF;
  const copyRR = code > 100 && code < 300;
  let from = false;
  let to = false;
  let callId = false;
  let cseq = false;
  for (const h of req.headers) {
    if (h.removed) continue;
    const v = h.newValue ?? h.value;
    switch (h.type) {
      case HT.VIA:
        out += 'Via: ' + v + CRLF;
        break;
      case HT.FROM:
        if (!from) out += 'From: ' + v + CRLF;
        from = true;
        break;
      case HT.TO:
        if (!to) out += 'To: ' + v + toTag(req, code, opts.toTag) + CRLF;
        to = true;
        break;
      case HT.CALL_ID:
        if (!callId) out += 'Call-ID: ' + v + CRLF;
        callId = true;
        break;
      case HT.CSEQ:
        if (!cseq) out += 'CSeq: ' + v + CRLF;
        cseq = true;
        break;
      case HT.RECORD_ROUTE:
        if (copyRR) out += 'Record-Route: ' + v + CRLF;
        break;
      default:
    }
  }
  if (opts.headers !== undefined) for (const l of opts.headers) out += normalizeLines(l);
  if (opts.server !== undefined) out += 'Server: ' + oneLine(opts.server) + CRLF;
  const body = opts.body ?? '';
  if (body.length > 0 && opts.contentType !== undefined) out += 'Content-Type: ' + oneLine(opts.contentType) + CRLF;
  out += 'Content-Length: ' + body.length + CRLF + CRLF + body;
  return Buffer.from(out, 'latin1');
}

/** ";tag=…" when one is due; a To that does not parse gets none (the reply is a 400 anyway) */
function toTag(req: SipMessage, code: number, tag: string | undefined): string {
  if (tag === undefined || tag.length === 0 || code <= 100) return '';
  try {
    return req.to().tag === null ? ';tag=' + tag : '';
  } catch (e) {
    if (e instanceof SipParseError) return '';
    throw e;
  }
}

function oneLine(s: string): string {
  return s.indexOf('\r') < 0 && s.indexOf('\n') < 0 ? s : s.replace(/[\r\n]+/g, ' ');
}
