// Client transaction timers (RFC 3261 §17.1): sending a branch, retransmissions over UDP
// (A: INVITE, doubling from T1; E: non-INVITE, capped at T2 and at T2 once a provisional
// arrived), CANCEL retransmission, and fr_timer/fr_inv_timer expiry → CANCEL if the callee
// is ringing, then a local 408 (487 when the transaction was cancelled).
import type { Branch } from './client-tx.js';
import { Cancel } from './client-tx.js';
import { sendCancel } from './cancel.js';
import { afterBranchFinal, finishBranch } from './complete.js';
import type { TmEngine } from './engine.js';
import { Phase, Timer } from './transaction.js';

/** register, arm A/E and B/F, send; resolves false when the send failed (branch marked failed) */
export function startBranch(tm: TmEngine, b: Branch): Promise<boolean> {
  const tx = b.tx;
  tm.clients.set(b.id, b);
  tx.pending++;
  if (!b.reliable) {
    b.retrInterval = tm.cfg.t1;
    tm.wheel.arm(b.retr, b.retrInterval, Timer.RETR);
  }
  tm.wheel.arm(b.fr, tx.frTimeout || tm.cfg.frTimer, Timer.FR);
  return tm.core.send(b.dest, b.reqBuf, b.sock).then((ok) => {
    if (!ok && !b.done) {
      b.failed = true;
      finishBranch(tm, b, 477, 'Sending failed', null);
    }
    return ok;
  });
}

export function branchTimer(tm: TmEngine, b: Branch, kind: number): void {
  const tx = b.tx;
  if (tx.phase === Phase.FREED) return;
  switch (kind) {
    case Timer.RETR: {
      if (b.done) return;
      void tm.core.send(b.dest, b.reqBuf, b.sock);
      const t2 = tm.cfg.t2;
      b.retrInterval = tx.isInvite ? b.retrInterval * 2 : b.status >= 100 ? t2 : Math.min(b.retrInterval * 2, t2);
      tm.wheel.arm(b.retr, b.retrInterval, Timer.RETR);
      return;
    }
    case Timer.CANCEL_RETR: {
      if (b.cancel !== Cancel.SENT || b.cancelBuf === null) return;
      // give up like a non-INVITE client transaction would (Timer F)
      if (tm.wheel.now() - b.cancelSentAt > tm.cfg.frTimer) {
        b.cancel = Cancel.DONE;
        return;
      }
      void tm.core.send(b.dest, b.cancelBuf, b.sock);
      b.retrInterval = Math.min(b.retrInterval * 2, tm.cfg.t2);
      tm.wheel.arm(b.retr, b.retrInterval, Timer.CANCEL_RETR);
      return;
    }
    case Timer.FR:
      expireBranch(tm, b);
      return;
    default:
  }
}

/** no final in time (fr timer or transaction lifetime) */
export function expireBranch(tm: TmEngine, b: Branch): void {
  void tm.serialize(b.tx, () => timeoutBranch(tm, b));
}

function timeoutBranch(tm: TmEngine, b: Branch): void | Promise<void> {
  const tx = b.tx;
  if (b.done || tx.phase !== Phase.ACTIVE) return;
  // the callee is ringing: make it stop (Kamailio sends CANCEL on fr_inv expiry)
  if (tx.isInvite && b.status >= 100 && b.cancel < Cancel.SENT) sendCancel(tm, b);
  b.timedOut = true;
  const canceled = tx.canceled;
  finishBranch(tm, b, canceled ? 487 : 408, canceled ? 'Request Terminated' : 'Request Timeout', null);
  tm.log.debug({ callId: tx.req.callId(), branch: b.idx, code: b.code }, 'tm: branch timed out');
  if (isSilentTimeout(tm, b) && tx.pending === 0) {
    // noisy_ctimer=0: a lone INVITE branch that never answered ends without a 408
    tm.putOnWait(tx);
    return;
  }
  return afterBranchFinal(tm, tx);
}

function isSilentTimeout(tm: TmEngine, b: Branch): boolean {
  const tx = b.tx;
  if (!tx.isInvite || tm.cfg.noisyCtimer || b.replied || tx.canceled || tx.onFailure !== null || tx.local !== null) return false;
  let live = 0;
  for (const x of tx.branches) if (!x.failed && !x.dropped) live++;
  return live === 1;
}
