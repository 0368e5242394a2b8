// Overload protection (issue 11): past a limit, new requests are refused with a cheap
// stateless 503 + Retry-After instead of queueing without bound, retransmissions of refused
// or still-running requests are absorbed, and work already invested (credentials, in-dialog
// requests) gets twice the limits so it can finish. Two signals, chosen by measurement:
// requests in flight (async work, e.g. waiting for the DB) and the receive queue delay, which
// a self-addressed probe datagram measures end to end (kernel socket queue + event loop).
// The server asks screen() only when inflight >= watchFrom or `active` is set, so the normal
// case costs two integer compares per request.
import dgram from 'node:dgram';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { SipMessage } from '../sip/index.js';
import type { ListenSocket } from '../transport/types.js';
import type { Counter, Stats } from './stats.js';

export interface OverloadLimits {
  /** new requests (no credentials, no To-tag) in flight past which new INVITE/REGISTER/… get 503 */
  maxInflight: number;
  /** receive queue delay (ms) past which a growing share of new requests gets 503; 0 = off */
  maxQueueDelay: number;
  /** Retry-After of the 503, seconds */
  retryAfter: number;
}

export const OVERLOAD_DEFAULTS: OverloadLimits = { maxInflight: 300, maxQueueDelay: 100, retryAfter: 5 };

/** screen() verdicts */
export const ADMIT = 0;
/** answer 503 (stateless) */
export const REFUSE = 1;
/** drop silently: a retransmission of a refused or still running request, or an ACK/CANCEL past the hard cap */
export const ABSORB = 2;
export type Verdict = typeof ADMIT | typeof REFUSE | typeof ABSORB;

/** the refused share of new requests is counted in 1/SHED_STEPS */
const SHED_STEPS = 16;
const TICK_MS = 100;
/**
 * Ticks whose smallest queue delay the controller looks at (CoDel's idea): a queue that
 * did not drain once in 500 ms is standing load; a spike (GC, the process descheduled on a
 * busy box) is not, and shedding would not help it.
 */
const WINDOW = 5;
/**
 * The warm-up after start: a fresh process is slow while V8 compiles (about 3x the steady
 * cost per request for the first thousands) and opens its DB connections, so its queues stand
 * for a second or two at rates it handles easily once warm; refusing then turns slow
 * successes into failures (measured: 1000 REGISTERs at 500/s on a cold process, 25% refused,
 * which also fails the yardstick's pre-registration). During it the queue-delay controller
 * does not act, and a refused request's retransmission is processed once the guard is calm.
 */
const WARMUP_MS = 10000;
const LOG_EVERY_MS = 5000;
/** refused keys remembered (for their retransmissions), and for how long: Timer F, 64·T1 */
const REFUSED_MAX = 8192;
const REFUSED_TTL_MS = 32000;
const PROBE = Buffer.from('\r\n');

export class OverloadGuard {
  /** in-flight count from which requests are screened (and in-progress ones tracked) */
  watchFrom: number;
  /** set while anything needs screening: shedding, tracked or refused keys remembered */
  active = false;
  limits: OverloadLimits;
  /** extra headers of the 503, built once per configuration */
  retryAfterHeaders: string[];

  /** share of new requests refused, in 1/16 (set by the queue-delay controller) */
  private shed = 0;
  private shedAcc = 0;
  /** queue delay past twice the limit: invested requests are refused too */
  private severe = false;
  private readonly inProgress = new Set<string>();
  private readonly refused = new Map<string, number>();

  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  /** event-loop delay over the current report interval (statistics only) */
  private readonly lag: IntervalHistogram;
  private probe: dgram.Socket | null = null;
  private probeTarget: ListenSocket | null = null;
  /** ephemeral port the probe comes from (0: no probe) */
  probePort = 0;
  private probeSentAt = 0;
  private queueDelay = 0;
  /** the last WINDOW queue-delay samples (ring) */
  private readonly samples = new Float64Array(WINDOW);
  private sampleAt = 0;
  private lastLog = 0;
  private loggedRefused = 0;
  private loggedAbsorbed = 0;
  private overloaded = false;

  private readonly c: {
    refused: Counter;
    absorbed: Counter;
    queueDelay: Counter;
    queueDelayMax: Counter;
    lagMax: Counter;
    lagP99: Counter;
    shedPct: Counter;
    inflight: Counter;
  };

  constructor(
    stats: Stats,
    private readonly log: Logger,
    private readonly inflight: () => number,
    limits: OverloadLimits = OVERLOAD_DEFAULTS,
    private readonly warmupMs = WARMUP_MS,
  ) {
    this.limits = limits;
    this.watchFrom = Math.floor(limits.maxInflight / 2);
    this.retryAfterHeaders = [`Retry-After: ${limits.retryAfter}`];
    this.c = {
      refused: stats.counter('core', 'overload_refused'),
      absorbed: stats.counter('core', 'overload_absorbed'),
      queueDelay: stats.counter('core', 'rcv_queue_delay_ms'),
      queueDelayMax: stats.counter('core', 'rcv_queue_delay_max_ms'),
      lagMax: stats.counter('core', 'evloop_delay_max_ms'),
      lagP99: stats.counter('core', 'evloop_delay_p99_ms'),
      shedPct: stats.counter('core', 'overload_shed_pct'),
      inflight: stats.counter('core', 'inflight_requests'),
    };
    this.lag = monitorEventLoopDelay({ resolution: 10 });
  }

