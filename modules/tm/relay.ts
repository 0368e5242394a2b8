// t_relay (RFC 3261 §16.6): create or reuse the server transaction, answer 100 Trying for
// INVITE (auto_inv_100), then one client transaction per destination: the R-URI/$du plus
// every branch append_branch()/lookup() added (parallel forking), or new branches of the same
// transaction when called from failure_route (serial forking). ACKs go statelessly; a CANCEL
// is matched to its INVITE.
import { isIP } from 'node:net';
import { Route } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import type { Destination, Proto } from '../../src/transport/types.js';
import { Branch, type BranchTarget } from './client-tx.js';
import { findInvite, handleCancel } from './cancel.js';
import { startBranch } from './client-tx-timers.js';
import { afterBranchFinal } from './complete.js';
import type { TmEngine } from './engine.js';
import { restoreLumps, saveLumps, type LumpSnapshot } from './lumps.js';
import { serverKey } from './matching.js';
import { applyPending, boundTx, BRANCH_KEY, FAILURE_START_KEY, HOOKS_KEY, runBranchRoute, TX_KEY } from './routes.js';
import { localReply, retransmitReply } from './server-tx.js';
import { Phase, Timer, type Transaction } from './transaction.js';

export interface RelayOpts {
  /** explicit next hop (t_relay(host, port), t_relay_to_*): a SIP URI */
  target: string | null;
  /** force the transport (t_relay_to_udp/tcp) */
  proto: Proto | null;
}

export const NO_OPTS: RelayOpts = { target: null, proto: null };

interface ForkResult {
  sent: number;
  code: number;
  reason: string;
}

export function tRelay(tm: TmEngine, ctx: MsgContext, opts: RelayOpts): number | Promise<number> {
  const msg = ctx.msg;
  if (!msg.isRequest) return -1;
  const method = msg.method;
  // ACK for 2xx and other end-to-end ACKs: no transaction, forwarded statelessly
  if (method === 'ACK') return statelessForward(ctx, opts);
  let tx = boundTx(ctx);
  if (method === 'CANCEL' && (tx === undefined || tx.method === 'CANCEL')) {
    const inv = findInvite(tm, msg);
    if (inv !== undefined) return handleCancel(tm, ctx, inv);
    // unmatched_cancel: 0 forward statefully (below), 1 statelessly, 2 drop
    if (tx === undefined && tm.cfg.unmatchedCancel === 1) return statelessForward(ctx, opts);
    if (tx === undefined && tm.cfg.unmatchedCancel === 2) return 0;
  }
  const inFailure = ctx.routeType === Route.FAILURE;
  if (tx === undefined) {
    const key = serverKey(msg, method, tm.match);
    const existing = tm.servers.get(key);
    if (existing !== undefined) {
      // a retransmission that overtook its original's transaction creation
      retransmitReply(tm, existing);
      return 1;
    }
    if (tm.full(ctx)) return -1;
    tx = tm.createServer(ctx, key);
  }
  if (tx.phase !== Phase.ACTIVE || tx.uasStatus >= 200) {
    ctx.setError(500, 'Transaction already answered');
    return -1;
  }
  if (inFailure && tx.canceled) {
    ctx.setError(487, 'Request Terminated');
    return -1;
  }
  applyPending(ctx, tx);
  tx.flags = ctx.flags;
  tx.avps = ctx.avps ??= new Map();
  if (!inFailure) {
    tx.ruri = ctx.ruri;
    tx.dstUri = ctx.dstUri;
  }
  if (!tx.timer2.armed) {
    tm.wheel.arm(tx.timer2, tx.isInvite ? tm.cfg.maxInvLifetime : tm.cfg.maxNoninvLifetime, Timer.LIFETIME);
  }
  if (tx.isInvite && tm.cfg.autoInv100 && tx.uasStatus === 0 && !inFailure) {
    localReply(tm, tx, 100, tm.cfg.autoInv100Reason);
  }
  const targets = collectTargets(tm, ctx, inFailure);
  if (targets.length === 0) {
    ctx.setError(500, 'No destination');
    return -1;
  }
  const before = tx.branches.length;
  const t = tx;
  return forkTo(tm, t, ctx, targets, opts).then((r) => relayDone(tm, t, ctx, r, inFailure, before));
}

function relayDone(tm: TmEngine, tx: Transaction, ctx: MsgContext, r: ForkResult, inFailure: boolean, before: number): number {
  if (r.sent > 0) {
    if (inFailure) dropEarlierBranches(tm, tx, before, ctx.getExt<number>(BRANCH_KEY) ?? -1);
    // every new branch may already have failed to send while others had answered
    if (tx.pending === 0 && !inFailure) void tm.serialize(tx, () => afterBranchFinal(tm, tx));
    return 1;
  }
  ctx.setError(r.code, r.reason);
  // failure_route, or branches of an earlier t_relay() still running: the transaction goes on
  if (inFailure || tx.branches.some((b) => !b.failed)) return -1;
  if (tm.dialect === 'ser') {
    // SER 0.9 kill_transaction(): a stateful error reply, and the script stops
    localReply(tm, tx, r.code, r.reason);
    ctx.replied = true;
    return 0;
  }
  // Kamailio: the transaction goes away and the script answers (sl_reply_error)
  tm.free(tx);
  ctx.setExt(TX_KEY, undefined);
  return -1;
}

/** failure_reply_mode: which earlier branches still compete once serial forking succeeded */
function dropEarlierBranches(tm: TmEngine, tx: Transaction, before: number, picked: number): void {
  const mode = tm.dialect === 'ser' ? 0 : tm.cfg.failureReplyMode;
  if (mode === 0) return;
  for (let i = 0; i < before; i++) {
    const b = tx.branches[i];
    if (mode === 2 && i === picked) continue;
    b.dropped = true;
  }
}

