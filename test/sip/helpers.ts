// Test helpers for the SIP layer: fixture loading and a CRLF message builder for tiny edge cases.
import { readFileSync } from 'node:fs';
import { SipMessage } from '../../src/sip/index.js';

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/messages/${name}`, import.meta.url));
}

export function parseFixture(name: string): SipMessage {
  return SipMessage.parse(fixture(name));
}

/** joins lines with CRLF; pass '' as the last line to end the header section */
export function sip(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** a minimal valid request with the given extra header lines and body */
export function request(extra: string[] = [], body = '', method = 'OPTIONS'): Buffer {
  return sip(
    `${method} sip:bob@example.com SIP/2.0`,
    'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
    'From: <sip:alice@example.com>;tag=1',
    'To: <sip:bob@example.com>',
    'Call-ID: c1@host',
    `CSeq: 1 ${method}`,
    ...extra,
    `Content-Length: ${body.length}`,
    '',
    body,
  );
}
