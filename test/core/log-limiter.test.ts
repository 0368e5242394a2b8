// LogLimiter: first `burst` lines per interval, then counting, one summary per interval.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LogLimiter } from '../../src/core/log-limiter.js';

describe('LogLimiter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  test('burst, count, summary at the end of the interval, then a fresh burst', () => {
    const lines: { msg: string; suppressed?: number }[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as { msg: string }), cb()) }));
    const l = new LogLimiter(log, 'bad thing', { burst: 3, intervalMs: 1000 });
    const allowed = Array.from({ length: 10 }, () => l.allow()).filter(Boolean).length;
    expect(allowed).toBe(3);
    expect(lines).toHaveLength(0);
    vi.advanceTimersByTime(1000);
    expect(lines).toEqual([expect.objectContaining({ msg: 'bad thing: 7 more not logged (rate limit)', suppressed: 7 })]);
    expect(l.allow()).toBe(true);
    expect(l.totalSuppressed).toBe(7);
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(1); // nothing suppressed since: no summary
  });
});
