// sl: stateless replies (Kamailio/SER sl module). Also drops, before the script runs, the
// ACKs for our own stateless replies (their To-tag carries our prefix), as SER and
// Kamailio do — the seed config's `method=="ACK"` branch relies on it.
import { arg, defineModule, fnFor, Ret, REQ_FAIL_BRANCH, Route } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import type { CoreApi } from '../../src/core/core-api.js';
import type { Counter } from '../../src/core/stats.js';
import { replyCode } from './reply-code.js';

/** what tm offers sl for send_reply(): a stateful reply when a transaction exists */
export interface TmReplyApi {
  replyIfTransaction(ctx: MsgContext, code: number, reason: string): Promise<boolean> | boolean | null;
}

interface SlState {
  core: CoreApi;
  byClass: Counter[];
  sent: Counter;
  sentErr: Counter;
  failures: Counter;
  filteredAcks: Counter;
  bindTm: () => TmReplyApi | undefined;
}

// hot path: synchronous — the datagram is built now and sent in the background
export function slReply(ctx: MsgContext, st: SlState, code: number, reason: string): number {
  if (!ctx.msg.isRequest) return Ret.FALSE;
  if (ctx.msg.method === 'ACK') return Ret.OK; // never reply to an ACK
  const headers = ctx.getExt<string[]>('core.replyHeaders') ?? undefined;
  const ok = ctx.core.replyNow(ctx.msg, ctx.rcv, code, reason, { headers });
  if (!ok) {
    st.failures.value++;
    return Ret.FALSE;
  }
  ctx.replied = true;
  st.sent.value++;
  st.byClass[Math.min(6, Math.floor(code / 100))].value++;
  if (code >= 300) st.sentErr.value++;
  return Ret.OK;
}

const fn = fnFor<SlState>();

const slSendReply = fn({
  args: [replyCode(), arg.str()],
  routes: REQ_FAIL_BRANCH,
  run: (ctx, st, code, reason) => slReply(ctx, st, code, reason),
});

export default defineModule({
  name: 'sl',
  doc: 'stateless replies',
  params: {},
  init: (env): SlState => {
    const s = env.core.stats;
    let tm: TmReplyApi | undefined;
    return {
      core: env.core,
      byClass: [0, 1, 2, 3, 4, 5, 6].map((c) => s.counter('sl', c === 0 ? 'xxx_replies' : `${c}xx_replies`)),
      sent: s.counter('sl', 'sent_replies'),
      sentErr: s.counter('sl', 'sent_err_replies'),
      failures: s.counter('sl', 'failures'),
      filteredAcks: s.counter('sl', 'received_ACKs'),
      bindTm: () => (tm ??= env.bindApi<TmReplyApi>('tm')),
    };
  },
  hooks: {
    request: (ctx, st) => {
      if (ctx.msg.method !== 'ACK') return 'continue';
      const tag = ctx.msg.to().tag;
      if (tag && st.core.isLocalToTag(tag)) {
        st.filteredAcks.value++;
        return 'stop';
      }
      return 'continue';
    },
  },
  functions: {
    sl_send_reply: slSendReply,
    sl_reply: slSendReply,
    sl_reply_error: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, st) => {
        // the failing function already answered (registrar save(), auth): one reply only
        if (ctx.replied) return Ret.OK;
        const e = ctx.lastError ?? { code: 500, reason: 'Server Internal Error' };
        return slReply(ctx, st, e.code, e.reason);
      },
    }),
    send_reply: fn({
      args: [replyCode(), arg.str()],
      routes: REQ_FAIL_BRANCH | Route.ONREPLY,
      async: true,
      run: async (ctx, st, code, reason) => {
        const tm = st.bindTm();
        const r = tm ? await tm.replyIfTransaction(ctx, code, reason) : null;
        if (r === null) return slReply(ctx, st, code, reason);
        return r ? Ret.OK : Ret.FALSE;
      },
    }),
  },
});
