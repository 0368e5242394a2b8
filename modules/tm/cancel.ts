// CANCEL (RFC 3261 §9, §16.10): a received CANCEL is answered 200 by its own server
// transaction and cancels every pending branch of the INVITE; CANCELs sent downstream reuse
// the branch's Via (same branch id), Request-URI, Route set, From, To, Call-ID and CSeq number.
// Also the hop-by-hop ACK for a negative INVITE final (§17.1.1.3), built the same way.
import { SipMessage } from '../../src/sip/index.js';
import type { MsgContext } from '../../src/script/context.js';
import type { Branch } from './client-tx.js';
import { Cancel } from './client-tx.js';
import { finishBranch, afterBranchFinal } from './complete.js';
import type { TmEngine } from './engine.js';
import { serverKey } from './matching.js';
import { boundTx } from './routes.js';
import { localReply, retransmitReply } from './server-tx.js';
import { Phase, Timer, type Transaction } from './transaction.js';

/** the INVITE server transaction a CANCEL (or t_check_trans) refers to */
export function findInvite(tm: TmEngine, msg: SipMessage): Transaction | undefined {
  const tx = tm.servers.get(serverKey(msg, 'INVITE', tm.match));
  return tx !== undefined && tx.isInvite && tx.phase !== Phase.FREED ? tx : undefined;
}

/**
 * A CANCEL matching `inv`: its own transaction answers 200 (retransmissions absorbed), then
 * every pending branch of the INVITE is cancelled. Returns the script code (1).
 */
export function handleCancel(tm: TmEngine, ctx: MsgContext, inv: Transaction): number {
  // the CANCEL's own transaction: made by t_newtran() already, or new here
  let own = boundTx(ctx);
  if (own === undefined) {
    const key = serverKey(ctx.msg, 'CANCEL', tm.match);
    const existing = tm.servers.get(key);
    if (existing !== undefined) {
      retransmitReply(tm, existing);
      return 1;
    }
    own = tm.createServer(ctx, key);
  }
  if (own.uasStatus < 200) localReply(tm, own, 200, 'canceling');
  ctx.replied = true;
  if (inv.uasStatus < 200) {
    if (tm.cfg.e2eCancelReason) {
      const reasons = ctx.msg.headersNamed('reason').map((h) => `Reason: ${h.newValue ?? h.value}`);
      if (reasons.length > 0) inv.cancelReason = reasons;
    }
    inv.canceled = true;
    cancelPending(tm, inv, 0);
  }
  return 1;
}

/**
 * Cancel every branch still pending. `dueTo` is the final that made it necessary (2xx or 6xx
 * on another branch, a local final) or 0 for a received CANCEL.
 */
export function cancelPending(tm: TmEngine, tx: Transaction, dueTo: number): void {
  if (!tx.isInvite) return;
  if (dueTo >= 200 && tx.cancelReason === null && tm.cfg.localCancelReason) {
    tx.cancelReason =
      dueTo < 300
        ? ['Reason: SIP;cause=200;text="Call completed elsewhere"']
        : dueTo >= 600
          ? [`Reason: SIP;cause=${dueTo};text="Declined elsewhere"`]
          : null;
  }
  for (const b of tx.branches) if (!b.done) cancelBranch(tm, b);
}

/** cancel one branch according to cancel_b_method when it has not answered yet */
function cancelBranch(tm: TmEngine, b: Branch): void {
  if (b.cancel !== Cancel.NONE || b.done) return;
  if (b.status >= 100 || tm.cfg.cancelBMethod === 2) {
    sendCancel(tm, b);
    return;
  }
  if (tm.cfg.cancelBMethod === 0) {
    // behave as if the branch answered 487 right now
    b.cancel = Cancel.DONE;
    finishBranch(tm, b, 487, 'Request Terminated', null);
    void tm.serialize(b.tx, () => afterBranchFinal(tm, b.tx));
    return;
  }
  // method 1: keep retransmitting; the first provisional triggers the CANCEL
  b.cancel = Cancel.PENDING;
}

/** send CANCEL on a branch (stops INVITE retransmissions, starts the CANCEL's own) */
export function sendCancel(tm: TmEngine, b: Branch): void {
  if (b.cancel === Cancel.SENT || b.cancel === Cancel.DONE) return;
  b.cancel = Cancel.SENT;
  try {
    b.cancelBuf = hopRequest(b, 'CANCEL', null, b.tx.cancelReason);
  } catch (e) {
    tm.log.warn({ err: (e as Error).message }, 'tm: cannot build CANCEL');
    b.cancel = Cancel.DONE;
    return;
  }
  b.cancelSentAt = tm.wheel.now();
  void tm.core.send(b.dest, b.cancelBuf, b.sock);
  if (b.reliable) tm.wheel.disarm(b.retr);
  else {
    b.retrInterval = tm.cfg.t1;
    tm.wheel.arm(b.retr, b.retrInterval, Timer.CANCEL_RETR);
  }
}

/** ACK a negative final on this branch (and again for each retransmission of it) */
export function sendAck(tm: TmEngine, b: Branch, reply: SipMessage): void {
  if (b.ackBuf === null) {
    try {
      const to = reply.header('to');
      b.ackBuf = hopRequest(b, 'ACK', to ? (to.newValue ?? to.value) : null, null);
    } catch (e) {
      tm.log.warn({ err: (e as Error).message }, 'tm: cannot build ACK');
      return;
    }
  }
  void tm.core.send(b.dest, b.ackBuf, b.sock);
}

/** CANCEL or ACK for the request sent on this branch, from the bytes actually sent */
function hopRequest(b: Branch, method: 'CANCEL' | 'ACK', to: string | null, extra: string[] | null): Buffer {
  const sent = SipMessage.parse(b.reqBuf);
  let out = `${method} ${sent.ruri} SIP/2.0\r\nVia: ${sent.header('via')!.value}\r\n`;
  for (const h of sent.headersNamed('route')) out += `Route: ${h.value}\r\n`;
  out += `From: ${sent.header('from')!.value}\r\n`;
  out += `To: ${to ?? sent.header('to')!.value}\r\n`;
  out += `Call-ID: ${sent.callId()}\r\n`;
  out += `CSeq: ${sent.cseq().seq} ${method}\r\n`;
  out += 'Max-Forwards: 70\r\n';
  if (extra !== null) for (const l of extra) out += `${l}\r\n`;
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}
