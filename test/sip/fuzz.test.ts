// Mutation fuzzing of the message layer: whatever the bytes, parse + every accessor +
// checkRequired + serialization + buildReply either work or throw SipParseError.
// Seeded, so a failure reproduces; the failing input is printed as base64.
import { describe, expect, it } from 'vitest';
import { buildReply, formatVia, SipMessage, SipParseError } from '../../src/sip/index.js';
import { loadSeeds, mutate, prng } from '../helpers/fuzz-mutations.js';

const CASES = Number(process.env.TSER_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.TSER_FUZZ_SEED ?? 0x5eed);

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
