// Seeded mutations of valid SIP messages, shared by the message-layer fuzz test and the
// receive-path fuzz test.
import { readdirSync, readFileSync } from 'node:fs';

export function loadSeeds(): Buffer[] {
  const out: Buffer[] = [];
  for (const sub of ['', 'rfc4475/']) {
    const dir = new URL(`../fixtures/messages/${sub}`, import.meta.url);
    for (const f of readdirSync(dir)) if (f.endsWith('.sip')) out.push(readFileSync(new URL(f, dir)));
  }
  return out;
}

/** mulberry32 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ['\r', '\n', '\r\n', '\r\n ', '\r\n\r\n', ':', '"', '\\', '<', '>', ',', ';', '=', ' ', '\t', '@', '%', '[', ']', '?', '\0', '\xff', '*'];
const CL_VALUES = ['', '-1', '0', '1', '9999', '99999999999', '4294967296', 'abc', ' 5 ', '00000000000000000007'];

// operation ids weighted towards edits that keep the message framed, so accessors get exercised
const OPS = [0, 0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6];

export function mutate(src: string, rnd: () => number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  let s = src;
  const rounds = rnd() < 0.6 ? 1 : 2 + int(3);
  for (let r = 0; r < rounds; r++) {
    const p = int(s.length + 1);
    switch (OPS[int(OPS.length)]) {
      case 0: // byte flip
        s = s.slice(0, p) + String.fromCharCode(int(256)) + s.slice(p + 1);
        break;
      case 1: // special insertion
        s = s.slice(0, p) + SPECIAL[int(SPECIAL.length)] + s.slice(p);
        break;
      case 2: // truncation
        s = s.slice(0, p);
        break;
      case 3: { // delete a range
        const q = p + int(40);
        s = s.slice(0, p) + s.slice(q);
        break;
      }
      case 4: { // duplicate a range somewhere
        const a = int(s.length + 1);
        const chunk = s.slice(a, a + int(120));
        s = s.slice(0, p) + chunk + s.slice(p);
        break;
      }
      case 5: { // duplicate a whole line
        const a = s.lastIndexOf('\n', p - 1) + 1;
        const b = s.indexOf('\n', p);
        if (b > a) s = s.slice(0, a) + s.slice(a, b + 1) + s.slice(a);
        break;
      }
      default: { // random Content-Length
        const m = /(Content-Length|\nl|\nL)\s*:[^\r\n]*/.exec(s);
        const v = rnd() < 0.5 ? String(int(s.length + 10)) : CL_VALUES[int(CL_VALUES.length)];
        if (m !== null) s = s.slice(0, m.index) + m[1] + ': ' + v + s.slice(m.index + m[0].length);
      }
    }
  }
  return s;
}
