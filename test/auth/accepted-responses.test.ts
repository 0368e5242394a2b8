// The default replay table on its own: verdicts, and what it does when it must forget.
import { describe, expect, test } from 'vitest';
import { AcceptedResponses, type RequestIdentity } from '../../modules/auth/accepted-responses.js';

const req = (callId: string, port = 5062): RequestIdentity => ({ callId, cseq: 1, branch: 'z9hG4bK1', ip: '192.0.2.1', port });

function accept(t: AcceptedResponses, id: string, since: number, response: string, nc: number, r: RequestIdentity, now = since): string {
  const v = t.lookup(id, since, response, nc, () => r);
  if (v === 'new') t.remember(id, since, since + 300, response, nc, r, now);
  return v;
}

describe('AcceptedResponses', () => {
  test('same response: retransmission only from the same request and source', () => {
    const t = new AcceptedResponses(16);
    expect(accept(t, 'n1', 100, 'aa', 1, req('c1'))).toBe('new');
    expect(accept(t, 'n1', 100, 'aa', 1, req('c1'))).toBe('retransmission');
    expect(accept(t, 'n1', 100, 'AA', 1, req('c1', 5070))).toBe('replay');
    expect(accept(t, 'n1', 100, 'aa', 1, req('c2'))).toBe('replay');
    expect(accept(t, 'n1', 100, 'bb', 2, req('c2'))).toBe('new');
  });

  test('full of live nonces: the oldest is evicted and nonces issued up to its issue time are refused when unknown', () => {
    const t = new AcceptedResponses(16);
    for (let i = 0; i < 16; i++) accept(t, `n${i}`, 100 + i, 'aa', 0, req(`c${i}`));
    expect(accept(t, 'late', 200, 'aa', 0, req('x'))).toBe('new');
    expect(t.size).toBe(16);
    expect(t.evicted).toBe(1);
    // n0 (issued at 100) was forgotten: refused rather than let through
    expect(accept(t, 'n0', 100, 'aa', 0, req('c0'))).toBe('replay');
    expect(accept(t, 'n1', 101, 'aa', 0, req('c1'))).toBe('retransmission');
    expect(accept(t, 'fresh', 150, 'aa', 0, req('y'))).toBe('new');
  });

  test('expired nonces leave the table as new ones come', () => {
    const t = new AcceptedResponses(16);
    for (let i = 0; i < 16; i++) accept(t, `n${i}`, 100, 'aa', 0, req(`c${i}`));
    accept(t, 'later', 1000, 'aa', 0, req('z'), 1000);
    expect(t.evicted).toBe(0);
    expect(t.size).toBeLessThanOrEqual(9);
  });
});