/**
 * The destination set: the R-URI/$du branch, then ctx.branches. In failure_route the R-URI was
 * already used: SER 0.9 forwards only to appended branches; Kamailio uses it again only when
 * the script changed $ru or $du (ruri_mark_new).
 */
function collectTargets(tm: TmEngine, ctx: MsgContext, inFailure: boolean): BranchTarget[] {
  const out: BranchTarget[] = [];
  let useMain = true;
  if (inFailure) {
    const start = ctx.getExt<{ ruri: string; dstUri: string | null }>(FAILURE_START_KEY);
    useMain = tm.dialect !== 'ser' && (start === undefined || start.ruri !== ctx.ruri || start.dstUri !== ctx.dstUri);
  }
  if (useMain) out.push({ uri: ctx.ruri, dstUri: ctx.dstUri, path: ctx.ruriPath, bflags: ctx.bflags });
  for (const b of ctx.branches) out.push({ uri: b.uri, dstUri: b.dstUri, path: b.path, bflags: b.flags });
  // the destination set is consumed by t_relay (Kamailio clears it)
  if (ctx.branches.length > 0) ctx.branches = [];
  if (inFailure) ctx.setExt(FAILURE_START_KEY, { ruri: ctx.ruri, dstUri: ctx.dstUri });
  return out;
}

async function forkTo(tm: TmEngine, tx: Transaction, ctx: MsgContext, targets: BranchTarget[], opts: RelayOpts): Promise<ForkResult> {
  const msg = ctx.msg;
  const jobs: Promise<boolean>[] = [];
  let code = 478;
  let reason = 'Unresolvable destination';
  for (let target of targets) {
    let snap: LumpSnapshot | null = null;
    let onReply = tx.onReply;
    if (tx.onBranch !== null && tx.rcv !== null) {
      snap = saveLumps(msg);
      const r = await runBranchRoute(tm, tx, ctx, target, tx.branches.length, tx.onBranch);
      if (r === null) {
        restoreLumps(msg, snap);
        continue;
      }
      target = r.target;
      if (r.onReply !== undefined) onReply = r.onReply;
    }
    const dest = await resolveHop(tm, opts.target ?? target.dstUri ?? firstPathUri(target.path) ?? target.uri, opts.proto);
    const sock = dest === null ? undefined : tm.core.socketFor(dest.proto, isIP(dest.ip) === 6 ? 6 : 4);
    if (dest === null || sock === undefined) {
      if (snap !== null) restoreLumps(msg, snap);
      if (dest !== null) {
        code = 503;
        reason = 'No socket for destination';
      }
      tm.log.debug({ uri: target.uri, dst: target.dstUri }, 'tm: branch destination unresolvable');
      continue;
    }
    const id = tm.newBranchId();
    let buf: Buffer;
    try {
      buf = msg.serializeRequest({
        ruri: target.uri,
        via: tm.core.viaFor(sock, id),
        extraTop: target.path !== null ? [`Route: ${target.path}`] : undefined,
      });
    } finally {
      if (snap !== null) restoreLumps(msg, snap);
    }
    const b = new Branch(tx, tx.branches.length, id, target, dest, sock, buf);
    b.onReply = onReply;
    tx.branches.push(b);
    jobs.push(startBranch(tm, b));
  }
  if (jobs.length === 0) return { sent: 0, code, reason };
  const oks = await Promise.all(jobs);
  let sent = 0;
  for (const ok of oks) if (ok) sent++;
  if (sent === 0) return { sent, code: 477, reason: 'Sending failed' };
  return { sent, code: 0, reason: '' };
}

async function resolveHop(tm: TmEngine, uri: string, proto: Proto | null): Promise<Destination | null> {
  const d = await tm.core.resolveUri(uri);
  if (d === null || proto === null || d.proto === proto) return d;
  return { ...d, proto };
}

/** the first URI of a Path vector (RFC 3327): the next hop for a branch with a path */
function firstPathUri(path: string | null): string | null {
  if (path === null) return null;
  const m = /<([^>]+)>/.exec(path);
  return m ? m[1] : path.split(',')[0].trim();
}

/** ACK (end-to-end) or unmatched CANCEL with unmatched_cancel=1: no transaction */
function statelessForward(ctx: MsgContext, opts: RelayOpts): Promise<number> {
  let target = opts.target;
  if (opts.proto === 'tcp') target = `${target ?? ctx.dstUri ?? ctx.ruri};transport=tcp`;
  return ctx.core.forward(ctx, target).then((ok) => (ok ? 1 : -1));
}

/** t_newtran(): 1 created (or already bound), 0 retransmission (answered, script stops), -1 transaction cap reached (503 for sl_reply_error) */
export function newTran(tm: TmEngine, ctx: MsgContext): number {
  if (boundTx(ctx) !== undefined) return 1;
  const msg = ctx.msg;
  if (!msg.isRequest) return -1;
  const method = msg.method;
  if (method === 'ACK') return 1; // ACKs never create transactions
  const key = serverKey(msg, method, tm.match);
  const existing = tm.servers.get(key);
  if (existing !== undefined) {
    retransmitReply(tm, existing);
    return 0;
  }
  if (tm.full(ctx)) return -1;
  const tx = tm.createServer(ctx, key);
  applyPending(ctx, tx);
  tx.flags = ctx.flags;
  tx.avps = ctx.avps ??= new Map();
  tx.ruri = ctx.ruri;
  tx.dstUri = ctx.dstUri;
  tm.wheel.arm(tx.timer2, tx.isInvite ? tm.cfg.maxInvLifetime : tm.cfg.maxNoninvLifetime, Timer.LIFETIME);
  return 1;
}

export { HOOKS_KEY };
