// GuessGuard on its own: increasing delay, block logged once, one check at a time for a
// suspicious source, per-user lockout only from several sources, list and unblock.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { GuessGuard, type GuessLimits } from '../../modules/auth/guess-guard.js';

const limits: GuessLimits = { windowS: 300, delayAfter: 5, delayStepMs: 100, delayMaxMs: 2000, sourceBlockAfter: 20, userBlockAfter: 50, blockTimeS: 300 };

function guard(): { g: GuessGuard; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
  return { g: new GuessGuard(limits, log), lines };
}

describe('GuessGuard', () => {
  test('delay grows past delayAfter, the source is blocked at the threshold, logged once', () => {
    const { g, lines } = guard();
    const delays = Array.from({ length: 19 }, () => g.failed('192.0.2.1', 'alice@x', 1000));
    expect(delays.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(delays.slice(5, 8)).toEqual([100, 200, 300]);
    expect(g.admit('192.0.2.1', 'alice@x', 1000)).toBe('held');
    expect(g.admit('192.0.2.1', 'alice@x', 1000)).toBe('busy'); // one check at a time
    g.release('192.0.2.1');
    g.failed('192.0.2.1', 'alice@x', 1000);
    expect(g.admit('192.0.2.1', 'alice@x', 1000)).toBe('source');
    for (let i = 0; i < 100; i++) g.failed('192.0.2.1', 'alice@x', 1001); // late answers: not counted
    expect(lines.filter((l) => l.includes('blocked after failed authentications'))).toHaveLength(1);
    // the user is not locked out for others: a clean source is admitted
    expect(g.admit('192.0.2.99', 'alice@x', 1001)).toBe(null);
    expect(g.list(1001)).toEqual([{ kind: 'source', key: '192.0.2.1', expires: 299, blocks: 1 }]);
    expect(g.admit('192.0.2.1', 'alice@x', 1000 + 301)).toBe('held'); // the block expired
  });

  test('failures for one user from many sources lock the user; unblock lifts it', () => {
    const { g } = guard();
    for (let s = 0; s < 10; s++) for (let i = 0; i < 5; i++) g.failed(`198.51.100.${s}`, 'bob@x', 1000);
    expect(g.admit('203.0.113.1', 'bob@x', 1000)).toBe('user');
    expect(g.admit('203.0.113.1', 'carol@x', 1000)).toBe(null);
    expect(g.unblock('bob@x', 1000)).toBe(1);
    expect(g.admit('203.0.113.1', 'bob@x', 1000)).toBe(null);
  });
});
