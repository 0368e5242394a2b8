// Splits a byte stream into JSON documents: one request per complete top-level object or
// array (newline-terminated or not), so clients may send `{...}\n`, `{...}{...}` or a
// pretty-printed document. Anything that does not start with `{`/`[` is taken up to the
// end of its line and handed on as is (it will fail JSON.parse → -32700).
import { StringDecoder } from 'node:string_decoder';

/** index just past the JSON object/array starting at `start`, or -1 when incomplete */
export function scanJsonEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return i + 1; // stray closer: let JSON.parse report it
    }
  }
  return -1;
}

export type Frame = { doc: string } | { tooLarge: true };

export class JsonFramer {
  private buf = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxBytes = 1 << 20) {}

  /** feed bytes, get the complete documents (and a tooLarge marker when over the limit) */
  push(chunk: Buffer | string): Frame[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: Frame[] = [];
    for (;;) {
      const start = this.buf.search(/\S/);
      if (start < 0) {
        this.buf = '';
        break;
      }
      const c = this.buf[start];
      let end: number;
      if (c === '{' || c === '[') end = scanJsonEnd(this.buf, start);
      else {
        const nl = this.buf.indexOf('\n', start);
        end = nl < 0 ? -1 : nl;
      }
      if (end < 0) {
        if (this.buf.length - start > this.maxBytes) {
          this.buf = '';
          out.push({ tooLarge: true });
        } else if (start > 0) this.buf = this.buf.slice(start);
        break;
      }
      out.push({ doc: this.buf.slice(start, end) });
      this.buf = this.buf.slice(end);
    }
    return out;
  }

  /** bytes of an incomplete document waiting for more input */
  get pending(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf = '';
  }
}
