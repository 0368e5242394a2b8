// Small async helpers: a per-AOR lock (Kamailio lock_udomain per hash slot) and a bounded
// parallel loop for DB batches.

export class AorLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** runs fn after every earlier fn for the same key has settled */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key);
    const p = prev ? prev.then(fn) : fn();
    const tail = p.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return p;
  }
}

/** fn over items with at most `limit` calls in flight (fn must not throw) */
export async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const item = items[i++]!;
      await fn(item);
    }
  };
  const n = Math.min(limit, items.length);
  const workers: Promise<void>[] = [];
  for (let k = 0; k < n; k++) workers.push(worker());
  await Promise.all(workers);
}
