// The header section and body of a message as one text (what Kamailio's textops runs its
// regexes over, starting after the first line), and the way back: splices found in that text
// become header lumps (setHeaderValue / removeHeader / appendHeader) or a new body.
// Earlier edits are visible (edited values, removed headers); added header lines are not,
// as in Kamailio where lumps are not part of the buffer textops searches.
import type { Logger } from 'pino';
import { lookupHeader, type HeaderField } from '../../src/sip/index.js';
import type { SipMessage } from '../../src/sip/message.js';
import { applySplices, type Splice } from './subst.js';

interface Segment {
  hf: HeaderField;
  start: number;
  end: number;
  line: string;
}

export interface MsgView {
  /** header lines (each with its terminator), an empty line, the body */
  text: string;
  segments: Segment[];
  /** offset of the empty line ending the headers */
  hdrEnd: number;
  bodyStart: number;
  body: string;
}

/** the current text of one header line, terminator included */
export function headerLine(msg: SipMessage, hf: HeaderField): string {
  return hf.newValue !== null ? `${hf.name}: ${hf.newValue}\r\n` : msg.raw.slice(hf.start, hf.end);
}

/** the current header value (after earlier edits) */
export function headerValue(hf: HeaderField): string {
  return hf.newValue ?? hf.value;
}

export function currentBody(msg: SipMessage): string {
  return msg.newBody ?? msg.body;
}

export function view(msg: SipMessage): MsgView {
  const segments: Segment[] = [];
  let text = '';
  for (const hf of msg.headers) {
    if (hf.removed) continue;
    const line = headerLine(msg, hf);
    segments.push({ hf, start: text.length, end: text.length + line.length, line });
    text += line;
  }
  const hdrEnd = text.length;
  const body = currentBody(msg);
  text += '\r\n' + body;
  return { text, segments, hdrEnd, bodyStart: hdrEnd + 2, body };
}

/** the whole message as search() sees it: first line as received, then view() */
export function wholeText(msg: SipMessage): string {
  return msg.startLine + '\r\n' + view(msg).text;
}

function segmentAt(v: MsgView, pos: number): number {
  const s = v.segments;
  let lo = 0;
  let hi = s.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pos < s[mid].start) hi = mid - 1;
    else if (pos >= s[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

interface ParsedLine {
  name: string;
  value: string;
  text: string;
}

/** split edited header text back into header lines (continuation lines folded in) */
function parseLines(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  for (const raw of text.split(/\r\n|\n/)) {
    if (raw.length === 0) continue;
    const last = out[out.length - 1];
    if ((raw[0] === ' ' || raw[0] === '\t') && last) {
      last.value = `${last.value} ${raw.trim()}`.trim();
      last.text += '\r\n' + raw;
      continue;
    }
    const colon = raw.indexOf(':');
    out.push({
      name: colon < 0 ? raw.trim() : raw.slice(0, colon).trim(),
      value: colon < 0 ? '' : raw.slice(colon + 1).trim(),
      text: raw,
    });
  }
  return out;
}

/**
 * Apply splices (offsets into v.text, sorted, non-overlapping) to the message. A splice
 * across the end of the headers is skipped with a warning. Returns how many were applied.
 */
export function applyToMessage(msg: SipMessage, v: MsgView, splices: readonly Splice[], log: Logger): number {
  const body: Splice[] = [];
  const groups: { a: number; b: number; sp: Splice[] }[] = [];
  let applied = 0;
  for (const sp of splices) {
    if (sp.start >= v.bodyStart) {
      body.push({ start: sp.start - v.bodyStart, end: sp.end - v.bodyStart, text: sp.text });
      applied++;
      continue;
    }
    const a = segmentAt(v, sp.start === sp.end && sp.start > 0 ? sp.start - 1 : sp.start);
    const b = segmentAt(v, Math.max(sp.start, sp.end - 1));
    if (a < 0 || b < 0) {
      log.warn({ at: sp.start }, 'textops: a change across the end of the headers is not supported; skipped');
      continue;
    }
    const g = groups[groups.length - 1];
    if (g && a <= g.b) {
      g.b = Math.max(g.b, b);
      g.sp.push(sp);
    } else groups.push({ a, b, sp: [sp] });
    applied++;
  }
  for (const g of groups) editHeaders(msg, v, g.a, g.b, g.sp);
  if (body.length > 0) msg.setBody(applySplices(v.body, body));
  return applied;
}

function editHeaders(msg: SipMessage, v: MsgView, a: number, b: number, sps: Splice[]): void {
  const base = v.segments[a].start;
  const orig = v.text.slice(base, v.segments[b].end);
  const rel = sps.map((s) => ({ start: s.start - base, end: s.end - base, text: s.text }));
  const lines = parseLines(applySplices(orig, rel));
  const segs = v.segments.slice(a, b + 1);
  const sameShape =
    lines.length === segs.length &&
    lines.every((l, i) => l.text.includes(':') && lookupHeader(l.name).lname === segs[i].hf.lname);
  if (sameShape) {
    lines.forEach((l, i) => {
      const hf = segs[i].hf;
      if (l.value !== headerValue(hf) || l.text + '\r\n' !== segs[i].line) msg.setHeaderValue(hf, l.value);
    });
    return;
  }
  // names changed, or lines added/removed: only same-name order matters in SIP (RFC 3261
  // §7.3.1), so the new lines go after the other headers
  for (const s of segs) msg.removeHeader(s.hf);
  for (const l of lines) msg.appendHeader(l.text);
}
