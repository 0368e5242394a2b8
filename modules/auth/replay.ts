// Replay protection for stateless nonces (Kamailio nonce_count / one_time_nonce): remembers,
// per nonce id and until the nonce expires, the highest nc accepted or that it was used.
// Bounded: when full of live entries, new nonces are refused (the client is re-challenged)
// rather than forgetting entries and letting replays through.

interface Entry {
  expires: number;
  /** highest nc accepted; -1 for "used once" */
  nc: number;
}

export class ReplayTracker {
  private readonly seen = new Map<string, Entry>();
  private inserts = 0;

  constructor(private readonly maxEntries = 1 << 20) {}

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [k, e] of this.seen) if (e.expires < now) this.seen.delete(k);
  }

  private room(now: number): boolean {
    if (++this.inserts % 4096 === 0 || this.seen.size >= this.maxEntries) this.prune(now);
    return this.seen.size < this.maxEntries;
  }

  /** one_time_nonce: true the first time a nonce id is presented */
  useOnce(id: string, expires: number, now: number): boolean {
    if (this.seen.has(id)) return false;
    if (!this.room(now)) return false;
    this.seen.set(id, { expires, nc: -1 });
    return true;
  }

  /** nonce_count: true when nc is higher than every nc accepted before for this nonce */
  acceptNc(id: string, nc: number, expires: number, now: number): boolean {
    const e = this.seen.get(id);
    if (e) {
      if (nc <= e.nc) return false;
      e.nc = nc;
      return true;
    }
    if (!this.room(now)) return false;
    this.seen.set(id, { expires, nc });
    return true;
  }
}
