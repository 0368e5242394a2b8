// Named counters, grouped like Kamailio statistics ("sl:sent_replies"). A counter is
// a slot resolved once (by the module at init), so counting is one property increment.

export interface Counter {
  readonly group: string;
  readonly name: string;
  value: number;
}

export class Stats {
  private readonly counters = new Map<string, Counter>();

  /** get or create a counter; call at init, keep the returned object */
  counter(group: string, name: string): Counter {
    const key = `${group}:${name}`;
    let c = this.counters.get(key);
    if (!c) {
      c = { group, name, value: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  /** "all", "group:" or "group:name" / "name", as stats.get_statistics takes them */
  get(filter = 'all'): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, c] of this.counters) {
      if (
        filter === 'all' ||
        (filter.endsWith(':') && c.group === filter.slice(0, -1)) ||
        key === filter ||
        c.name === filter
      ) {
        out[key] = c.value;
      }
    }
    return out;
  }

  reset(filter = 'all'): void {
    for (const [key, c] of this.counters) {
      if (filter === 'all' || key === filter || c.name === filter || (filter.endsWith(':') && c.group === filter.slice(0, -1)))
        c.value = 0;
    }
  }
}
