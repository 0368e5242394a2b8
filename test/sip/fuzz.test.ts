// Mutation fuzzing of the message layer: whatever the bytes, parse + every accessor +
// checkRequired + serialization + buildReply either work or throw SipParseError.
// Seeded, so a failure reproduces; the failing input is printed as base64.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReply, formatVia, SipMessage, SipParseError } from '../../src/sip/index.js';

const CASES = Number(process.env.TSER_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.TSER_FUZZ_SEED ?? 0x5eed);

function loadSeeds(): Buffer[] {
  const out: Buffer[] = [];
  for (const sub of ['', 'rfc4475/']) {
    const dir = new URL(`../fixtures/messages/${sub}`, import.meta.url);
    for (const f of readdirSync(dir)) if (f.endsWith('.sip')) out.push(readFileSync(new URL(f, dir)));
  }
  return out;
}

/** mulberry32 */
function prng(seed: number): () => number {
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

function mutate(src: string, rnd: () => number): string {
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

/** runs fn; returns true if it threw SipParseError; rethrows anything else */
function guard(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (e instanceof SipParseError) return true;
    throw e;
  }
}

/** returns whether the input parsed */
function exercise(buf: Buffer, rnd: () => number): boolean {
  let m: SipMessage;
  try {
    m = SipMessage.parse(buf);
  } catch (e) {
    if (e instanceof SipParseError) return false;
    throw e;
  }
  guard(() => m.method);
  guard(() => m.vias());
  guard(() => m.topVia());
  guard(() => m.from());
  guard(() => m.to());
  guard(() => m.callId());
  guard(() => m.cseq());
  guard(() => m.contacts());
  guard(() => m.routes());
  guard(() => m.recordRoutes());
  guard(() => m.credentials('www'));
  guard(() => m.credentials('proxy'));
  m.maxForwards();
  m.expires();
  for (const h of m.headers) {
    m.header(h.name);
    m.headersNamed(h.name);
  }
  const bad = m.checkRequired();
  if (m.isRequest) {
    guard(() => m.ruriParsed());
    // the core's usual edits before relaying or replying
    if (bad === null) {
      const top = m.header('Via');
      if (top !== undefined) m.setHeaderValue(top, formatVia({ ...m.topVia(), received: '192.0.2.1', rport: '5060' }));
      const mf = m.header('Max-Forwards');
      if (mf !== undefined) m.setHeaderValue(mf, '69');
    }
    if (rnd() < 0.3 && m.headers.length > 0) m.removeHeader(m.headers[Math.floor(rnd() * m.headers.length)]);
    if (rnd() < 0.2) m.setBody(rnd() < 0.5 ? '' : 'v=0\r\n', 'application/sdp');
    m.insertHeaderTop('Record-Route: <sip:192.0.2.1;lr>');
    m.appendHeader('X-Fuzz: 1\r\n');
    reparse(m.serializeRequest({ ruri: 'sip:x@192.0.2.2', via: 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf', extraTop: ['X-A: 1'] }));
    reparse(buildReply(m, bad === null ? 200 : 400, 'R', { toTag: 't1', headers: ['X-B: 2'], server: 's' }));
    reparse(buildReply(m, 100, 'Trying', { body: 'x', contentType: 'text/plain' }));
  } else {
    for (const removeTopVia of [false, true]) {
      let out: Buffer;
      try {
        out = m.serializeReply({ removeTopVia });
      } catch (e) {
        if (e instanceof SipParseError) continue;
        throw e;
      }
      reparse(out);
    }
  }
  return true;
}

/** what we write must parse again */
function reparse(out: Buffer): void {
  SipMessage.parse(out);
}

describe('fuzz', () => {
  it(`survives ${CASES} mutated messages (seed ${SEED})`, () => {
    const seeds = loadSeeds().map((b) => b.toString('latin1'));
    const rnd = prng(SEED);
    let parsed = 0;
    for (let i = 0; i < CASES; i++) {
      const text = mutate(seeds[i % seeds.length], rnd);
      const buf = Buffer.from(text, 'latin1');
      try {
        if (exercise(buf, rnd)) parsed++;
      } catch (e) {
        throw new Error(`case ${i}: ${(e as Error).stack}\ninput (base64): ${buf.toString('base64')}`);
      }
    }
    // the mutations should leave a fair share of messages parseable, or the accessors go untested
    expect(parsed).toBeGreaterThan(CASES * 0.2);
  }, 60_000);
});
