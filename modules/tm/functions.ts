// The script functions of tm (Kamailio 5.6 README.tm §4, SER 0.9 tm.c cmds[]).
import { arg, ArgError, fnFor, optional, Ret, Route, ANY_ROUTE, REQ_FAIL_BRANCH, type FunctionSpec } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import type { Proto } from '../../src/transport/types.js';
import { findInvite, handleCancel } from './cancel.js';
import type { TmEngine } from './engine.js';
import { hasMagicBranch, inviteDialogKey, serverKey } from './matching.js';
import { NO_OPTS, newTran, tRelay, type RelayOpts } from './relay.js';
import { boundTx, BRANCH_KEY, pendingHooks, type PendingHooks } from './routes.js';
import { absorbAck, localReply, retransmitReply } from './server-tx.js';
import type { Branch } from './client-tx.js';

const fn = fnFor<TmEngine>();
const RELAY_ROUTES = Route.REQUEST | Route.FAILURE;
const HOOK_ROUTES = REQ_FAIL_BRANCH | Route.ONREPLY;
const TX_ROUTES = REQ_FAIL_BRANCH | Route.ONREPLY;

/** a next hop given as host (+ port) in t_relay(host, port) and friends */
export function relayOpts(host: string, port: number | undefined, proto: Proto | null): RelayOpts {
  let h = host.trim();
  if (/^sips?:/i.test(h)) return { target: h, proto };
  if (h.includes(':') && !h.startsWith('[') && h.split(':').length > 2) h = `[${h}]`; // bare IPv6
  return { target: `sip:${h}${port ? `:${port}` : ''}`, proto };
}

/** t_relay_to("proto:host:port") (Kamailio) */
function parseProxy(s: string): RelayOpts {
  const m = /^(?:(udp|tcp|tls|sctp):)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/i.exec(s.trim());
  if (!m) throw new ArgError(`bad proxy address "${s}", expected [proto:]host[:port]`);
  const proto = m[1] ? (m[1].toLowerCase() === 'udp' ? 'udp' : 'tcp') : null;
  return relayOpts(m[2], m[3] ? Number(m[3]) : undefined, proto);
}

const replyCodeArg = () =>
  arg.custom('reply code', (s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 100 || n > 699) throw new ArgError(`reply code must be 100..699, got "${s}"`);
    return n;
  });

const portArg = () => optional(arg.int({ min: 0, max: 65535 }));

function relayTo(proto: Proto | null) {
  return fn({
    args: [optional(arg.str()), portArg()],
    routes: RELAY_ROUTES,
    async: true,
    run: (ctx, tm, host, port) => tRelay(tm, ctx, host ? relayOpts(host, port, proto) : proto ? { target: null, proto } : NO_OPTS),
  });
}

function setHook(ctx: MsgContext, which: 'onFailure' | 'onReply' | 'onBranch', name: string): number {
  // branch_route: per-branch (read back by relay.ts); otherwise the transaction if there is one
  if (ctx.routeType === Route.BRANCH) {
    pendingHooks(ctx)[which] = name;
    return Ret.OK;
  }
  const tx = boundTx(ctx);
  if (tx !== undefined) tx[which] = name;
  else pendingHooks(ctx)[which] = name;
  return Ret.OK;
}

/** the reply code the current route is about ($T_reply_code, t_check_status) */
export function currentCode(ctx: MsgContext): number {
  switch (ctx.routeType) {
    case Route.FAILURE:
      return ctx.reply?.status ?? 0;
    case Route.ONREPLY:
      return ctx.msg.isRequest ? 0 : ctx.msg.status;
    case Route.BRANCH:
      return 0;
    default:
      return boundTx(ctx)?.uasStatus ?? 0;
  }
}

export function currentReason(ctx: MsgContext): string {
  if (ctx.routeType === Route.FAILURE) return ctx.reply?.reason ?? '';
  if (ctx.routeType === Route.ONREPLY && !ctx.msg.isRequest) return ctx.msg.reason;
  return '';
}

/** the branch a failure_route / onreply_route / branch_route is about */
function currentBranch(ctx: MsgContext): Branch | undefined {
  const tx = boundTx(ctx);
  const idx = ctx.getExt<number>(BRANCH_KEY);
  return tx === undefined || idx === undefined ? undefined : tx.branches[idx];
}

function anyBranch(ctx: MsgContext, pred: (b: Branch) => boolean): number {
  const tx = boundTx(ctx);
  if (tx === undefined) return Ret.FALSE;
  return tx.branches.some(pred) ? Ret.OK : Ret.FALSE;
}

