// One timer structure for every tm timer (retransmissions A/E/G, fr B/F/H, wait, lifetime):
// a hashed timer wheel with intrusive list nodes, driven by one unref'd interval. Arming,
// re-arming and disarming are O(1) and allocate nothing; each transaction/branch owns its nodes.

/** what a node calls when it expires */
export interface TimerTarget {
  onTimer(kind: number): void;
}

export class TimerNode {
  next: TimerNode | null = null;
  prev: TimerNode | null = null;
  /** absolute expiry (ms, wheel clock) */
  at = 0;
  /** slot index while armed, -1 otherwise */
  slot = -1;
  /** what the owner uses this expiry for (Timer.*), set when armed */
  kind = 0;
  constructor(readonly target: TimerTarget) {}

  get armed(): boolean {
    return this.slot >= 0;
  }
}

export type Clock = () => number;

export class TimerWheel {
  private readonly slots: (TimerNode | null)[];
  private readonly mask: number;
  /** last tick processed */
  private tick: number;
  private interval: NodeJS.Timeout | null = null;
  /** armed nodes (for stats and tests) */
  count = 0;

  constructor(
    readonly tickMs = 50,
    size = 512,
    readonly now: Clock = () => performance.now(),
  ) {
    // size must be a power of two for the mask
    let n = 1;
    while (n < size) n <<= 1;
    this.slots = new Array<TimerNode | null>(n).fill(null);
    this.mask = n - 1;
    this.tick = Math.floor(this.now() / tickMs);
  }

  start(): void {
    if (this.interval) return;
    this.interval = setInterval(() => this.run(this.now()), this.tickMs);
    this.interval.unref();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
  }

  /** (re)arm `node` to fire after delayMs with this kind */
  arm(node: TimerNode, delayMs: number, kind: number): void {
    if (node.slot >= 0) this.unlink(node);
    const at = this.now() + Math.max(0, delayMs);
    node.at = at;
    node.kind = kind;
    // never into a tick already processed: it would wait a whole rotation
    let t = Math.ceil(at / this.tickMs);
    if (t <= this.tick) t = this.tick + 1;
    const slot = t & this.mask;
    node.slot = slot;
    node.prev = null;
    const head = this.slots[slot]!;
    node.next = head;
    if (head) head.prev = node;
    this.slots[slot] = node;
    this.count++;
  }

  disarm(node: TimerNode): void {
    if (node.slot >= 0) this.unlink(node);
  }

  private unlink(node: TimerNode): void {
    if (node.prev) node.prev.next = node.next;
    else this.slots[node.slot] = node.next;
    if (node.next) node.next.prev = node.prev;
    node.next = null;
    node.prev = null;
    node.slot = -1;
    this.count--;
  }

  /** fire everything due at `nowMs`; called by the interval (and by tests with a fake clock) */
  run(nowMs: number): void {
    const target = Math.floor(nowMs / this.tickMs);
    if (target <= this.tick) return;
    // after a long stall walk each slot once instead of every missed tick
    const from = target - this.tick > this.slots.length ? target - this.slots.length + 1 : this.tick + 1;
    this.tick = target;
    for (let t = from; t <= target; t++) this.runSlot(t & this.mask, nowMs);
  }

  private runSlot(slot: number, nowMs: number): void {
    let node: TimerNode | null = this.slots[slot];
    while (node) {
      const next: TimerNode | null = node.next;
      if (node.at <= nowMs) {
        this.unlink(node);
        try {
          node.target.onTimer(node.kind);
        } catch {
          // a failing handler must not stop the wheel; owners log their own errors
        }
        // the handler may have unlinked `next`: restart the walk (fired nodes are gone)
        if (next && next.slot !== slot) {
          node = this.slots[slot]!;
          continue;
        }
      }
      node = next;
    }
  }
}
