// Raw-UDP REGISTERs for the auth end-to-end tests that need exact control over what is sent
// (replays, retransmissions, guessing): build a REGISTER, send it, wait for the final reply.
import { answer, parseChallenge } from './helpers.js';
import { header, request, statusOf, type UdpPeer } from '../helpers/sip-client.js';

export interface RegisterOpts {
  user: string;
  port: number;
  callId: string;
  cseq: number;
  branch?: string;
  auth?: string;
}

/** a REGISTER for user@127.0.0.1 from `peer`, its Contact on the peer's port */
export function register(peer: UdpPeer, o: RegisterOpts): string {
  return request({
    method: 'REGISTER',
    ruri: `sip:127.0.0.1:${o.port}`,
    port: peer.port,
    callId: o.callId,
    cseq: o.cseq,
    branch: o.branch,
    fromTag: 'f1',
    from: `<sip:${o.user}@127.0.0.1>`,
    to: `<sip:${o.user}@127.0.0.1>`,
    extra: o.auth ? [`Authorization: ${o.auth}`, 'Expires: 600'] : ['Expires: 600'],
  });
}

/** send and wait for the final (≥ 200) reply with this Call-ID */
export async function finalReply(peer: UdpPeer, text: string, port: number, ms = 3000): Promise<string> {
  const callId = /Call-ID: (\S+)/.exec(text)![1]!;
  await peer.send(text, port);
  return (await peer.next((m) => statusOf(m.text) >= 200 && m.text.includes(`Call-ID: ${callId}`), ms)).text;
}

/** the challenge params of a 401 */
export function challengeOf(reply: string): Record<string, string> {
  return parseChallenge(`WWW-Authenticate: ${header(reply, 'WWW-Authenticate')!}`);
}

/** the Authorization value answering `ch` for a REGISTER to the proxy */
export function answerRegister(ch: Record<string, string>, user: string, password: string, port: number, nc?: number): string {
  return answer({ user, password, ch, method: 'REGISTER', uri: `sip:127.0.0.1:${port}`, qop: ch.qop ? 'auth' : null, nc });
}
