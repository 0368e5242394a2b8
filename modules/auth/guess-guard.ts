// Password-guessing throttle (issue 18): failed digest checks are counted per source address
// and, separately, per user (user@realm) over a window; past `delayAfter` failures each
// further failure is answered later and later, past the block threshold the key is blocked
// for `blockTimeS` (doubled for a key blocked again, up to 8x) and its requests are refused
// before any secret lookup (no DB query). A block is logged once, listed by RPC auth.blocked.
// The per-user threshold is higher than the per-source one and one source's failures count
// for a user only until that source is blocked, so one address guessing gets itself blocked
// long before the user is locked out for everyone. A source past `delayAfter` failures gets
// one check at a time (others refused meanwhile): pipelined guesses cannot outrun the delay.
import type { Logger } from 'pino';

export interface GuessLimits {
  /** failures older than this are forgotten, s */
  windowS: number;
  /** failures of a key before replies to its failures are delayed */
  delayAfter: number;
  delayStepMs: number;
  delayMaxMs: number;
  /** failures of one source before it is blocked (0: never) */
  sourceBlockAfter: number;
  /** failures for one user, from all sources, before the user is blocked (0: never) */
  userBlockAfter: number;
  blockTimeS: number;
}

interface Rec {
  fails: number;
  /** start of the current window, unix s */
  since: number;
  /** blocked until (unix s); 0 = not blocked */
  until: number;
  /** blocks so far (the next one lasts longer) */
  blocks: number;
  /** checks of this source admitted and not finished */
  pending: number;
}

export interface BlockedEntry {
  kind: 'source' | 'user';
  key: string;
  /** seconds left */
  expires: number;
  blocks: number;
}

/** keys tracked per map; past it the oldest go (bounded memory under spoofed sources) */
const MAX_KEYS = 100_000;

export class GuessGuard {
  private readonly sources = new Map<string, Rec>();
  private readonly users = new Map<string, Rec>();

  constructor(
    readonly limits: GuessLimits,
    private readonly log: Logger,
  ) {}

  /** hot path: true when nothing is tracked (no lookup needed) */
  get idle(): boolean {
    return this.sources.size === 0 && this.users.size === 0;
  }

  /**
   * Admission of a check: 'source'/'user' blocked, 'busy' (a suspicious source already has a
   * check out), 'held' (admitted, call release(ip) when done) or null (admitted, untracked).
   */
  admit(ip: string, user: string, now: number): 'source' | 'user' | 'busy' | 'held' | null {
    const s = this.sources.get(ip);
    if (s !== undefined && s.until > now) return 'source';
    const u = this.users.get(user);
    if (u !== undefined && u.until > now) return 'user';
    if (s === undefined) return null;
    if (s.pending > 0 && s.fails >= this.limits.delayAfter) return 'busy';
    s.pending++;
    return 'held';
  }

  release(ip: string): void {
    const s = this.sources.get(ip);
    if (s !== undefined && s.pending > 0) s.pending--;
  }

  /** count a failed check; the delay (ms) to answer it with */
  failed(ip: string, user: string | null, now: number): number {
    const l = this.limits;
    const s = this.count(this.sources, ip, now, l.sourceBlockAfter, 'source');
    // a blocked source's late answers do not count against the user
    const u = user === null || s < 0 ? 0 : this.count(this.users, user, now, l.userBlockAfter, 'user');
    if (s < 0) return 0;
    const over = Math.max(s, u) - l.delayAfter;
    return over > 0 ? Math.min(l.delayMaxMs, over * l.delayStepMs) : 0;
  }

  private count(map: Map<string, Rec>, key: string, now: number, blockAfter: number, kind: 'source' | 'user'): number {
    let r = map.get(key);
    if (r === undefined) {
      if (map.size >= MAX_KEYS) this.prune(map, now);
      r = { fails: 0, since: now, until: 0, blocks: 0, pending: 0 };
      map.set(key, r);
    } else if (r.until > now) {
      return -1; // answers still coming for requests admitted before the block
    } else if (now - r.since > this.limits.windowS) {
      r.fails = 0;
      r.since = now;
    }
    r.fails++;
    if (blockAfter > 0 && r.fails >= blockAfter) {
      const secs = this.limits.blockTimeS * 2 ** Math.min(r.blocks, 3);
      r.until = now + secs;
      r.blocks++;
      this.log.warn({ [kind]: key, failures: r.fails, seconds: secs, blocks: r.blocks }, `auth: ${kind} blocked after failed authentications`);
      r.fails = 0;
      r.since = now;
    }
    return r.fails;
  }

  private prune(map: Map<string, Rec>, now: number): void {
    for (const [k, r] of map) {
      if (r.until <= now && now - r.since > this.limits.windowS) map.delete(k);
    }
    // all live: forget the oldest (a spoofed flood must not grow memory)
    for (const k of map.keys()) {
      if (map.size < MAX_KEYS) break;
      map.delete(k);
    }
  }

  list(now: number): BlockedEntry[] {
    const out: BlockedEntry[] = [];
    for (const [kind, map] of [
      ['source', this.sources],
      ['user', this.users],
    ] as const) {
      for (const [key, r] of map) if (r.until > now) out.push({ kind, key, expires: r.until - now, blocks: r.blocks });
    }
    return out;
  }

  /** lift the block (and forget the failures) of an address or user; no key: all. The number lifted */
  unblock(key: string | null, now: number): number {
    let n = 0;
    for (const map of [this.sources, this.users]) {
      for (const [k, r] of map) {
        if (key !== null && k !== key) continue;
        if (r.until > now) n++;
        map.delete(k);
      }
    }
    if (n > 0) this.log.info({ key: key ?? '*', unblocked: n }, 'auth: unblocked by RPC');
    return n;
  }
}
