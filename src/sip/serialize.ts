// Outgoing bytes from a received message plus its lumps (Kamailio msg_translator style):
// untouched header lines are copied as runs of the received text, edited ones re-emitted as
// `Name: value`, Content-Length always matches the body. Never mutates the message.

import { trimWs } from './chars.js';
import type { SipMessage } from './message.js';
import { topLevelComma } from './parse-params.js';
import { HT, SipParseError } from './types.js';

const CRLF = '\r\n';

export interface RequestOpts {
  /** new Request-URI (default: as received) */
  ruri?: string;
  /** via-parm for a new top Via header */
  via?: string;
  /** header lines placed right after the new Via */
  extraTop?: string[];
  /** header lines placed after the appended headers */
  extraBottom?: string[];
}

export interface ReplyOpts {
  /** drop the first via-parm (ours) when forwarding a reply */
  removeTopVia: boolean;
}

/**
 * Header line(s) as CRLF-terminated text; accepts a trailing CRLF or none. Blank lines are
 * dropped so a lump can never end the header section early.
 */
export function normalizeLines(text: string): string {
  if (text.indexOf('\n') < 0 && text.indexOf('\r') < 0) return trimWs(text).length === 0 ? '' : text + CRLF;
  let out = '';
  for (const part of text.split(/\r\n|\r|\n/)) if (trimWs(part).length > 0) out += part + CRLF;
  return out;
}

export function serializeRequest(msg: SipMessage, opts: RequestOpts = {}): Buffer {
  if (!msg.isRequest) throw new TypeError('serializeRequest: not a request');
  let out = msg.method + ' ' + (opts.ruri ?? msg.ruri) + ' SIP/2.0' + CRLF;
  if (opts.via !== undefined) out += 'Via: ' + opts.via + CRLF;
  if (opts.extraTop !== undefined) for (const l of opts.extraTop) out += normalizeLines(l);
  return Buffer.from(writeHeaders(msg, out, false, opts.extraBottom), 'latin1');
}

export function serializeReply(msg: SipMessage, opts: ReplyOpts): Buffer {
  if (msg.isRequest) throw new TypeError('serializeReply: not a reply');
  return Buffer.from(writeHeaders(msg, msg.startLine + CRLF, opts.removeTopVia, undefined), 'latin1');
}

const CT_KEEP = 0;
const CT_SET = 1;
const CT_DROP = 2;

// hot path: the common case (no edits) appends one slice of the received header block
function writeHeaders(msg: SipMessage, out: string, dropTopVia: boolean, extraBottom: string[] | undefined): string {
  for (const l of msg.topLines) out += l;
  const raw = msg.raw;
  const verbatim = msg.crlf;
  const newBody = msg.newBody;
  const body = newBody ?? msg.body;
  const clValue = String(body.length);
  const ctMode = newBody !== null && newBody.length === 0 ? CT_DROP : msg.newContentType !== null ? CT_SET : CT_KEEP;
  let clDone = false;
  let ctDone = false;
  let viaPending = dropTopVia;
  let run = -1;
  let runEnd = 0;
  for (const h of msg.headers) {
    let line: string | null = null; // null: copy as received
    if (h.removed) {
      line = '';
    } else if (h.type === HT.CONTENT_LENGTH) {
      if (clDone) line = '';
      else if (h.newValue !== null || h.value !== clValue) line = h.name + ': ' + clValue + CRLF;
      clDone = true;
    } else if (h.type === HT.CONTENT_TYPE && ctMode !== CT_KEEP) {
      line = ctMode === CT_DROP || ctDone ? '' : h.name + ': ' + msg.newContentType + CRLF;
      ctDone = true;
    } else if (viaPending && h.type === HT.VIA) {
      viaPending = false;
      const v = h.newValue ?? h.value;
      const comma = topLevelComma(v);
      line = comma < 0 ? '' : h.name + ': ' + trimWs(v.slice(comma + 1)) + CRLF;
    } else if (h.newValue !== null) {
      const nl = h.newLine;
      line = nl !== null && nl.value === h.newValue ? nl.line : h.name + ': ' + h.newValue + CRLF;
    }
    if (line === null) {
      if (verbatim) {
        if (run < 0) run = h.start;
        runEnd = h.end;
        continue;
      }
      line = h.name + ': ' + h.value + CRLF;
    }
    if (run >= 0) {
      out += raw.slice(run, runEnd);
      run = -1;
    }
    out += line;
  }
  if (run >= 0) out += raw.slice(run, runEnd);
  if (viaPending) throw new SipParseError('no Via header to remove');
  for (const l of msg.bottomLines) out += l;
  if (extraBottom !== undefined) for (const l of extraBottom) out += normalizeLines(l);
  if (ctMode === CT_SET && !ctDone) out += 'Content-Type: ' + msg.newContentType + CRLF;
  if (!clDone) out += 'Content-Length: ' + clValue + CRLF;
  return out + CRLF + body;
}