  configure(limits: OverloadLimits): void {
    this.limits = limits;
    this.watchFrom = Math.floor(limits.maxInflight / 2);
    this.retryAfterHeaders = [`Retry-After: ${limits.retryAfter}`];
    if (limits.maxQueueDelay <= 0) this.setShed(0, false);
  }

  /** start the tick; `probeTarget` is the UDP socket whose receive queue is measured */
  start(probeTarget: ListenSocket | undefined): void {
    if (this.timer !== null) return;
    this.startedAt = Date.now();
    this.lag.enable();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    if (probeTarget?.proto !== 'udp') return;
    const sock = dgram.createSocket(probeTarget.af === 6 ? 'udp6' : 'udp4');
    sock.on('error', (e) => this.log.debug({ err: e.message }, 'overload probe socket error'));
    const ip = probeTarget.ip === '0.0.0.0' ? '127.0.0.1' : probeTarget.ip === '::' ? '::1' : probeTarget.ip;
    sock.bind(0, ip, () => {
      this.probePort = sock.address().port;
      sock.unref();
    });
    this.probe = sock;
    this.probeTarget = { ...probeTarget, ip };
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.lag.disable();
    try {
      this.probe?.close();
    } catch {
      // already closed
    }
    this.probe = null;
    this.probePort = 0;
  }

  /** the probe datagram came back through the receive path */
  probeReturned(now: number): void {
    if (this.probeSentAt === 0) return;
    this.queueDelay = now - this.probeSentAt;
    this.probeSentAt = 0;
  }

  /**
   * Decide for one request (called only when watching). Invested requests — with
   * credentials or a To-tag — get twice the in-flight limit, OPTIONS four times (keepalives
   * that need no DB in the usual scripts must not fail because DB-bound work waits; the DB
   * driver's own bound covers those that do); ACK and CANCEL are never refused (they end
   * work), only dropped past twice the limit.
   */
  screen(msg: SipMessage, inflight: number): Verdict {
    const max = this.limits.maxInflight;
    const method = msg.method;
    if (method === 'ACK' || method === 'CANCEL') return inflight >= max * 2 ? this.absorbed() : ADMIT;
    const key = this.inProgress.size > 0 || this.refused.size > 0 ? requestKey(msg) : null;
    let again = false;
    if (key !== null) {
      if (this.inProgress.has(key)) return this.absorbed();
      const at = this.refused.get(key);
      again = at !== undefined && Date.now() - at < REFUSED_TTL_MS;
    }
    const invested = msg.to().tag !== null || msg.hasHeader('authorization') || msg.hasHeader('proxy-authorization');
    const cap = method === 'OPTIONS' ? max * 4 : invested ? max * 2 : max;
    let refuse = inflight >= cap || (this.severe && invested);
    if (!refuse && !invested && this.shed > 0) {
      this.shedAcc += this.shed;
      if (this.shedAcc >= SHED_STEPS) {
        this.shedAcc -= SHED_STEPS;
        refuse = true;
      }
    }
    if (!again) return refuse ? this.refuse(msg, key) : ADMIT;
    // A retransmission of a refused request: its 503 was final, so the client lost or ignored
    // it (load generators keep retransmitting). Absorbed, not answered again (a send per
    // retransmission) — except during the warm-up once the guard is calm again (nothing
    // shed, in-flight under half the cap): then it is processed, and a cold-start refusal
    // ends in a late success rather than a timeout. After the warm-up never: measured at 2x
    // load, processing them whenever the guard calmed for a moment served 7% of requests
    // after more than 2 s (0.1% without).
    if (refuse || this.shed > 0 || inflight >= this.watchFrom || Date.now() - this.startedAt >= this.warmupMs) return this.absorbed();
    this.refused.delete(key!);
    return ADMIT;
  }

  /**
   * An admitted request went async while watching: remember it until it settles, so its
   * retransmissions are absorbed instead of processed a second time.
   */
  follow<T>(msg: SipMessage, p: Promise<T>): Promise<T> {
    if (msg.method === 'ACK') return p;
    const key = requestKey(msg);
    if (this.inProgress.has(key)) return p;
    this.inProgress.add(key);
    this.active = true;
    const done = (): void => {
      this.inProgress.delete(key);
    };
    return p.then(
      (v) => {
        done();
        return v;
      },
      (e: unknown) => {
        done();
        throw e;
      },
    );
  }

  private absorbed(): Verdict {
    this.c.absorbed.value++;
    return ABSORB;
  }

  private refuse(msg: SipMessage, key: string | null): Verdict {
    this.c.refused.value++;
    if (this.refused.size >= REFUSED_MAX) {
      // oldest first (insertion order): a bound, not an exact TTL
      const oldest = this.refused.keys().next();
      if (oldest.done !== true) this.refused.delete(oldest.value);
    }
    this.refused.set(key ?? requestKey(msg), Date.now());
    this.active = true;
    return REFUSE;
  }

