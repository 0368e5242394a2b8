// A per-AOR lock (Kamailio lock_udomain): operations on one AOR run one after another.

export class AorLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** runs fn after every earlier fn for the same key has settled */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    const p = prev ? prev.then(fn) : fn();
    // the key is forgotten when the last fn queued on it settles
    const tail: Promise<void> = p.then(
      () => this.release(key, tail),
      () => this.release(key, tail),
    );
    this.tails.set(key, tail);
    return p;
  }

  private release(key: string, tail: Promise<void>): void {
    if (this.tails.get(key) === tail) this.tails.delete(key);
  }
}

