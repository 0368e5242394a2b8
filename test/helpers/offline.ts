// Run a routing script on a SIP message without sockets: a fake CoreApi records what the
// script did (replies, forwards). Used by compiler/runtime tests.
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { CoreApi, ReplyOptions } from '../../src/core/core-api.js';
import { runRouteOn } from '../../src/script/run-route.js';
import { initOrder } from '../../src/core/module-runtime.js';
import { Stats } from '../../src/core/stats.js';
import { Route } from '../../src/core/module-api.js';
import { MsgContext } from '../../src/script/context.js';
import type { Script } from '../../src/script/script.js';
import { SipMessage } from '../../src/sip/index.js';
import type { ListenSocket, ReceiveInfo } from '../../src/transport/types.js';

export interface Recorded {
  replies: { code: number; reason: string; headers?: string[] }[];
  forwards: { target: string | null; ruri: string; du: string | null }[];
}

/** the proxy's one socket in offline runs */
export const local: ListenSocket = {
  proto: 'udp',
  ip: '127.0.0.1',
  port: 5060,
  af: 4,
  advertiseHost: '127.0.0.1',
  advertisePort: 5060,
  id: 'udp:127.0.0.1:5060',
};

export function fakeCore(script: () => Script, rec: Recorded): CoreApi {
  const log = pino({ level: 'silent' });
  const core: CoreApi = {
    log,
    dialect: 'kamailio',
    stats: new Stats(),
    startTime: Date.now(),
    script,
    listens: () => [local],
    socketFor: () => local,
    isMyself: (host, port) => (host === '127.0.0.1' || host === 'proxy.test') && (port ?? 5060) === 5060,
    runRoute: (sc, route, msg, rcv, prepare) => runRouteOn(core, sc, route, msg, rcv, prepare),
    send: async () => true,
    replyDestination: () => ({ proto: 'udp', ip: '127.0.0.1', port: 5070 }),
    forward: async (ctx, target) => {
      rec.forwards.push({ target, ruri: ctx.ruri, du: ctx.dstUri });
      return true;
    },
    forceRport: () => undefined,
    sendReply: async (_m, _r, code, reason, opts?: ReplyOptions) => {
      rec.replies.push({ code, reason, headers: opts?.headers });
      return true;
    },
    replyNow: (_m, _r, code, reason, opts?: ReplyOptions) => {
      rec.replies.push({ code, reason, headers: opts?.headers });
      return true;
    },
    localToTag: () => 'tag1',
    isLocalToTag: (t) => t === 'tag1',
    resolveUri: async () => ({ proto: 'udp', ip: '127.0.0.1', port: 5080 }),
    viaFor: (_s, b) => `SIP/2.0/UDP 127.0.0.1:5060;branch=${b}`,
    globalParam: () => undefined,
    setLogLevel: () => undefined,
  };
  return core;
}

export async function compile(cfg: string): Promise<Script> {
  const loaded = await loadConfig('test.cfg', { text: cfg });
  if (loaded.bag.hasErrors || !loaded.script) throw new Error(loaded.bag.format());
  // modules start in dependency order against a fake core; a dependency's api is bound
  const apis = new Map<string, unknown>();
  for (const m of initOrder(loaded.modules)) {
    m.holder.state = await m.def.init({
      params: m.params as never,
      log: pino({ level: 'silent' }),
      core: fakeCore(() => loaded.script!, { replies: [], forwards: [] }),
      dialect: loaded.dialect!.dialect,
      bindApi: <T>(name: string) => apis.get(name) as T | undefined,
    });
    if (m.def.api) apis.set(m.def.name, m.def.api(m.holder.state));
  }
  return loaded.script;
}

export function sipRequest(opts: { method?: string; ruri?: string; extra?: string[]; toTag?: string } = {}): SipMessage {
  const method = opts.method ?? 'INVITE';
  const text = [
    `${method} ${opts.ruri ?? 'sip:bob@example.com'} SIP/2.0`,
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1234',
    'From: "Alice" <sip:alice@example.com>;tag=ft1',
    `To: <sip:bob@example.com>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    'Call-ID: call-1@test',
    `CSeq: 7 ${method}`,
    'Max-Forwards: 70',
    ...(opts.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return SipMessage.parse(Buffer.from(text, 'latin1'));
}

/** run the request route on a message; returns what the script did */
export async function runRequest(script: Script, msg: SipMessage, srcIp = '10.0.0.5'): Promise<Recorded & { ctx: MsgContext; rc: number }> {
  const rec: Recorded = { replies: [], forwards: [] };
  const rcv: ReceiveInfo = { proto: 'udp', srcIp, srcPort: 5070, local, connId: null, time: Date.now() };
  const ctx = new MsgContext(msg, rcv, script, fakeCore(() => script, rec), Route.REQUEST);
  const rc = await script.run(script.routes.request!, ctx);
  return { ...rec, ctx, rc };
}
