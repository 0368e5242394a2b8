// The tm engine: transaction tables (server transactions by matching key, client branches
// by our Via branch), the timer wheel, counters, and transaction lifecycle (create, put on
// wait, free). Everything else in the module works on an engine instance.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CoreApi } from '../../src/core/core-api.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { Counter } from '../../src/core/stats.js';
import type { MsgContext } from '../../src/script/context.js';
import type { SipMessage } from '../../src/sip/index.js';
import type { Branch } from './client-tx.js';
import { branchTimer } from './client-tx-timers.js';
import type { TmConfig } from './params.js';
import { txTimer } from './server-tx.js';
import { TimerWheel, type Clock } from './timers.js';
import { Phase, Timer, Transaction, type TimerSink } from './transaction.js';
import { inviteDialogKey, type MatchOpts } from './matching.js';

export interface TmCounters {
  uas: Counter;
  uac: Counter;
  inuse: Counter;
  waiting: Counter;
  created: Counter;
  freed: Counter;
  byClass: Counter[]; // index 2..6
  received: Counter;
  relayed: Counter;
  local: Counter;
  sent: Counter;
  refused: Counter;
}

export class TmEngine implements TimerSink {
  /** server transactions by matching key */
  readonly servers = new Map<string, Transaction>();
  /** INVITE server transactions by dialog key, for end-to-end ACK matching */
  readonly invites = new Map<string, Transaction>();
  /** client branches by our Via branch */
  readonly clients = new Map<string, Branch>();
  readonly wheel: TimerWheel;
  readonly c: TmCounters;
  /** Via branch prefix: magic cookie + per-process random part, so our branches are recognisable */
  readonly branchPrefix: string;
  private branchSeq = 0;
  private readonly tagPrefix: string;
  private tagSeq = 0;
  /** transactions not yet freed (server and local) */
  live = 0;
  /** refusals already logged (one log line per interval, never per message) */
  private refusedLogged = 0;
  private refusedLogAt = 0;
  match: MatchOpts;

  constructor(
    readonly core: CoreApi,
    readonly log: Logger,
    public cfg: TmConfig,
    readonly dialect: Dialect,
    clock?: Clock,
  ) {
    this.wheel = new TimerWheel(cfg.t1 < 200 ? 10 : 50, 1024, clock);
    const rnd = randomBytes(6).toString('hex');
    this.branchPrefix = `z9hG4bK${rnd.slice(0, 6)}`;
    this.tagPrefix = `${rnd.slice(6)}-`;
    this.match = { ruri: cfg.rfc2543RuriMatching, via: cfg.rfc2543ViaMatching };
    const s = core.stats;
    this.c = {
      uas: s.counter('tm', 'UAS_transactions'),
      uac: s.counter('tm', 'UAC_transactions'),
      inuse: s.counter('tm', 'inuse_transactions'),
      waiting: s.counter('tm', 'waiting_transactions'),
      created: s.counter('tm', 'created_transactions'),
      freed: s.counter('tm', 'freed_transactions'),
      // index = reply class; 0/1 unused (only finals are counted)
      byClass: [0, 1, 2, 3, 4, 5, 6].map((k) => (k < 2 ? { group: 'tm', name: '', value: 0 } : s.counter('tm', `${k}xx_transactions`))),
      received: s.counter('tm', 'received_replies'),
      relayed: s.counter('tm', 'relayed_replies'),
      local: s.counter('tm', 'local_replies'),
      sent: s.counter('tm', 'rpl_sent'),
      refused: s.counter('tm', 'refused_transactions'),
    };
  }

  setConfig(cfg: TmConfig): void {
    this.cfg = cfg;
    this.match = { ruri: cfg.rfc2543RuriMatching, via: cfg.rfc2543ViaMatching };
  }

  start(): void {
    this.wheel.start();
  }

  stop(): void {
    this.wheel.stop();
  }

  // ---- identifiers ----

  /** a unique Via branch for one outgoing branch (RFC 3261 §8.1.1.7) */
  newBranchId(): string {
    return this.branchPrefix + (++this.branchSeq).toString(36);
  }

  /** our To-tag for local replies of this transaction (not sl's, so sl's ACK filter leaves the ACK to us) */
  localTag(tx: Transaction): string {
    return (tx.localTag ??= this.tagPrefix + (++this.tagSeq).toString(36) + tx.id.toString(36));
  }

  /** the Server header for local replies, as the core writes it */
  serverHeader(): string | undefined {
    if (this.core.globalParam('server_signature') === false) return undefined;
    const custom = this.core.globalParam('server_header');
    if (typeof custom === 'string') return custom.replace(/^Server:\s*/i, '');
    return 'tser';
  }

  // ---- lifecycle ----

