// Client transactions (RFC 3261 §17.1), one per outgoing branch: the request as sent (for
// retransmission and for building CANCEL/ACK), retransmission timers A/E, fr timers B/F,
// the final reply kept for best-response selection, and CANCEL state.
import type { SipMessage } from '../../src/sip/index.js';
import type { Destination, ListenSocket } from '../../src/transport/types.js';
import { TimerNode, type TimerTarget } from './timers.js';
import type { Transaction } from './transaction.js';

export const Cancel = {
  NONE: 0,
  /** cancel_b_method 1: send CANCEL when the first provisional arrives */
  PENDING: 1,
  SENT: 2,
  /** CANCEL answered (or given up) */
  DONE: 3,
} as const;

export interface BranchTarget {
  uri: string;
  dstUri: string | null;
  path: string | null;
  bflags: number;
}

export class Branch implements TimerTarget {
  /** last status received, provisional included (0: nothing yet) */
  status = 0;
  /** final status (received or local), 0 while pending */
  code = 0;
  reason = '';
  /** final reply as received; null while pending or when generated locally */
  reply: SipMessage | null = null;
  done = false;
  /** the request could not be sent: not a candidate for the best reply */
  failed = false;
  /** dropped by serial forking (failure_reply_mode): not a candidate any more */
  dropped = false;
  /** ended by the fr timer (t_branch_timeout) */
  timedOut = false;
  /** got any reply, provisional included (t_branch_replied) */
  replied = false;
  cancel: number = Cancel.NONE;
  cancelBuf: Buffer | null = null;
  cancelSentAt = 0;
  /** ACK for a negative final, kept to answer its retransmissions */
  ackBuf: Buffer | null = null;
  /** current retransmission interval (A/E or CANCEL) */
  retrInterval = 0;
  /** onreply_route armed for this branch */
  onReply: string | null = null;
  readonly retr: TimerNode;
  readonly fr: TimerNode;

  constructor(
    readonly tx: Transaction,
    readonly idx: number,
    /** our Via branch parameter (unique, key in the client map) */
    readonly id: string,
    readonly target: BranchTarget,
    readonly dest: Destination,
    readonly sock: ListenSocket,
    /** the request exactly as sent */
    readonly reqBuf: Buffer,
  ) {
    this.retr = new TimerNode(this);
    this.fr = new TimerNode(this);
  }

  get reliable(): boolean {
    return this.dest.proto !== 'udp';
  }

  onTimer(kind: number): void {
    this.tx.sink.branchTimer(this, kind);
  }
}
