// A small in-memory proxy for tm unit tests: the real config compiler and modules, a fake
// core that records what would be sent, and a fake clock driving tm's timer wheel, so
// retransmission and timeout behaviour is checked without real time or sockets.
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { CoreApi, ReplyOptions, RouteRun } from '../../src/core/core-api.js';
import { runRouteOn } from '../../src/script/run-route.js';
import type { Dialect } from '../../src/core/dialect.js';
import { Route } from '../../src/core/module-api.js';
import { Stats } from '../../src/core/stats.js';
import { MsgContext } from '../../src/script/context.js';
import { Script, type CompiledRoute } from '../../src/script/script.js';
import { SipMessage, buildReply } from '../../src/sip/index.js';
import type { Destination, ListenSocket, Proto, ReceiveInfo } from '../../src/transport/types.js';
import { TmEngine } from '../../modules/tm/engine.js';
import { resolveConfig, type TmParams } from '../../modules/tm/params.js';
import { replyHook, requestHook } from '../../modules/tm/hooks.js';
import { writeCfg } from '../helpers/proxy.js';

export const PROXY_PORT = 5060;

export interface Sent {
  dest: Destination;
  text: string;
  msg: SipMessage;
}

const sock: ListenSocket = {
  proto: 'udp', ip: '127.0.0.1', port: PROXY_PORT, af: 4, advertiseHost: '127.0.0.1', advertisePort: PROXY_PORT, id: 'udp:127.0.0.1:5060',
};
const tcpSock: ListenSocket = { ...sock, proto: 'tcp', id: 'tcp:127.0.0.1:5060' };

export class FakeCore implements CoreApi {
  readonly log = pino({ level: process.env.TSER_TEST_LOG ?? 'silent' });
  readonly stats = new Stats();
  readonly startTime = Date.now();
  readonly sent: Sent[] = [];
  /** stateless forwards requested through core.forward() */
  readonly forwarded: { target: string | null; method: string }[] = [];
  failSendTo = new Set<number>();
  current!: Script;
  constructor(readonly dialect: Dialect) {}
  script(): Script {
    return this.current;
  }
  runRoute(script: Script, route: CompiledRoute, msg: SipMessage, rcv: ReceiveInfo, prepare?: (ctx: MsgContext) => void): RouteRun | Promise<RouteRun> {
    return runRouteOn(this, script, route, msg, rcv, prepare);
  }
  listens(): readonly ListenSocket[] {
    return [sock, tcpSock];
  }
  socketFor(proto: Proto): ListenSocket | undefined {
    return proto === 'tcp' ? tcpSock : sock;
  }
  isMyself(host: string, port: number | null): boolean {
    return host === '127.0.0.1' && (port ?? 5060) === PROXY_PORT;
  }
  send(dest: Destination, data: Buffer): Promise<boolean> {
    if (this.failSendTo.has(dest.port)) return Promise.resolve(false);
    const text = data.toString('latin1');
    this.sent.push({ dest, text, msg: SipMessage.parse(data) });
    return Promise.resolve(true);
  }
  replyDestination(msg: SipMessage, rcv: ReceiveInfo): Destination {
    const via = msg.topVia();
    if (rcv.proto === 'tcp') return { proto: 'tcp', ip: rcv.srcIp, port: rcv.srcPort, connId: rcv.connId };
    return { proto: 'udp', ip: via.received ?? rcv.srcIp, port: via.rport ? Number(via.rport) : (via.port ?? 5060) };
  }
  forward(ctx: MsgContext, target: string | null): Promise<boolean> {
    this.forwarded.push({ target: target ?? ctx.dstUri ?? ctx.ruri, method: ctx.msg.method });
    return Promise.resolve(true);
  }
  forceRport(): void {}
  replyNow(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): boolean {
    void this.sendReply(msg, rcv, code, reason, opts);
    return true;
  }
  sendReply(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): Promise<boolean> {
    const buf = buildReply(msg, code, reason, { toTag: opts.toTag ?? this.localToTag(), headers: opts.headers });
    return this.send(this.replyDestination(msg, rcv), buf);
  }
  localToTag(): string {
    return 'sltag.1';
  }
  isLocalToTag(tag: string): boolean {
    return tag.startsWith('sltag.');
  }
  resolveUri(uri: string): Promise<Destination | null> {
    const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)(?::(\d+))?(.*)$/i.exec(uri);
    if (!m || m[1] === 'unresolvable.invalid') return Promise.resolve(null);
    const proto: Proto = /transport=tcp/i.test(m[3] ?? '') ? 'tcp' : 'udp';
    return Promise.resolve({ proto, ip: m[1]!, port: m[2] ? Number(m[2]) : 5060 });
  }
  viaFor(s: ListenSocket, branch: string): string {
    return `SIP/2.0/${s.proto === 'tcp' ? 'TCP' : 'UDP'} 127.0.0.1:${PROXY_PORT};branch=${branch}`;
  }
  globalParam(): undefined {
    return undefined;
  }
  setLogLevel(): void {}
}