function tReply(ctx: MsgContext, tm: TmEngine, code: number, reason: string): number {
  const tx = boundTx(ctx);
  if (tx === undefined) {
    ctx.log.warn({ code }, 't_reply: no transaction (call t_newtran() first)');
    return Ret.FALSE;
  }
  const ok = localReply(tm, tx, code, reason, ctx.getExt<string[]>('core.replyHeaders'));
  if (ok) ctx.replied = true;
  return ok ? Ret.OK : Ret.FALSE;
}

/** Kamailio t_check_trans(): see README for the per-method results */
function tCheckTrans(ctx: MsgContext, tm: TmEngine): number {
  const msg = ctx.msg;
  if (!msg.isRequest) return boundTx(ctx) !== undefined ? Ret.OK : Ret.FALSE;
  const method = msg.method;
  if (method === 'CANCEL') return findInvite(tm, msg) !== undefined ? Ret.OK : Ret.FALSE;
  if (method === 'ACK') {
    const tx = tm.servers.get(serverKey(msg, 'INVITE', tm.match));
    if (tx !== undefined && tx.isInvite && tx.uasStatus >= 300 && (hasMagicBranch(msg) || tx.uasToTag === msg.to().tag)) {
      absorbAck(tm, tx);
      return Ret.DROP;
    }
    // the end-to-end ACK of a 2xx (own branch): true, so the script relays it
    const inv = tx ?? tm.invites.get(inviteDialogKey(msg));
    return inv !== undefined && inv.uasStatus >= 200 && inv.uasStatus < 300 ? Ret.OK : Ret.FALSE;
  }
  const mine = boundTx(ctx);
  const tx = tm.servers.get(serverKey(msg, method, tm.match));
  if (tx === undefined) return Ret.FALSE;
  if (tx === mine) return Ret.OK;
  retransmitReply(tm, tx);
  return Ret.DROP;
}

function isSet(ctx: MsgContext, target: string): number {
  const key: keyof PendingHooks =
    target === 'failure_route' ? 'onFailure' : target === 'onreply_route' ? 'onReply' : 'onBranch';
  const h = ctx.getExt<PendingHooks>('tm.hooks');
  const v = h?.[key] ?? boundTx(ctx)?.[key] ?? null;
  return v !== null && v !== undefined ? Ret.OK : Ret.FALSE;
}

function setFr(ctx: MsgContext, inv: number, noninv: number | undefined): number {
  const tx = boundTx(ctx);
  if (tx !== undefined) {
    tx.frInvTimeout = inv;
    if (noninv !== undefined) tx.frTimeout = noninv;
  } else {
    const h = pendingHooks(ctx);
    h.frInv = inv;
    if (noninv !== undefined) h.fr = noninv;
  }
  return Ret.OK;
}