  // ---------------- the tick: signals, controller, stats, one log line per interval ----------------

  private tick(): void {
    const now = Date.now();
    const lagMs = this.lag.max / 1e6;
    this.c.lagMax.value = Math.round(lagMs);
    this.c.lagP99.value = Math.round(this.lag.percentile(99) / 1e6);

    // a probe still out counts with its age: a full socket buffer drops it
    const delay = this.probeSentAt !== 0 ? Math.max(this.queueDelay, now - this.probeSentAt) : this.queueDelay;
    this.c.queueDelay.value = delay;
    this.c.inflight.value = this.inflight();
    if (delay > this.c.queueDelayMax.value) this.c.queueDelayMax.value = delay;
    if (this.probeSentAt === 0 && this.probe !== null && this.probePort !== 0 && this.probeTarget !== null) {
      this.probeSentAt = now;
      try {
        this.probe.send(PROBE, this.probeTarget.port, this.probeTarget.ip);
      } catch {
        this.probeSentAt = 0;
      }
    }

    this.samples[this.sampleAt] = delay;
    this.sampleAt = this.sampleAt + 1 === WINDOW ? 0 : this.sampleAt + 1;
    let standing = delay;
    for (let i = 0; i < WINDOW; i++) if (this.samples[i] < standing) standing = this.samples[i];
    if (now - this.startedAt >= this.warmupMs) this.control(standing);

    if (this.refused.size > 0) {
      for (const [k, at] of this.refused) {
        if (now - at < REFUSED_TTL_MS) break;
        this.refused.delete(k);
      }
    }
    this.active = this.shed > 0 || this.severe || this.inProgress.size > 0 || this.refused.size > 0;
    this.report(now, delay, lagMs);
  }

  /**
   * One controller step (per tick) on the standing queue delay (the smallest of the last
   * WINDOW samples): over the limit the refused share of new requests rises by 1/16 per tick
   * (2/16 past twice the limit, where invested requests are refused too); under half the
   * limit it falls by 1/16, so the proxy settles near its capacity instead of flapping
   * between all and nothing. The event-loop lag is not a signal: measured at 2x the maximum,
   * the receive queue held 2 s of requests while the loop lag p99 stayed at 56 ms.
   */
  control(signalMs: number): void {
    const limit = this.limits.maxQueueDelay;
    if (limit <= 0) return;
    if (signalMs > limit) this.setShed(Math.min(SHED_STEPS, this.shed + (signalMs > 2 * limit ? 2 : 1)), signalMs > 2 * limit);
    else if (signalMs < limit / 2) this.setShed(Math.max(0, this.shed - 1), false);
    else this.setShed(this.shed, false);
    if (this.shed > 0 || this.severe) this.active = true;
  }

  private setShed(shed: number, severe: boolean): void {
    this.shed = shed;
    this.severe = severe;
    this.c.shedPct.value = Math.round((100 * shed) / SHED_STEPS);
  }

  private report(now: number, delay: number, lagMs: number): void {
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lag.reset();
    const refused = this.c.refused.value - this.loggedRefused;
    const absorbed = this.c.absorbed.value - this.loggedAbsorbed;
    this.loggedRefused = this.c.refused.value;
    this.loggedAbsorbed = this.c.absorbed.value;
    this.lastLog = now;
    const info = { refused, absorbed, inflight: this.inflight(), queueDelayMs: delay, loopLagMs: Math.round(lagMs), shedPct: this.c.shedPct.value };
    if (refused > 0 || absorbed > 0) {
      this.overloaded = true;
      this.log.warn(info, 'overload: new requests refused with 503 (counts since the last report)');
    } else if (this.overloaded) {
      this.overloaded = false;
      this.log.info(info, 'overload over: all requests served again');
    }
  }
}

/** a request's transaction identity for retransmission matching: Via branch + method (RFC 3261 §17.2.3) */
function requestKey(msg: SipMessage): string {
  const branch = msg.topVia().branch;
  if (branch !== null && branch.startsWith('z9hG4bK')) return `${branch}|${msg.method}`;
  // RFC 2543 peers: no unique branch, fall back on the dialog and sequence identifiers
  return `${msg.callId()}|${msg.cseq().seq}|${msg.from().tag ?? ''}|${msg.method}`;
}

/** the overload_* core parameters, with defaults */
export function overloadLimits(get: (name: string) => string | number | boolean | null | undefined): OverloadLimits {
  const num = (name: string, def: number): number => {
    const v = get(name);
    return typeof v === 'number' && v >= 0 ? v : def;
  };
  return {
    maxInflight: num('overload_max_inflight', OVERLOAD_DEFAULTS.maxInflight) || Number.MAX_SAFE_INTEGER,
    maxQueueDelay: num('overload_max_queue_delay', OVERLOAD_DEFAULTS.maxQueueDelay),
    retryAfter: num('overload_retry_after', OVERLOAD_DEFAULTS.retryAfter),
  };
}
