// The typed API other modules bind with env.bindApi<TmApi>('tm') (Kamailio load_tm_api):
// sl's send_reply, dispatcher's failover and OPTIONS probing, registrar/usrloc helpers.
import type { TmReplyApi } from '../sl/index.js';
import type { MsgContext } from '../../src/script/context.js';
import type { Proto } from '../../src/transport/types.js';
import type { TmEngine } from './engine.js';
import { relayOpts } from './functions.js';
import { newTran, tRelay } from './relay.js';
import { boundTx, pendingHooks } from './routes.js';
import { localReply } from './server-tx.js';
import type { UacResult } from './transaction.js';
import { sendRequest, type UacRequest } from './uac.js';

export type { UacRequest } from './uac.js';
export type { UacResult } from './transaction.js';

export interface TmApi extends TmReplyApi {
  /**
   * t_relay(): statefully forward the request in ctx (R-URI/$du plus ctx.branches), or add
   * branches from failure_route. Script return code: >0 ok, <0 error (ctx.lastError set).
   */
  relay(ctx: MsgContext, target?: { host: string; port?: number; proto?: Proto }): number | Promise<number>;
  /** t_newtran(): 1 created, 0 retransmission (already answered) */
  newTran(ctx: MsgContext): number;
  /** t_reply() on the transaction of ctx; false when there is none or it is answered */
  reply(ctx: MsgContext, code: number, reason: string, headers?: string[]): boolean;
  /** stateful reply when ctx has a transaction, null otherwise (sl's send_reply) */
  replyIfTransaction(ctx: MsgContext, code: number, reason: string): boolean | null;
  /** t_on_failure() from a module (dispatcher failover) */
  onFailure(ctx: MsgContext, route: string): void;
  /** t_is_canceled() */
  isCanceled(ctx: MsgContext): boolean;
  /** the transaction of ctx exists */
  hasTransaction(ctx: MsgContext): boolean;
  /** final reply code of the failure in failure_route, of the reply in onreply_route, else the status sent */
  replyCode(ctx: MsgContext): number;
  /**
   * Send a request of our own (e.g. OPTIONS probe) and get its final reply code: the downstream
   * reply, 408 when nothing came within fr_timer, 478 when the next hop does not resolve.
   */
  sendRequest(req: UacRequest): Promise<UacResult>;
  /** tm.stats figures */
  stats(): Record<string, number>;
}

export function makeApi(tm: TmEngine, replyCode: (ctx: MsgContext) => number): TmApi {
  return {
    relay: (ctx, target) =>
      tRelay(tm, ctx, target ? relayOpts(target.host, target.port, target.proto ?? null) : { target: null, proto: null }),
    newTran: (ctx) => newTran(tm, ctx),
    reply: (ctx, code, reason, headers) => {
      const tx = boundTx(ctx);
      return tx !== undefined && localReply(tm, tx, code, reason, headers);
    },
    replyIfTransaction: (ctx, code, reason) => {
      const tx = boundTx(ctx);
      if (tx === undefined) return null;
      const ok = localReply(tm, tx, code, reason, ctx.getExt<string[]>('core.replyHeaders'));
      if (ok) ctx.replied = true;
      return ok;
    },
    onFailure: (ctx, route) => {
      const tx = boundTx(ctx);
      if (tx !== undefined) tx.onFailure = route;
      else pendingHooks(ctx).onFailure = route;
    },
    isCanceled: (ctx) => boundTx(ctx)?.canceled === true,
    hasTransaction: (ctx) => boundTx(ctx) !== undefined,
    replyCode,
    sendRequest: (req) => sendRequest(tm, req),
    stats: () => tm.stats(),
  };
}
