// Ending branches and the transaction's answer: a branch gets its final (received or local),
// and once no branch is pending the best one runs failure_route (which may fork again or
// reply itself) and is then sent upstream, or handed to the local requester.
import type { SipMessage } from '../../src/sip/index.js';
import type { Branch } from './client-tx.js';
import type { TmEngine } from './engine.js';
import { mergeChallenges, pickBranch } from './reply-select.js';
import { runFailureRoute } from './routes.js';
import { localReply, maybeFinish, sendUpstream } from './server-tx.js';
import { Phase, Timer, type Transaction } from './transaction.js';

/** the branch has its final reply: stop its timers (a CANCEL in flight keeps retransmitting) */
export function finishBranch(tm: TmEngine, b: Branch, code: number, reason: string, reply: SipMessage | null): void {
  if (b.done) return;
  b.done = true;
  b.code = code;
  b.reason = reason;
  b.reply = reply;
  b.tx.pending--;
  if (b.retr.kind !== Timer.CANCEL_RETR) tm.wheel.disarm(b.retr);
  tm.wheel.disarm(b.fr);
}

/** a local transaction's outcome: the first final only */
export function deliverLocal(tm: TmEngine, tx: Transaction, code: number, reason: string, reply: SipMessage | null): void {
  if (tx.uasStatus >= 200) return;
  tx.uasStatus = code;
  const cb = tx.local;
  if (cb !== null) {
    try {
      cb({ code, reason, reply });
    } catch (e) {
      tm.log.error({ err: (e as Error).message }, 'tm: local transaction callback failed');
    }
  }
  maybeFinish(tm, tx);
}

/** after a branch final: when nothing is pending any more, answer the transaction */
export function afterBranchFinal(tm: TmEngine, tx: Transaction): void | Promise<void> {
  if (tx.phase !== Phase.ACTIVE || tx.pending > 0) return;
  if (tx.uasStatus >= 200) {
    maybeFinish(tm, tx);
    return;
  }
  return completeNegative(tm, tx);
}

/** every branch failed: failure_route if armed, then the best reply goes upstream */
function completeNegative(tm: TmEngine, tx: Transaction): void | Promise<void> {
  const picked = pickBranch(tx, tm.cfg.fakedReplyPrio);
  if (picked === null) {
    // no branch could even be sent (serial forking that failed everywhere)
    if (tx.local !== null) deliverLocal(tm, tx, 500, 'No destination', null);
    else localReply(tm, tx, 500, 'Server Internal Error');
    return;
  }
  if (tx.onFailure !== null && tx.local === null) {
    const r = runFailureRoute(tm, tx, picked);
    if (typeof r === 'number') return afterFailureRoute(tm, tx, picked);
    return r.then(() => afterFailureRoute(tm, tx, picked));
  }
  relayBest(tm, tx, picked);
}

function afterFailureRoute(tm: TmEngine, tx: Transaction, picked: Branch): void | Promise<void> {
  if (tx.phase !== Phase.ACTIVE) return;
  if (tx.uasStatus >= 200) {
    // t_reply() in failure_route answered
    maybeFinish(tm, tx);
    return;
  }
  if (tx.pending > 0) return; // serial forking: new branches are out
  // new branches could have been added and already ended; then pick again
  if (picked.dropped) return completeNegative(tm, tx);
  relayBest(tm, tx, picked);
}

export function relayBest(tm: TmEngine, tx: Transaction, picked: Branch): void {
  if (tx.local !== null) {
    deliverLocal(tm, tx, picked.code, picked.reason, picked.reply);
    return;
  }
  const reply = picked.reply;
  if (reply === null) {
    localReply(tm, tx, picked.code, picked.reason);
    return;
  }
  mergeChallenges(tx, picked);
  let buf: Buffer;
  try {
    buf = reply.serializeReply({ removeTopVia: true });
  } catch (e) {
    tm.log.warn({ err: (e as Error).message }, 'tm: cannot forward reply, answering 500');
    localReply(tm, tx, 500, 'Server Internal Error');
    return;
  }
  sendUpstream(tm, tx, buf, picked.code, toTagOf(reply), false);
}

export function toTagOf(reply: SipMessage): string | null {
  try {
    return reply.to().tag;
  } catch {
    return null;
  }
}
