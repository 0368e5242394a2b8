// Rate limit for one kind of repeated log line (bad input: malformed datagrams, failed
// digest checks): the first `burst` lines of an interval are logged as they come, the rest
// only counted, and one summary line with the count closes the interval. A flood of bad
// packets then costs a few lines per interval instead of one per packet (issue 18).
import type { Logger } from 'pino';

export interface LogLimit {
  /** lines logged per interval before counting starts */
  burst: number;
  intervalMs: number;
}

export const BAD_INPUT_LIMIT: LogLimit = { burst: 10, intervalMs: 10_000 };

export type LimitedLevel = 'error' | 'warn' | 'info';

export class LogLimiter {
  private windowEnd = 0;
  private count = 0;
  /** lines not logged in the current interval */
  private suppressed = 0;
  private timer: NodeJS.Timeout | null = null;
  /** lines not logged since start (statistics, tests) */
  totalSuppressed = 0;

  constructor(
    private readonly log: Logger,
    /** the message of the lines limited, repeated in the summary */
    readonly kind: string,
    private readonly limit: LogLimit = BAD_INPUT_LIMIT,
    private readonly level: LimitedLevel = 'warn',
  ) {}

  /**
   * true: log this line (the caller does, with its own fields); false: it was counted. The
   * caller builds its fields only when this says true, so a suppressed line allocates nothing.
   */
  allow(): boolean {
    const now = Date.now();
    if (now >= this.windowEnd) {
      this.flush();
      this.windowEnd = now + this.limit.intervalMs;
      this.count = 0;
    }
    if (++this.count <= this.limit.burst) return true;
    this.suppressed++;
    this.totalSuppressed++;
    if (this.timer === null) {
      // the summary goes out when the interval ends even if the flood stopped
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowEnd - now));
      this.timer.unref();
    }
    return false;
  }

  /** log the summary of the interval so far, if anything was counted */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const n = this.suppressed;
    if (n === 0) return;
    this.suppressed = 0;
    this.log[this.level]({ suppressed: n, intervalMs: this.limit.intervalMs }, `${this.kind}: ${n} more not logged (rate limit)`);
  }
}
