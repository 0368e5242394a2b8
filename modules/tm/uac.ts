// Requests tm originates itself (Kamailio t_uac / tm.t_uac_start): e.g. dispatcher's OPTIONS
// probes. One client transaction with the usual retransmission and fr timers; the outcome is
// the final reply code, 408 on timeout, 478 when the next hop does not resolve.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SipMessage } from '../../src/sip/index.js';
import { Branch } from './client-tx.js';
import { startBranch } from './client-tx-timers.js';
import { deliverLocal } from './complete.js';
import type { TmEngine } from './engine.js';
import { Timer, type UacResult } from './transaction.js';

export interface UacRequest {
  method: string;
  /** Request-URI */
  ruri: string;
  /** From URI (a tag is added); default sip:tser@<our address> */
  from?: string;
  /** To URI; default the Request-URI */
  to?: string;
  /** next hop instead of the Request-URI (outbound proxy) */
  nextHop?: string | null;
  /** extra header lines ("Name: value") */
  headers?: string[];
  body?: string;
  contentType?: string;
  callId?: string;
  cseq?: number;
}

function nameAddr(uri: string): string {
  return uri.includes('<') ? uri : `<${uri}>`;
}

export async function sendRequest(tm: TmEngine, r: UacRequest): Promise<UacResult> {
  const dest = await tm.core.resolveUri(r.nextHop ?? r.ruri);
  if (dest === null) return { code: 478, reason: 'Unresolvable destination', reply: null };
  const sock = tm.core.socketFor(dest.proto, isIP(dest.ip) === 6 ? 6 : 4);
  if (sock === undefined) return { code: 503, reason: 'No socket for destination', reply: null };
  const id = tm.newBranchId();
  const method = r.method.toUpperCase();
  const body = r.body ?? '';
  let text =
    `${method} ${r.ruri} SIP/2.0\r\n` +
    `Via: ${tm.core.viaFor(sock, id)}\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: ${nameAddr(r.from ?? `sip:tser@${sock.advertiseHost}:${sock.advertisePort}`)};tag=${randomBytes(6).toString('hex')}\r\n` +
    `To: ${nameAddr(r.to ?? r.ruri)}\r\n` +
    `Call-ID: ${r.callId ?? `${randomBytes(10).toString('hex')}@${sock.advertiseHost}`}\r\n` +
    `CSeq: ${r.cseq ?? 10} ${method}\r\n`;
  for (const h of r.headers ?? []) text += `${h.replace(/\r?\n$/, '')}\r\n`;
  if (body.length > 0 && r.contentType) text += `Content-Type: ${r.contentType}\r\n`;
  text += `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
  const buf = Buffer.from(text, 'latin1');
  const req = SipMessage.parse(buf);
  const tx = tm.createLocal(req);
  return new Promise<UacResult>((resolve) => {
    tx.local = resolve;
    tm.wheel.arm(tx.timer2, tx.isInvite ? tm.cfg.maxInvLifetime : tm.cfg.maxNoninvLifetime, Timer.LIFETIME);
    const b = new Branch(tx, 0, id, { uri: r.ruri, dstUri: r.nextHop ?? null, path: null, bflags: 0 }, dest, sock, buf);
    tx.branches.push(b);
    void startBranch(tm, b).then((ok) => {
      if (!ok) deliverLocal(tm, tx, 477, 'Sending failed', null);
    });
  });
}