export interface Harness {
  core: FakeCore;
  tm: TmEngine;
  /** advance the fake clock and run due timers */
  advance(ms: number): Promise<void>;
  /** feed a received message (text) from host:port */
  receive(text: string, fromPort: number, proto?: Proto): Promise<void>;
  /** messages sent so far to this port (and drop them from the log when take=true) */
  to(port: number): Sent[];
  take(port: number): Sent[];
  /** swap in a newly compiled config (live reload) */
  reload(cfgText: string): Promise<void>;
  scriptRuns: number;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export async function harness(cfgText: string, opts: { dialect?: Dialect; tm?: Partial<TmParams> } = {}): Promise<Harness> {
  const cfg = await loadConfig(writeCfg(cfgText));
  if (cfg.bag.hasErrors || !cfg.script || !cfg.dialect) throw new Error(`config errors:\n${cfg.bag.format()}`);
  const dialect = opts.dialect ?? cfg.dialect.dialect;
  const core = new FakeCore(dialect);
  core.current = cfg.script;
  let now = 1_000_000;
  let tm: TmEngine | null = null;
  const hooks: { plan: (typeof cfg.modules)[number] }[] = [];
  const apis = new Map<string, unknown>();
  for (const plan of cfg.modules) {
    if (plan.def.name === 'tm') {
      const params = { ...(plan.params as TmParams), ...opts.tm };
      tm = new TmEngine(core, core.log, resolveConfig(params, dialect), dialect, () => now);
      plan.holder.state = tm;
    } else {
      plan.holder.state = await plan.def.init({
        params: plan.params as never,
        log: core.log,
        core,
        dialect,
        bindApi: <T>(name: string) => apis.get(name) as T | undefined,
      });
    }
    if (plan.def.api) apis.set(plan.def.name, plan.def.api(plan.holder.state));
    hooks.push({ plan });
  }
  if (!tm) throw new Error('config does not load tm');
  const engine = tm;
  const h: Harness = {
    core,
    tm: engine,
    scriptRuns: 0,
    async advance(ms: number) {
      const end = now + ms;
      // step through the wheel so chained timers fire in order
      while (now < end) {
        now = Math.min(end, now + engine.wheel.tickMs);
        engine.wheel.run(now);
        await tick();
      }
      await tick();
    },
    async receive(text: string, fromPort: number, proto: Proto = 'udp') {
      const msg = SipMessage.parse(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'));
      const rcv: ReceiveInfo = { proto, srcIp: '127.0.0.1', srcPort: fromPort, local: proto === 'tcp' ? tcpSock : sock, connId: proto === 'tcp' ? 1 : null, time: now };
      if (!msg.isRequest) {
        const r = await replyHook(msg, rcv, engine);
        if (!r) core.forwarded.push({ target: 'by-via', method: msg.method });
        await tick();
        return;
      }
      const script = core.current;
      const ctx = new MsgContext(msg, rcv, script, core, Route.REQUEST);
      for (const { plan } of hooks) {
        const fn = plan.def.hooks?.request;
        if (!fn) continue;
        const r = await (plan.def.name === 'tm' ? requestHook(ctx, engine) : fn(ctx, plan.holder.state));
        if (r === 'stop') return;
      }
      h.scriptRuns++;
      await script.run(script.routes.request!, ctx);
      await tick();
    },
    to(port: number) {
      return core.sent.filter((s) => s.dest.port === port);
    },
    take(port: number) {
      const out: Sent[] = [];
      for (let i = 0; i < core.sent.length; ) {
        if (core.sent[i]!.dest.port === port) out.push(...core.sent.splice(i, 1));
        else i++;
      }
      return out;
    },
    async reload(text: string) {
      const holders = new Map(cfg.modules.map((p) => [p.def.name, p.holder]));
      const c2 = await loadConfig(writeCfg(text), { holders });
      if (c2.bag.hasErrors || !c2.script) throw new Error(c2.bag.format());
      core.current = c2.script;
    },
  };
  return h;
}

// ---- message builders ----

let seq = 0;
export interface ReqOpts {
  method?: string;
  ruri?: string;
  branch?: string;
  callId?: string;
  cseq?: number;
  fromTag?: string;
  toTag?: string;
  port?: number;
  extra?: string[];
  via?: string;
}

/** a request from a UA at 127.0.0.1:<port> */
export function req(o: ReqOpts = {}): string {
  const method = o.method ?? 'INVITE';
  const port = o.port ?? 7000;
  const via = o.via ?? `SIP/2.0/UDP 127.0.0.1:${port};branch=${o.branch ?? `z9hG4bKc${++seq}`}`;
  return [
    `${method} ${o.ruri ?? 'sip:bob@127.0.0.1:5060'} SIP/2.0`,
    `Via: ${via}`,
    'From: <sip:alice@example.com>;tag=' + (o.fromTag ?? 'ft1'),
    `To: <sip:bob@example.com>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? 'call-1'}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Max-Forwards: 70',
    `Contact: <sip:alice@127.0.0.1:${port}>`,
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** a reply to a request as received downstream: every Via echoed */
export function replyTo(request: SipMessage, code: number, reason: string, o: { toTag?: string | null; extra?: string[] } = {}): string {
  const lines = [`SIP/2.0 ${code} ${reason}`];
  for (const h of request.headers) {
    if (h.type === 1 /* VIA */) lines.push(`Via: ${h.value}`);
  }
  const to = request.header('to')!.value;
  const tag = o.toTag === undefined ? 'uas-tag' : o.toTag;
  lines.push(`From: ${request.header('from')!.value}`);
  lines.push(`To: ${to}${tag && code > 100 && !/;tag=/.test(to) ? `;tag=${tag}` : ''}`);
  lines.push(`Call-ID: ${request.callId()}`);
  lines.push(`CSeq: ${request.cseq().seq} ${request.method}`);
  lines.push(...(o.extra ?? []));
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

export function status(s: Sent): number {
  return s.msg.isRequest ? 0 : s.msg.status;
}
