// Replies from downstream (RFC 3261 §16.7): matched to a branch by our Via branch, run
// through the branch's onreply_route, then: provisionals stop INVITE retransmission, switch to
// fr_inv_timer and go upstream; every 2xx goes upstream at once and cancels the other INVITE
// branches; negative finals are ACKed hop-by-hop and wait for the best-response decision.
import type { SipMessage } from '../../src/sip/index.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import type { Branch } from './client-tx.js';
import { Cancel } from './client-tx.js';
import { cancelPending, sendAck, sendCancel } from './cancel.js';
import { afterBranchFinal, deliverLocal, finishBranch, toTagOf } from './complete.js';
import type { TmEngine } from './engine.js';
import { runOnReply } from './routes.js';
import { maybeFinish, sendUpstream } from './server-tx.js';
import { Phase, Timer } from './transaction.js';

export function handleReply(tm: TmEngine, b: Branch, msg: SipMessage, rcv: ReceiveInfo): void | Promise<void> {
  const tx = b.tx;
  if (tx.phase === Phase.FREED) return;
  tm.c.received.value++;
  if (msg.method === 'CANCEL' && tx.method !== 'CANCEL') {
    // the answer to our CANCEL: stop retransmitting it (never relayed, we answered upstream)
    if (b.cancel === Cancel.SENT && msg.status >= 200) {
      b.cancel = Cancel.DONE;
      if (b.retr.kind === Timer.CANCEL_RETR) tm.wheel.disarm(b.retr);
    }
    return;
  }
  if (msg.method !== tx.method) {
    tm.log.debug({ method: msg.method }, 'tm: reply with a foreign CSeq method dropped');
    return;
  }
  if (b.done) {
    lateReply(tm, b, msg);
    return;
  }
  b.replied = true;
  const route = b.onReply;
  if (route !== null) {
    const r = runOnReply(tm, b, msg, rcv, route);
    if (typeof r === 'boolean') return afterOnReply(tm, b, msg, r);
    return r.then((dropped) => afterOnReply(tm, b, msg, dropped));
  }
  return afterOnReply(tm, b, msg, false);
}

function afterOnReply(tm: TmEngine, b: Branch, msg: SipMessage, dropped: boolean): void | Promise<void> {
  if (b.done || b.tx.phase === Phase.FREED) return;
  if (msg.status < 200) provisional(tm, b, msg, dropped);
  else return final(tm, b, msg);
}

function provisional(tm: TmEngine, b: Branch, msg: SipMessage, dropped: boolean): void {
  const tx = b.tx;
  const code = msg.status;
  const first = b.status < 100;
  if (code > b.status) b.status = code;
  if (tx.isInvite) {
    if (b.retr.kind === Timer.RETR) tm.wheel.disarm(b.retr);
    if (first || tm.cfg.restartFrOnEachReply) tm.wheel.arm(b.fr, tx.frInvTimeout || tm.cfg.frInvTimer, Timer.FR);
    if (b.cancel === Cancel.PENDING) sendCancel(tm, b);
  }
  // non-INVITE: Timer E goes on at T2 (applied at its next expiry, client-tx-timers.ts)
  if (dropped || code === 100 || tx.uasStatus >= 200 || tx.local !== null || tx.phase !== Phase.ACTIVE) return;
  relayUp(tm, b, msg, code, null);
}

function final(tm: TmEngine, b: Branch, msg: SipMessage): void | Promise<void> {
  const tx = b.tx;
  const code = msg.status;
  b.status = code;
  if (tx.isInvite && code >= 300) sendAck(tm, b, msg);
  finishBranch(tm, b, code, msg.reason, msg);
  if (code < 300) {
    if (tx.local !== null) deliverLocal(tm, tx, code, msg.reason, msg);
    else if (tx.isInvite || tx.uasStatus < 200) relayUp(tm, b, msg, code, toTagOf(msg));
    if (tx.pending > 0) cancelPending(tm, tx, code);
    maybeFinish(tm, tx);
    return;
  }
  if (code >= 600 && tx.pending > 0) cancelPending(tm, tx, code);
  return afterBranchFinal(tm, tx);
}

/** a reply on a finished branch: 2xx still go upstream (INVITE), negative finals get their ACK again */
function lateReply(tm: TmEngine, b: Branch, msg: SipMessage): void {
  const tx = b.tx;
  const code = msg.status;
  if (code >= 200 && code < 300 && tx.isInvite) {
    if (tx.local === null) relayUp(tm, b, msg, code, toTagOf(msg));
    return;
  }
  if (code >= 300 && tx.isInvite) sendAck(tm, b, msg);
}

function relayUp(tm: TmEngine, b: Branch, msg: SipMessage, code: number, toTag: string | null): void {
  let buf: Buffer;
  try {
    buf = msg.serializeReply({ removeTopVia: true });
  } catch (e) {
    tm.log.warn({ err: (e as Error).message, branch: b.id }, 'tm: reply cannot be forwarded, dropped');
    return;
  }
  sendUpstream(tm, b.tx, buf, code, toTag, false);
}