export const functions: Record<string, FunctionSpec<TmEngine>> = {
  t_relay: relayTo(null),
  t_relay_to_udp: relayTo('udp'),
  t_relay_to_tcp: relayTo('tcp'),
  t_forward_nonack: relayTo(null),
  t_forward_nonack_udp: relayTo('udp'),
  t_forward_nonack_tcp: relayTo('tcp'),
  t_relay_to: fn({
    args: [optional(arg.custom('proxy address', parseProxy)), optional(arg.int())],
    routes: RELAY_ROUTES,
    async: true,
    run: (ctx, tm, proxy) => tRelay(tm, ctx, proxy ?? NO_OPTS),
  }),
  t_newtran: fn({ args: [], routes: Route.REQUEST, run: (ctx, tm) => newTran(tm, ctx) }),
  t_reply: fn({
    args: [replyCodeArg(), arg.str()],
    routes: Route.REQUEST | Route.FAILURE,
    run: (ctx, tm, code, reason) => tReply(ctx, tm, code, reason),
  }),
  t_send_reply: fn({
    args: [replyCodeArg(), arg.str()],
    routes: Route.REQUEST | Route.FAILURE,
    run: (ctx, tm, code, reason) => {
      if (boundTx(ctx) === undefined && newTran(tm, ctx) !== 1) return Ret.FALSE;
      return tReply(ctx, tm, code, reason);
    },
  }),
  t_on_failure: fn({ args: [arg.route(Route.FAILURE)], routes: HOOK_ROUTES, run: (ctx, _tm, r) => setHook(ctx, 'onFailure', r) }),
  t_on_reply: fn({ args: [arg.route(Route.ONREPLY)], routes: HOOK_ROUTES, run: (ctx, _tm, r) => setHook(ctx, 'onReply', r) }),
  t_on_branch: fn({ args: [arg.route(Route.BRANCH)], routes: HOOK_ROUTES, run: (ctx, _tm, r) => setHook(ctx, 'onBranch', r) }),
  t_check_status: fn({
    args: [arg.regex()],
    routes: TX_ROUTES,
    run: (ctx, _tm, re) => {
      const code = currentCode(ctx);
      return code > 0 && re.test(String(code)) ? Ret.OK : Ret.FALSE;
    },
  }),
  t_check_trans: fn({ args: [], routes: Route.REQUEST | Route.ONREPLY, run: (ctx, tm) => tCheckTrans(ctx, tm) }),
  t_lookup_request: fn({
    args: [],
    routes: Route.REQUEST,
    run: (ctx, tm) => {
      if (boundTx(ctx) !== undefined) return Ret.OK;
      const m = ctx.msg;
      return tm.servers.has(serverKey(m, m.method === 'ACK' ? 'INVITE' : m.method, tm.match)) ? Ret.OK : Ret.FALSE;
    },
  }),
  t_lookup_cancel: fn({
    args: [optional(arg.int())],
    routes: Route.REQUEST,
    run: (ctx, tm) => (ctx.msg.method === 'CANCEL' && findInvite(tm, ctx.msg) !== undefined ? Ret.OK : Ret.FALSE),
  }),
  t_relay_cancel: fn({
    args: [],
    routes: Route.REQUEST,
    run: (ctx, tm) => {
      // 0 (stop) when the CANCEL was matched and handled; 1 lets the script go on
      if (ctx.msg.method !== 'CANCEL' || boundTx(ctx) !== undefined) return Ret.OK;
      const inv = findInvite(tm, ctx.msg);
      if (inv === undefined) return Ret.OK;
      return handleCancel(tm, ctx, inv) > 0 ? Ret.DROP : Ret.FALSE;
    },
  }),
  t_is_canceled: fn({ args: [], routes: TX_ROUTES, run: (ctx) => (boundTx(ctx)?.canceled ? Ret.OK : Ret.FALSE) }),
  t_is_expired: fn({ args: [], routes: TX_ROUTES, run: (ctx) => anyBranch(ctx, (b) => b.timedOut) }),
  t_branch_timeout: fn({
    args: [],
    routes: Route.FAILURE | Route.ONREPLY,
    run: (ctx) => (currentBranch(ctx)?.timedOut ? Ret.OK : Ret.FALSE),
  }),
  t_branch_replied: fn({
    args: [],
    routes: Route.FAILURE | Route.ONREPLY,
    run: (ctx) => (currentBranch(ctx)?.replied ? Ret.OK : Ret.FALSE),
  }),
  t_any_timeout: fn({ args: [], routes: TX_ROUTES, run: (ctx) => anyBranch(ctx, (b) => b.timedOut) }),
  t_any_replied: fn({ args: [], routes: TX_ROUTES, run: (ctx) => anyBranch(ctx, (b) => b.replied) }),
  t_grep_status: fn({
    args: [replyCodeArg()],
    routes: TX_ROUTES,
    run: (ctx, _tm, code) => anyBranch(ctx, (b) => b.code === code && b.done),
  }),
  t_release: fn({
    args: [],
    routes: Route.REQUEST,
    run: (ctx, tm) => {
      const tx = boundTx(ctx);
      if (tx === undefined) return Ret.FALSE;
      tm.putOnWait(tx);
      return Ret.OK;
    },
  }),
  t_retransmit_reply: fn({
    args: [],
    routes: Route.REQUEST,
    run: (ctx, tm) => {
      const tx = boundTx(ctx);
      if (tx === undefined || tx.uasReply === null) return Ret.FALSE;
      retransmitReply(tm, tx);
      return Ret.OK;
    },
  }),
  t_set_fr: fn({
    args: [arg.int({ min: 0 }), optional(arg.int({ min: 0 }))],
    routes: ANY_ROUTE,
    run: (ctx, _tm, inv, noninv) => setFr(ctx, inv, noninv),
  }),
  t_reset_fr: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => setFr(ctx, 0, 0) }),
  t_is_set: fn({
    args: [
      arg.custom('route kind', (s) => {
        const t = s.trim();
        if (t !== 'failure_route' && t !== 'branch_route' && t !== 'onreply_route')
          throw new ArgError('expected "failure_route", "branch_route" or "onreply_route"');
        return t;
      }),
    ],
    routes: ANY_ROUTE,
    run: (ctx, _tm, target) => isSet(ctx, target),
  }),
  t_is_failure_route: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.routeType === Route.FAILURE ? Ret.OK : Ret.FALSE) }),
  t_is_branch_route: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.routeType === Route.BRANCH ? Ret.OK : Ret.FALSE) }),
  t_is_reply_route: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.routeType === Route.ONREPLY ? Ret.OK : Ret.FALSE) }),
};
