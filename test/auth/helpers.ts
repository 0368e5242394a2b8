// Unit-test fixtures for the auth modules: a MsgContext over a constructed SIP request with
// a fake core that records replies, and a small digest client that answers challenges.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { CoreApi, ReplyOptions } from '../../src/core/core-api.js';
import type { Dialect } from '../../src/core/dialect.js';
import { Route } from '../../src/core/module-api.js';
import { Stats } from '../../src/core/stats.js';
import { MsgContext } from '../../src/script/context.js';
import { VarStore } from '../../src/script/pv.js';
import { emptyRouteTables, Script } from '../../src/script/script.js';
import { SipMessage } from '../../src/sip/index.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import { computeHa1, computeResponse, parseAlgorithm } from '../../modules/auth/digest.js';

export interface SentReply {
  code: number;
  reason: string;
  headers: string[];
}

export interface FakeCore {
  core: CoreApi;
  replies: SentReply[];
  stats: Stats;
}

export function fakeCore(dialect: Dialect = 'kamailio'): FakeCore {
  const replies: SentReply[] = [];
  const stats = new Stats();
  const log = pino({ level: 'silent' });
  const core = {
    log,
    dialect,
    stats,
    startTime: Date.now(),
    sendReply: async (_m: SipMessage, _r: ReceiveInfo, code: number, reason: string, opts?: ReplyOptions) => {
      replies.push({ code, reason, headers: opts?.headers ?? [] });
      return true;
    },
  } as unknown as CoreApi;
  return { core, replies, stats };
}

const rcv: ReceiveInfo = {
  proto: 'udp',
  srcIp: '192.0.2.10',
  srcPort: 5062,
  local: { proto: 'udp', ip: '127.0.0.1', port: 5060, af: 4, advertiseHost: '127.0.0.1', advertisePort: 5060, id: 'udp:127.0.0.1:5060' },
  connId: null,
  time: Date.now(),
};

export interface ReqOpts {
  method?: string;
  ruri?: string;
  from?: string;
  to?: string;
  toTag?: string;
  headers?: string[];
  body?: string;
}

export function sipRequest(o: ReqOpts = {}): string {
  const method = o.method ?? 'REGISTER';
  const ruri = o.ruri ?? 'sip:example.com';
  const body = o.body ?? '';
  const lines = [
    `${method} ${ruri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK' + randomBytes(4).toString('hex'),
    `From: <${o.from ?? 'sip:alice@example.com'}>;tag=f1`,
    `To: <${o.to ?? 'sip:alice@example.com'}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    'Call-ID: ' + randomBytes(6).toString('hex') + '@192.0.2.10',
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    'Contact: <sip:alice@192.0.2.10:5062>',
    ...(o.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

export function contextFor(text: string, dialect: Dialect, fc: FakeCore): MsgContext {
  const msg = SipMessage.parse(Buffer.from(text, 'latin1'));
  const script = new Script(dialect, emptyRouteTables(), new VarStore(), 'test.cfg');
  return new MsgContext(msg, rcv, script, fc.core, Route.REQUEST);
}

/** the auth-params of a challenge header line ("WWW-Authenticate: Digest realm=...") */
export function parseChallenge(line: string): Record<string, string> {
  const v = line.replace(/^[^:]+:\s*Digest\s+/i, '');
  const out: Record<string, string> = {};
  for (const m of v.matchAll(/([a-z-]+)=("((?:[^"\\]|\\.)*)"|[^,\s]+)/gi)) out[m[1]!.toLowerCase()] = m[3] ?? m[2]!;
  return out;
}

export interface AnswerOpts {
  user: string;
  password: string;
  method: string;
  uri: string;
  /** challenge params (from parseChallenge) */
  ch: Record<string, string>;
  qop?: 'auth' | 'auth-int' | null;
  nc?: number;
  cnonce?: string;
  algorithm?: string;
  body?: string;
  /** username= as sent (default user) */
  username?: string;
}

/** an Authorization/Proxy-Authorization value answering a challenge */
export function answer(o: AnswerOpts): string {
  const alg = parseAlgorithm(o.algorithm ?? o.ch.algorithm ?? 'MD5')!;
  const qop = o.qop === undefined ? (o.ch.qop ? 'auth' : null) : o.qop;
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = o.cnonce ?? 'c0ffee';
  const username = o.username ?? o.user;
  const ha1 = computeHa1(alg.base, username, o.ch.realm!, o.password);
  const response = computeResponse({ algorithm: alg, ha1, nonce: o.ch.nonce!, method: o.method, uri: o.uri, qop, nc, cnonce, body: o.body });
  let v = `Digest username="${username}", realm="${o.ch.realm}", nonce="${o.ch.nonce}", uri="${o.uri}", response="${response}"`;
  if (o.algorithm || o.ch.algorithm) v += `, algorithm=${alg.name}`;
  if (qop) v += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  return v;
}
