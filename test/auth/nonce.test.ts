// Stateless nonces: signed, expiring, bound to request properties when asked, verifiable by
// any instance with the same secret; replay tracking for nonce_count / one_time_nonce.
import { describe, expect, test } from 'vitest';
import { NonceSigner, secretFrom } from '../../modules/auth/nonce.js';
import { ReplayTracker } from '../../modules/auth/replay.js';

const now = 1_700_000_000;

describe('NonceSigner', () => {
  const s = new NonceSigner(secretFrom('s3cret'));

  test('a fresh nonce verifies; another instance with the same secret accepts it', () => {
    const n = s.create(now, 300);
    expect(n).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(s.verify(n, now + 10, 3).status).toBe('ok');
    expect(new NonceSigner(secretFrom('s3cret')).verify(n, now, 3).status).toBe('ok');
    expect(new NonceSigner(secretFrom('other')).verify(n, now, 3).status).toBe('invalid');
  });

  test('expired nonces are stale, nonces from the future beyond the drift are invalid', () => {
    const n = s.create(now, 30);
    expect(s.verify(n, now + 31, 3)).toMatchObject({ status: 'stale', expired: true });
    expect(s.verify(n, now - 4, 3).status).toBe('invalid');
    expect(s.verify(n, now - 3, 3).status).toBe('ok');
  });

  test('tampered, truncated and garbage nonces are invalid, never exceptions', () => {
    const n = s.create(now, 300);
    const flipped = (n[5] === 'A' ? 'B' : 'A');
    for (const bad of [n.slice(0, 5) + flipped + n.slice(6), n.slice(0, -2), '', 'x'.repeat(5000), '"><script>', 'AAAA']) {
      expect(s.verify(bad, now, 3).status).toBe('invalid');
    }
  });

  test('request checks: a nonce issued for other request properties is stale', () => {
    const n = s.create(now, 300, 'sip:a@b\ncall-1');
    expect(s.verify(n, now, 3, 'sip:a@b\ncall-1').status).toBe('ok');
    expect(s.verify(n, now, 3, 'sip:a@b\ncall-2').status).toBe('stale');
    expect(s.verify(s.create(now, 300), now, 3, 'sip:a@b\ncall-1').status).toBe('stale');
  });

  test('every nonce has its own id', () => {
    const ids = new Set(Array.from({ length: 100 }, () => s.verify(s.create(now, 300), now, 3).id));
    expect(ids.size).toBe(100);
  });
});

describe('ReplayTracker', () => {
  test('one-time nonces are accepted once', () => {
    const r = new ReplayTracker();
    expect(r.useOnce('a', now + 10, now)).toBe(true);
    expect(r.useOnce('a', now + 10, now)).toBe(false);
    expect(r.useOnce('b', now + 10, now)).toBe(true);
  });

  test('nonce counts must increase', () => {
    const r = new ReplayTracker();
    expect(r.acceptNc('a', 1, now + 10, now)).toBe(true);
    expect(r.acceptNc('a', 1, now + 10, now)).toBe(false);
    expect(r.acceptNc('a', 3, now + 10, now)).toBe(true);
    expect(r.acceptNc('a', 2, now + 10, now)).toBe(false);
  });

  test('when full of live entries it refuses instead of forgetting', () => {
    const r = new ReplayTracker(2);
    expect(r.useOnce('a', now + 100, now)).toBe(true);
    expect(r.useOnce('b', now + 100, now)).toBe(true);
    expect(r.useOnce('c', now + 100, now)).toBe(false);
    // expired entries make room
    expect(r.useOnce('c', now + 300, now + 200)).toBe(true);
    expect(r.size).toBe(1);
  });
});