  /**
   * The transaction cap (max_transactions): true when no new server transaction may be made
   * now; the caller fails with 503 so sl_reply_error() answers it. Counted, and logged at
   * most once per 5 s.
   */
  full(ctx: MsgContext): boolean {
    if (this.live < this.cfg.maxTransactions) return false;
    this.c.refused.value++;
    ctx.setError(503, 'Service Unavailable');
    const now = Date.now();
    if (now - this.refusedLogAt >= 5000) {
      this.log.warn({ live: this.live, max: this.cfg.maxTransactions, refused: this.c.refused.value - this.refusedLogged }, 'tm: transaction cap reached, new transactions refused');
      this.refusedLogAt = now;
      this.refusedLogged = this.c.refused.value;
    }
    return true;
  }

  /** a new server transaction for the request in ctx, registered under `key` */
  createServer(ctx: MsgContext, key: string): Transaction {
    const tx = new Transaction(this, ctx.msg, ctx.rcv, ctx.script);
    tx.key = key;
    tx.replyDest = this.core.replyDestination(ctx.msg, ctx.rcv);
    this.servers.set(key, tx);
    if (tx.isInvite) this.invites.set(inviteDialogKey(ctx.msg), tx);
    this.live++;
    this.c.inuse.value++;
    this.c.uas.value++;
    this.c.created.value++;
    ctx.setExt('tm.tx', tx);
    return tx;
  }

  /** a local (UAC) transaction for a request we originate */
  createLocal(req: SipMessage): Transaction {
    const tx = new Transaction(this, req, null, this.core.script());
    this.live++;
    this.c.inuse.value++;
    this.c.uac.value++;
    this.c.created.value++;
    return tx;
  }

  /** stop every timer and keep the transaction only to absorb late retransmissions */
  putOnWait(tx: Transaction): void {
    if (tx.phase !== Phase.ACTIVE) return;
    tx.phase = Phase.WAIT;
    this.c.waiting.value++;
    for (const b of tx.branches) {
      this.wheel.disarm(b.retr);
      this.wheel.disarm(b.fr);
      // replies are no longer needed for selection; keep memory small while waiting
      b.reply = null;
    }
    this.wheel.disarm(tx.timer2);
    this.wheel.arm(tx.timer, this.cfg.wtTimer, Timer.WAIT);
  }

  free(tx: Transaction): void {
    if (tx.phase === Phase.FREED) return;
    if (tx.phase === Phase.WAIT) this.c.waiting.value--;
    tx.phase = Phase.FREED;
    this.wheel.disarm(tx.timer);
    this.wheel.disarm(tx.timer2);
    if (tx.key !== null && this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
    if (tx.isInvite && tx.rcv !== null) {
      const dk = inviteDialogKey(tx.req);
      if (this.invites.get(dk) === tx) this.invites.delete(dk);
    }
    for (const b of tx.branches) {
      this.wheel.disarm(b.retr);
      this.wheel.disarm(b.fr);
      if (this.clients.get(b.id) === b) this.clients.delete(b.id);
    }
    this.live--;
    this.c.inuse.value--;
    this.c.freed.value++;
  }

  // ---- timer dispatch ----

  txTimer(tx: Transaction, kind: number): void {
    txTimer(this, tx, kind);
  }

  branchTimer(b: Branch, kind: number): void {
    branchTimer(this, b, kind);
  }

  // ---- helpers ----

  /**
   * Run `job` after any async processing still running for this transaction (Kamailio's reply
   * lock): replies and timeouts of one transaction are handled in arrival order.
   */
  serialize(tx: Transaction, job: () => void | Promise<void>): void | Promise<void> {
    const prev = tx.busy;
    if (prev === null) {
      let r: void | Promise<void>;
      try {
        r = job();
      } catch (e) {
        this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'tm: transaction processing failed');
        return;
      }
      if (r === undefined) return;
      return this.track(tx, r);
    }
    return this.track(tx, prev.then(job));
  }

  /** remember async processing of tx so later events wait for it */
  track(tx: Transaction, p: Promise<void>): Promise<void> {
    const q: Promise<void> = p.catch((e: unknown) => {
      this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'tm: transaction processing failed');
    });
    tx.busy = q;
    void q.then(() => {
      if (tx.busy === q) tx.busy = null;
    });
    return q;
  }

  /** Kamailio tm.stats */
  stats(): Record<string, number> {
    const c = this.c;
    return {
      current: this.live,
      waiting: c.waiting.value,
      total: c.uas.value + c.uac.value,
      total_local: c.uac.value,
      rpl_received: c.received.value,
      rpl_generated: c.local.value,
      rpl_sent: c.sent.value,
      '6xx': c.byClass[6].value,
      '5xx': c.byClass[5].value,
      '4xx': c.byClass[4].value,
      '3xx': c.byClass[3].value,
      '2xx': c.byClass[2].value,
      created: c.created.value,
      freed: c.freed.value,
    };
  }
}
