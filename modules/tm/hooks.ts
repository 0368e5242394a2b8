// Module hooks: requests that belong to an existing server transaction are absorbed before
// the script runs (retransmissions get the last reply again; the ACK of a negative INVITE
// final ends its retransmissions), and replies are matched to our branches by Via branch.
import type { HookResult } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { Script } from '../../src/script/script.js';
import type { SipMessage } from '../../src/sip/index.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import type { Branch } from './client-tx.js';
import type { TmEngine } from './engine.js';
import { hasMagicBranch, serverKey } from './matching.js';
import { handleReply } from './reply-in.js';
import { absorbAck, retransmitReply } from './server-tx.js';

// hot path: one key string and one Map lookup per request
export function requestHook(ctx: MsgContext, tm: TmEngine): HookResult {
  const msg = ctx.msg;
  const method = msg.method;
  if (method === 'ACK') {
    const tx = tm.servers.get(serverKey(msg, 'INVITE', tm.match));
    if (tx === undefined || !tx.isInvite || tx.uasStatus < 300) return 'continue'; // e2e ACK (2xx)
    // RFC 2543 peers: the ACK must carry the To-tag of the negative final we sent
    if (!hasMagicBranch(msg) && tx.uasToTag !== msg.to().tag) return 'continue';
    absorbAck(tm, tx);
    return 'stop';
  }
  const tx = tm.servers.get(serverKey(msg, method, tm.match));
  if (tx === undefined) return 'continue';
  retransmitReply(tm, tx);
  return 'stop';
}

export function replyHook(msg: SipMessage, rcv: ReceiveInfo, tm: TmEngine): boolean | Promise<boolean> {
  const id = msg.topVia().branch;
  if (id === null || !id.startsWith(tm.branchPrefix)) return false;
  const b = tm.clients.get(id);
  if (b === undefined) return false;
  // Kamailio runs the core reply_route before tm; `drop` there discards the reply
  const script = tm.core.script();
  const rr = script.routes.reply;
  if (rr !== null) {
    const r = tm.core.runRoute(script, rr, msg, rcv);
    if (!('code' in r)) return r.then(({ ctx }) => (Script.dropped(ctx) ? true : processReply(tm, b, msg, rcv)));
    if (Script.dropped(r.ctx)) return true;
  }
  return processReply(tm, b, msg, rcv);
}

// hot path: no closure unless the transaction is busy with an async route
function processReply(tm: TmEngine, b: Branch, msg: SipMessage, rcv: ReceiveInfo): boolean | Promise<boolean> {
  const tx = b.tx;
  let p: void | Promise<void>;
  if (tx.busy === null) {
    try {
      p = handleReply(tm, b, msg, rcv);
    } catch (e) {
      tm.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'tm: reply processing failed');
      return true;
    }
    if (p === undefined) return true;
    p = tm.track(tx, p);
  } else {
    p = tm.serialize(tx, () => handleReply(tm, b, msg, rcv));
  }
  return p === undefined ? true : p.then(consumed);
}

const consumed = (): boolean => true;
