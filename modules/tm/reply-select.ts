// Best-response selection (RFC 3261 §16.7 step 6, Kamailio t_reply.c t_pick_branch): 6xx
// first, then the lowest class, 4xx preferring codes that help a retry (401, 407, 415, 420,
// 484); locally generated replies can be ranked lower (faked_reply_prio). Step 7: the
// challenges of every 401/407 are merged into the one forwarded.
import type { Branch } from './client-tx.js';
import type { Transaction } from './transaction.js';

// 0-99, 1xx, 2xx, 3xx, 4xx, 5xx, 6xx
const CLASS_PRIO = [32000, 11000, 0, 3000, 4000, 5000, 1000];

function prio4xx(xx: number): number {
  switch (xx) {
    case 1:
    case 7:
    case 15:
    case 20:
    case 84:
      return xx;
    default:
      return 100 + xx;
  }
}

/** lower is better */
export function replyPrio(code: number, local: boolean, fakedPrio: number): number {
  const cls = Math.floor(code / 100);
  const xx = code % 100;
  const p = cls >= 0 && cls < 7 ? CLASS_PRIO[cls] + (cls === 4 ? prio4xx(xx) : xx) : 32000 + xx;
  return local ? p + fakedPrio : p;
}

/** branch ranked for selection: finished, sent, not dropped by serial forking */
export function isCandidate(b: Branch): boolean {
  return b.done && !b.failed && !b.dropped && b.code >= 200;
}

/** the branch whose final reply goes upstream (null when no branch qualifies) */
export function pickBranch(tx: Transaction, fakedPrio: number): Branch | null {
  let best: Branch | null = null;
  let bestPrio = Infinity;
  for (const b of tx.branches) {
    if (!isCandidate(b)) continue;
    const p = replyPrio(b.code, b.reply === null, fakedPrio);
    if (p < bestPrio) {
      best = b;
      bestPrio = p;
    }
  }
  return best;
}

/** RFC 3261 §16.7 step 7: add the other branches' challenges to the 401/407 sent upstream */
export function mergeChallenges(tx: Transaction, picked: Branch): void {
  const reply = picked.reply;
  if (reply === null || (picked.code !== 401 && picked.code !== 407)) return;
  for (const b of tx.branches) {
    if (b === picked || !isCandidate(b) || b.reply === null || (b.code !== 401 && b.code !== 407)) continue;
    for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) {
      for (const hf of b.reply.headersNamed(name)) reply.appendHeader(`${name}: ${hf.newValue ?? hf.value}`);
    }
  }
}
