// Running the routes a transaction armed (t_on_failure, t_on_reply, t_on_branch) on contexts
// built from the transaction: the script it started with, its flags and AVPs, the R-URI and
// $du of t_relay time (failure_route), the reply being handled (onreply_route).
import { Route } from '../../src/core/module-api.js';
import type { RouteRun } from '../../src/core/core-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { Script } from '../../src/script/script.js';
import { SipMessage } from '../../src/sip/index.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import type { Branch, BranchTarget } from './client-tx.js';
import type { TmEngine } from './engine.js';
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

/** what a transaction's routes start from: its flags, AVPs and the transaction itself */
function bindTx(ctx: MsgContext, tx: Transaction): void {
  ctx.flags = tx.flags;
  ctx.avps = tx.avps;
  ctx.setExt(TX_KEY, tx);
}

/** onreply_route for a reply on branch b; resolves true when the route dropped it */
export function runOnReply(tm: TmEngine, b: Branch, msg: SipMessage, rcv: ReceiveInfo, name: string): boolean | Promise<boolean> {
  const tx = b.tx;
  const route = tx.script.getRoute(Route.ONREPLY, name);
  if (route === undefined) return false;
  const done = (run: RouteRun): boolean => {
    tx.flags = run.ctx.flags;
    return Script.dropped(run.ctx);
  };
  const r = tm.core.runRoute(tx.script, route, msg, rcv, (ctx) => {
    bindTx(ctx, tx);
    ctx.reply = msg;
    ctx.setExt(BRANCH_KEY, b.idx);
  });
  return 'code' in r ? done(r) : r.then(done);
}

/** failure_route for the picked branch; it is disarmed first (re-arm with t_on_failure) */
export function runFailureRoute(tm: TmEngine, tx: Transaction, picked: Branch): number | Promise<number> {
  const name = tx.onFailure;
  tx.onFailure = null;
  const route = name === null ? undefined : tx.script.getRoute(Route.FAILURE, name);
  const rcv = tx.rcv;
  if (route === undefined || rcv === null) return 0;
  tx.inFailureRoute = true;
  const finish = (run: RouteRun): number => {
    tx.inFailureRoute = false;
    tx.flags = run.ctx.flags;
    return run.code;
  };
  const fail = (e: unknown): never => {
    tx.inFailureRoute = false;
    throw e;
  };
  let r: RouteRun | Promise<RouteRun>;
  try {
    r = tm.core.runRoute(tx.script, route, tx.req, rcv, (ctx) => {
      bindTx(ctx, tx);
      if (tx.ruri !== null && tx.ruri !== tx.req.ruri) ctx.newUri = tx.ruri;
      ctx.dstUri = tx.dstUri;
      // a reply tm made itself (408 on timeout) is a faked one, as Kamailio's FAKED_REPLY:
      // its status line only, nothing serialised and parsed again
      ctx.reply = picked.reply ?? SipMessage.fakedReply(picked.code, picked.reason);
      ctx.setExt(BRANCH_KEY, picked.idx);
      ctx.setExt(FAILURE_START_KEY, { ruri: ctx.ruri, dstUri: ctx.dstUri });
    });
  } catch (e) {
    return fail(e);
  }
  return 'code' in r ? finish(r) : r.then(finish, fail);
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
  const rcv = tx.rcv;
  if (route === undefined || rcv === null) return { target: t, onReply: undefined };
  const done = ({ ctx }: RouteRun) => {
    if (Script.dropped(ctx)) return null;
    const h = ctx.getExt<PendingHooks>(HOOKS_KEY);
    return {
      target: { uri: ctx.ruri, dstUri: ctx.dstUri, path: ctx.ruriPath, bflags: ctx.bflags },
      onReply: h?.onReply,
    };
  };
  const r = tm.core.runRoute(tx.script, route, tx.req, rcv, (ctx) => {
    bindTx(ctx, tx);
    ctx.flags = parent.flags;
    ctx.newUri = t.uri === tx.req.ruri ? null : t.uri;
    ctx.dstUri = t.dstUri;
    ctx.ruriPath = t.path;
    ctx.bflags = t.bflags;
    ctx.setExt(BRANCH_KEY, idx);
  });
  return 'code' in r ? done(r) : r.then(done);
}
