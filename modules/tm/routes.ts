// Running the routes a transaction armed (t_on_failure, t_on_reply, t_on_branch) on contexts
// built from the transaction: the script it started with, its flags and AVPs, the R-URI and
// $du of t_relay time (failure_route), the reply being handled (onreply_route).
import { Route } from '../../src/core/module-api.js';
import { MsgContext } from '../../src/script/context.js';
import { Script } from '../../src/script/script.js';
import { SipMessage } from '../../src/sip/index.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import type { Branch, BranchTarget } from './client-tx.js';
import type { TmEngine } from './engine.js';
import { buildLocalReply } from './server-tx.js';
import type { Transaction } from './transaction.js';

/** per-context t_on_* / t_set_fr values set before a transaction exists (or in branch_route) */
export interface PendingHooks {
  onFailure?: string | null;
  onReply?: string | null;
  onBranch?: string | null;
  frInv?: number;
  fr?: number;
}

export const TX_KEY = 'tm.tx';
export const BRANCH_KEY = 'tm.branch';
export const HOOKS_KEY = 'tm.hooks';
/** R-URI and $du a failure_route started with (is the main branch "new" again?) */
export const FAILURE_START_KEY = 'tm.failureStart';

export function boundTx(ctx: MsgContext): Transaction | undefined {
  return ctx.getExt<Transaction>(TX_KEY);
}

export function pendingHooks(ctx: MsgContext): PendingHooks {
  let h = ctx.getExt<PendingHooks>(HOOKS_KEY);
  if (h === undefined) {
    h = {};
    ctx.setExt(HOOKS_KEY, h);
  }
  return h;
}

/** copy what the script armed before the transaction existed */
export function applyPending(ctx: MsgContext, tx: Transaction): void {
  const h = ctx.getExt<PendingHooks>(HOOKS_KEY);
  if (h === undefined) return;
  if (h.onFailure !== undefined) tx.onFailure = h.onFailure;
  if (h.onReply !== undefined) tx.onReply = h.onReply;
  if (h.onBranch !== undefined) tx.onBranch = h.onBranch;
  if (h.fr !== undefined) tx.frTimeout = h.fr;
  if (h.frInv !== undefined) tx.frInvTimeout = h.frInv;
  ctx.setExt(HOOKS_KEY, undefined);
}

function txContext(tm: TmEngine, tx: Transaction, msg: SipMessage, rcv: ReceiveInfo, type: number): MsgContext {
  const ctx = new MsgContext(msg, rcv, tx.script, tm.core, type);
  ctx.flags = tx.flags;
  ctx.avps = tx.avps;
  ctx.setExt(TX_KEY, tx);
  return ctx;
}

/** onreply_route for a reply on branch b; resolves true when the route dropped it */
export function runOnReply(tm: TmEngine, b: Branch, msg: SipMessage, rcv: ReceiveInfo, name: string): boolean | Promise<boolean> {
  const tx = b.tx;
  const route = tx.script.getRoute(Route.ONREPLY, name);
  if (route === undefined) return false;
  const ctx = txContext(tm, tx, msg, rcv, Route.ONREPLY);
  ctx.reply = msg;
  ctx.setExt(BRANCH_KEY, b.idx);
  const done = (): boolean => {
    tx.flags = ctx.flags;
    return Script.dropped(ctx);
  };
  const r = tx.script.run(route, ctx);
  return typeof r === 'number' ? done() : r.then(done);
}

/** failure_route for the picked branch; it is disarmed first (re-arm with t_on_failure) */
export function runFailureRoute(tm: TmEngine, tx: Transaction, picked: Branch): number | Promise<number> {
  const name = tx.onFailure;
  tx.onFailure = null;
  const route = name === null ? undefined : tx.script.getRoute(Route.FAILURE, name);
  if (route === undefined || tx.rcv === null) return 0;
  const ctx = txContext(tm, tx, tx.req, tx.rcv, Route.FAILURE);
  if (tx.ruri !== null && tx.ruri !== tx.req.ruri) ctx.newUri = tx.ruri;
  ctx.dstUri = tx.dstUri;
  ctx.reply = picked.reply ?? SipMessage.parse(buildLocalReply(tm, tx, picked.code, picked.reason));
  ctx.setExt(BRANCH_KEY, picked.idx);
  ctx.setExt(FAILURE_START_KEY, { ruri: ctx.ruri, dstUri: ctx.dstUri });
  tx.inFailureRoute = true;
  const done = (n: number): number => {
    tx.inFailureRoute = false;
    tx.flags = ctx.flags;
    return n;
  };
  let r: number | Promise<number>;
  try {
    r = tx.script.run(route, ctx);
  } catch (e) {
    done(0);
    throw e;
  }
  return typeof r === 'number' ? done(r) : r.then(done, (e: unknown) => {
    done(0);
    throw e;
  });
}

/**
 * branch_route for a new branch: returns the branch as the route left it (R-URI, $du, branch
 * flags) with its own t_on_reply, or null when the route dropped the branch.
 */
export function runBranchRoute(
  tm: TmEngine,
  tx: Transaction,
  parent: MsgContext,
  t: BranchTarget,
  idx: number,
  name: string,
): { target: BranchTarget; onReply: string | null | undefined } | null | Promise<{ target: BranchTarget; onReply: string | null | undefined } | null> {
  const route = tx.script.getRoute(Route.BRANCH, name);
  if (route === undefined || tx.rcv === null) return { target: t, onReply: undefined };
  const ctx = txContext(tm, tx, tx.req, tx.rcv, Route.BRANCH);
  ctx.flags = parent.flags;
  ctx.newUri = t.uri === tx.req.ruri ? null : t.uri;
  ctx.dstUri = t.dstUri;
  ctx.ruriPath = t.path;
  ctx.bflags = t.bflags;
  ctx.setExt(BRANCH_KEY, idx);
  const done = () => {
    if (Script.dropped(ctx)) return null;
    const h = ctx.getExt<PendingHooks>(HOOKS_KEY);
    return {
      target: { uri: ctx.ruri, dstUri: ctx.dstUri, path: ctx.ruriPath, bflags: ctx.bflags },
      onReply: h?.onReply,
    };
  };
  const r = tx.script.run(route, ctx);
  return typeof r === 'number' ? done() : r.then(done);
}
