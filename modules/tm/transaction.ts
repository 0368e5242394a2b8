// A transaction "cell" (Kamailio struct cell): the server side (RFC 3261 §17.2: request as
// received, last reply sent, ACK/retransmission state) and the client branches it forked
// (§16.6, one client transaction each, see client-tx.ts). Plain data plus its timer nodes;
// the behaviour lives in server-tx.ts, client-tx.ts, reply-in.ts and relay.ts.
import type { PvValue } from '../../src/core/module-api.js';
import type { Script } from '../../src/script/script.js';
import type { SipMessage } from '../../src/sip/index.js';
import type { Destination, ReceiveInfo } from '../../src/transport/types.js';
import type { Branch } from './client-tx.js';
import { TimerNode, type TimerTarget } from './timers.js';

/** timer kinds, shared by transactions and branches */
export const Timer = {
  /** A/E: request retransmission on a branch */
  RETR: 1,
  /** B/F (fr_timer, fr_inv_timer): no final reply on a branch */
  FR: 2,
  /** CANCEL retransmission on a branch */
  CANCEL_RETR: 3,
  /** G: final reply retransmission (INVITE, UDP) */
  REPLY_RETR: 4,
  /** H: waiting for the ACK of a negative INVITE reply */
  ACK_WAIT: 5,
  /** wt_timer: absorb late retransmissions, then free */
  WAIT: 6,
  /** max_inv_lifetime / max_noninv_lifetime */
  LIFETIME: 7,
} as const;

export const Phase = {
  ACTIVE: 0,
  /** on the wait timer; still matched, never forwarded again */
  WAIT: 1,
  FREED: 2,
} as const;

/** outcome of a locally originated request (tm API sendRequest) */
export interface UacResult {
  code: number;
  reason: string;
  /** the final reply, null when generated locally (408 timeout, 478 DNS failure) */
  reply: SipMessage | null;
}

/** what the transaction engine offers the timer callbacks (avoids an import cycle) */
export interface TimerSink {
  txTimer(tx: Transaction, kind: number): void;
  branchTimer(b: Branch, kind: number): void;
}

let nextId = 1;

export class Transaction implements TimerTarget {
  readonly id = nextId++;
  /** key in the server-transaction map; null for local (UAC) transactions */
  key: string | null = null;
  readonly method: string;
  readonly isInvite: boolean;
  phase: number = Phase.ACTIVE;

  // ---- server side ----
  /** where replies go (RFC 3261 §18.2.2), null for local transactions */
  replyDest: Destination | null = null;
  /** highest status sent upstream: 0 none, 1xx provisional, >=200 final */
  uasStatus = 0;
  /** last reply sent upstream, re-sent on request retransmissions */
  uasReply: Buffer | null = null;
  /** To-tag of the final reply sent (RFC 2543 ACK matching) */
  uasToTag: string | null = null;
  /** our To-tag for local replies, made on first use */
  localTag: string | null = null;
  /** current Timer G interval */
  replyRetr = 0;

  // ---- client side ----
  readonly branches: Branch[] = [];
  /** branches still waiting for a final reply */
  pending = 0;
  canceled = false;
  /** Reason header lines received with the CANCEL (RFC 3326), passed downstream */
  cancelReason: string[] | null = null;

  // ---- script state carried into failure/onreply/branch routes ----
  onFailure: string | null = null;
  onReply: string | null = null;
  onBranch: string | null = null;
  flags = 0;
  avps: Map<string, PvValue[]> | null = null;
  /** R-URI and $du at t_relay time (restored in failure_route) */
  ruri: string | null = null;
  dstUri: string | null = null;
  /** per-transaction timers in ms (t_set_fr); 0 = module default */
  frTimeout = 0;
  frInvTimeout = 0;
  inFailureRoute = false;
  /** serializes reply/timer processing that runs async script routes */
  busy: Promise<void> | null = null;

  /** local transaction: called once with the final outcome */
  local: ((r: UacResult) => void) | null = null;

  /** G, then the wait timer */
  readonly timer: TimerNode;
  /** lifetime, then H */
  readonly timer2: TimerNode;

  constructor(
    readonly sink: TimerSink,
    /** the request as received (or built, for local transactions) */
    readonly req: SipMessage,
    readonly rcv: ReceiveInfo | null,
    /** the script the transaction started with: a reload does not change its routes */
    readonly script: Script,
  ) {
    this.method = req.method;
    this.isInvite = this.method === 'INVITE';
    this.timer = new TimerNode(this);
    this.timer2 = new TimerNode(this);
  }

  onTimer(kind: number): void {
    this.sink.txTimer(this, kind);
  }
}
