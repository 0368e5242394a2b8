// Transaction matching keys (RFC 3261 §17.2.3): the top Via branch (magic cookie), sent-by
// and method, ACK and CANCEL looking up their INVITE; for RFC 2543 clients (no cookie) the
// fallback key of Call-ID, CSeq number, From tag, Request-URI and top Via (Kamailio t_lookup.c).
import type { SipMessage } from '../../src/sip/index.js';

export const MAGIC = 'z9hG4bK';
const SEP = '\x1f';

export interface MatchOpts {
  /** RFC 2543 matching compares the Request-URI (Kamailio ruri_matching) */
  ruri: boolean;
  /** RFC 2543 matching compares the top Via (Kamailio via1_matching) */
  via: boolean;
}

/**
 * Key of the server transaction `msg` belongs to, as if its method were `method`
 * (pass 'INVITE' for an ACK to a negative reply or for a CANCEL looking for its INVITE).
 * hot path: string concatenation only; From is parsed only for RFC 2543 requests.
 */
export function serverKey(msg: SipMessage, method: string, opts: MatchOpts): string {
  const via = msg.topVia();
  const branch = via.branch;
  if (branch !== null && branch.startsWith(MAGIC) && branch.length > MAGIC.length) {
    return branch + SEP + via.host.toLowerCase() + ':' + (via.port ?? '') + SEP + method;
  }
  let k = 'R' + SEP + msg.callId() + SEP + msg.cseq().seq + SEP + method + SEP + (msg.from().tag ?? '');
  if (opts.ruri) k += SEP + msg.ruri;
  if (opts.via) k += SEP + via.host.toLowerCase() + ':' + (via.port ?? '') + SEP + (branch ?? '');
  return k;
}

/** true when the request carries an RFC 3261 branch (matching by branch, not by the 2543 key) */
export function hasMagicBranch(msg: SipMessage): boolean {
  const b = msg.topVia().branch;
  return b !== null && b.startsWith(MAGIC);
}

/**
 * Dialog key of an INVITE transaction (Call-ID, CSeq number, From tag): matches the
 * end-to-end ACK of its 2xx, which has a branch of its own (Kamailio t_check_trans → -2).
 */
export function inviteDialogKey(msg: SipMessage): string {
  return msg.callId() + SEP + msg.cseq().seq + SEP + (msg.from().tag ?? '');
}
