// The proxy core: binds the listen sockets, runs every received message through the
// current script, forwards replies statelessly by Via, and serves CoreApi to modules.
// Bad input never escapes: each message is handled inside its own error boundary.
import { randomBytes } from 'node:crypto';
import { hash53, hashHex } from './fast-hash.js';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { rootLogger } from './log.js';
import { LogLimiter } from './log-limiter.js';
import { Stats, type Counter } from './stats.js';
import { ABSORB, ADMIT, OverloadGuard, overloadLimits } from './overload.js';
import type { CoreApi, ReplyOptions, RouteRun } from './core-api.js';
import type { Dialect } from './dialect.js';
import { ModuleRuntime, type ModuleInstance } from './module-runtime.js';
import { Route } from './module-api.js';
import { resolveUri } from './resolve.js';
import { bindScript, type LoadedConfig, type ModulePlan, type GlobalValue } from '../config/load.js';
import { MsgContext } from '../script/context.js';
import { Script, type CompiledRoute } from '../script/script.js';
import { runRouteOn } from '../script/run-route.js';
import { SipMessage, buildReply, markViaText } from '../sip/index.js';
import { SipParseError } from '../sip/types.js';
import { UdpListener } from '../transport/udp.js';
import { TcpTransport } from '../transport/tcp.js';
import { expandListen, parseListen } from '../transport/listen.js';
import type { Destination, ListenSocket, Proto, ReceiveInfo } from '../transport/types.js';

export type { ModuleInstance };

export interface ServerOptions {
  /** replaces the config's listen lines (-l) */
  listen?: string[];
  log?: Logger;
}

const VERSION = '0.1.0';
const SENT = Promise.resolve(true);
const NOT_SENT = Promise.resolve(false);
export const SERVER_VERSION = VERSION;

export class Server implements CoreApi {
  readonly log: Logger;
  readonly stats = new Stats();
  readonly startTime = Date.now();
  dialect: Dialect;
  private current: Script;
  private globals: Map<string, GlobalValue[]>;
  private readonly udp: UdpListener[] = [];
  private readonly udpById = new Map<string, UdpListener>();
  private tcp: TcpTransport | null = null;
  private sockets: ListenSocket[] = [];
  private readonly myHosts = new Set<string>();
  private readonly myPorts = new Set<number>();
  private readonly runtime = new ModuleRuntime(this);
  readonly modules = this.runtime.modules;
  private readonly requestHooks = this.runtime.requestHooks;
  private readonly replyHooks = this.runtime.replyHooks;
  private inflight = 0;
  /** overload protection: admission of requests past the in-flight and queue-delay limits */
  readonly overload: OverloadGuard;
  /** salt for stateless branches and sl to-tags */
  readonly secret = randomBytes(8).toString('hex');
  private readonly tagPrefix = `${this.secret.slice(0, 8)}.`;
  private readonly seed = Number.parseInt(this.secret.slice(8, 16), 16);
  private readonly c: Record<'replyFailures' | 'received' | 'requests' | 'replies' | 'badMessages' | 'dropped' | 'fwdReplies' | 'fwdRequests' | 'sent400', Counter>;
  private stopping = false;
  /** global maxbuffer, read once per load instead of per datagram */
  private maxBuffer: number;
  /** per kind of bad input, a rate-limited warning (a flood logs a few lines, then counts) */
  private readonly badLog: Record<'oversized' | 'unparsable' | 'badMessage' | 'badRequest' | 'noReply' | 'sendFailed' | 'tcp', LogLimiter>;

  constructor(
    readonly config: LoadedConfig,
    private readonly opts: ServerOptions = {},
  ) {
    if (!config.script || !config.dialect) throw new Error('server needs a compiled config');
    this.log = opts.log ?? rootLogger();
    this.dialect = config.dialect.dialect;
    this.current = config.script;
    this.globals = config.globals;
    this.maxBuffer = maxBufferOf(this.globals);
    this.badLog = {
      oversized: new LogLimiter(this.log, 'oversized message dropped'),
      unparsable: new LogLimiter(this.log, 'unparsable message dropped'),
      badMessage: new LogLimiter(this.log, 'bad message'),
      badRequest: new LogLimiter(this.log, 'bad request'),
      noReply: new LogLimiter(this.log, 'cannot build reply'),
      sendFailed: new LogLimiter(this.log, 'send failed'),
      tcp: new LogLimiter(this.log, 'tcp'),
    };
    this.overload = new OverloadGuard(this.stats, this.log, () => this.inflight, overloadLimits((n) => this.globals.get(n)?.[0]));
    this.c = {
      received: this.stats.counter('core', 'rcv_messages'),
      requests: this.stats.counter('core', 'rcv_requests'),
      replies: this.stats.counter('core', 'rcv_replies'),
      badMessages: this.stats.counter('core', 'bad_msg_hdr'),
      dropped: this.stats.counter('core', 'drop_requests'),
      fwdReplies: this.stats.counter('core', 'fwd_replies'),
      fwdRequests: this.stats.counter('core', 'fwd_requests'),
      sent400: this.stats.counter('core', 'err_replies_400'),
      replyFailures: this.stats.counter('core', 'reply_send_failures'),
    };
  }

  // ---------------- lifecycle ----------------

  /**
   * Bind the sockets, start the modules (dependency order), compile the script against
   * them so argument fixups resolve their handles, then the modules' start hooks. A script
   * that does not compile against the started modules throws with every file:line:col.
   */
  async start(): Promise<void> {
    await this.bind();
    await this.runtime.init(this.config.modules);
    const bound = bindScript(this.config);
    if (!bound.script) throw new Error(`the config does not compile against the started modules:\n${bound.bag.format()}`);
    this.config.script = bound.script;
    this.current = bound.script;
    await this.runtime.start();
    this.log.info(
      { listen: this.sockets.map((s) => s.id), dialect: this.dialect, file: this.config.file },
      'tser started',
    );
  }

  private async bind(): Promise<void> {
    const lines = this.opts.listen?.length
      ? this.opts.listen
      : (this.globals.get('listen') ?? []).map(String);
    const defPort = Number(this.globals.get('port')?.[0] ?? 5060);
    const disableTcp = this.globals.get('disable_tcp')?.[0] === true;
    const specs = (lines.length ? lines : ['0.0.0.0']).map(parseListen);
    const wanted = specs.flatMap((s) => expandListen(s, defPort, disableTcp));
    const onErr = (e: Error) => this.log.error({ err: e.message }, 'socket error');
    for (const sock of wanted) {
      if (sock.ip === '0.0.0.0' || sock.ip === '::') sock.advertiseHost = firstAddress(sock.af) ?? sock.advertiseHost;
      if (sock.proto === 'udp') {
        const l = new UdpListener(sock, (b, r) => this.receive(b, r), onErr);
        const bound = await l.bind();
        this.udp.push(l);
        this.udpById.set(bound.id, l);
        this.sockets.push(bound);
      } else {
        this.tcp ??= new TcpTransport(
          (b, r) => this.receive(b, r),
          (e, where) => {
            if (this.badLog.tcp.allow()) this.log.warn({ err: e.message, where }, 'tcp');
          },
          (head, r) => this.oversizedReply(head, r),
        );
        // listen on TCP at the same port as the UDP socket of the same address when it was 0
        const udpTwin = this.sockets.find((s) => s.proto === 'udp' && s.ip === sock.ip && sock.port === 0);
        const bound = await this.tcp.listen(udpTwin ? { ...sock, port: udpTwin.port, advertisePort: udpTwin.port } : sock);
        this.sockets.push(bound);
      }
    }
    this.computeMyself();
    this.overload.start(this.sockets.find((s) => s.proto === 'udp'));
  }

  private computeMyself(): void {
    this.myHosts.clear();
    this.myPorts.clear();
    for (const s of this.sockets) {
      this.myPorts.add(s.port);
      this.myPorts.add(s.advertisePort);
      this.myHosts.add(s.advertiseHost.replace(/^\[|\]$/g, '').toLowerCase());
      if (s.ip === '0.0.0.0' || s.ip === '::') {
        for (const list of Object.values(networkInterfaces()))
          for (const i of list ?? []) this.myHosts.add(i.address.toLowerCase());
      } else this.myHosts.add(s.ip.toLowerCase());
    }
    this.myHosts.add(hostname().toLowerCase());
    for (const a of this.globals.get('alias') ?? []) {
      const text = String(a);
      const m = /^(?:(?:udp|tcp|tls):)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/i.exec(text);
      if (!m) continue;
      this.myHosts.add(m[1].replace(/^\[|\]$/g, '').toLowerCase());
      if (m[2]) this.myPorts.add(Number(m[2]));
    }
  }

  /** live reload: start the modules a new config adds; all of them are started, or none */
  addModules(plans: ModulePlan[]): Promise<void> {
    return this.runtime.init(plans);
  }

  /** live reload: the script did not compile against the added modules, stop them again */
  discardModules(plans: ModulePlan[]): Promise<void> {
    return this.runtime.discard(plans);
  }

  /** live reload: the added modules' start hooks, once the new script compiled */
  startAddedModules(): Promise<void> {
    return this.runtime.start();
  }

  bindApi<T>(name: string): T | undefined {
    return this.runtime.bindApi<T>(name);
  }

  /** module state holders, so a reload compiles against the running modules */
  holders(): Map<string, { state: unknown }> {
    return this.runtime.holders();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.overload.stop();
    await this.runtime.destroy();
    await Promise.all(this.udp.map((u) => u.close().catch(() => undefined)));
    await this.tcp?.close();
    for (const l of Object.values(this.badLog)) l.flush();
    this.log.info('tser stopped');
  }

  /** swap in a new script (reload); in-flight messages finish on the old one */
  swapScript(script: Script, globals?: Map<string, GlobalValue[]>): void {
    this.current = script;
    if (globals) {
      this.globals = globals;
      this.maxBuffer = maxBufferOf(globals);
      this.overload.configure(overloadLimits((n) => globals.get(n)?.[0]));
    }
  }

  // ---------------- CoreApi ----------------

  script(): Script {
    return this.current;
  }

  runRoute(script: Script, route: CompiledRoute, msg: SipMessage, rcv: ReceiveInfo, prepare?: (ctx: MsgContext) => void): RouteRun | Promise<RouteRun> {
    return runRouteOn(this, script, route, msg, rcv, prepare);
  }

  listens(): readonly ListenSocket[] {
    return this.sockets;
  }

  socketFor(proto: Proto, af: 4 | 6): ListenSocket | undefined {
    return (
      this.sockets.find((s) => s.proto === proto && s.af === af) ??
      this.sockets.find((s) => s.proto === proto) ??
      this.sockets.find((s) => s.af === af)
    );
  }

  isMyself(host: string, port: number | null, _proto?: Proto | null): boolean {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (!this.myHosts.has(h)) return false;
    return this.myPorts.has(port ?? 5060);
  }

  globalParam(name: string): string | number | boolean | null | undefined {
    return this.globals.get(name)?.[0];
  }

  setLogLevel(level: string): void {
    this.log.level = level;
  }

  send(dest: Destination, data: Buffer, from?: ListenSocket): Promise<boolean> {
    const r = this.sendAny(dest, data, from);
    return typeof r === 'boolean' ? (r ? SENT : NOT_SENT) : r;
  }

  /** UDP: handed to the kernel now, no promise (the hot path); TCP: a promise */
  private sendAny(dest: Destination, data: Buffer, from?: ListenSocket): boolean | Promise<boolean> {
    if (dest.proto === 'tcp') return this.sendTcp(dest, data, from);
    const af = isIP(dest.ip) === 6 ? 6 : 4;
    const l = from?.proto === 'udp' && from.af === af ? (this.udpById.get(from.id) ?? this.udpFor(af)) : this.udpFor(af);
    if (!l) return false;
    if (l.send(data, dest.port, dest.ip)) return true;
    if (this.badLog.sendFailed.allow()) this.log.warn({ dest: `udp:${dest.ip}:${dest.port}` }, 'send failed');
    return false;
  }

  private udpFor(af: 4 | 6): UdpListener | undefined {
    const sock = this.socketFor('udp', af);
    return (sock && this.udpById.get(sock.id)) ?? this.udp[0];
  }

  private async sendTcp(dest: Destination, data: Buffer, from?: ListenSocket): Promise<boolean> {
    try {
      if (!this.tcp) return false;
      const sock = from?.proto === 'tcp' ? from : this.socketFor('tcp', isIP(dest.ip) === 6 ? 6 : 4);
      if (!sock) return false;
      return await this.tcp.send(data, dest.ip, dest.port, dest.connId ?? null, sock);
    } catch (e) {
      if (this.badLog.sendFailed.allow()) this.log.warn({ err: (e as Error).message, dest: `${dest.proto}:${dest.ip}:${dest.port}` }, 'send failed');
      return false;
    }
  }

  replyDestination(msg: SipMessage, rcv: ReceiveInfo): Destination {
    const via = msg.topVia();
    if (rcv.proto === 'tcp') return { proto: 'tcp', ip: rcv.srcIp, port: rcv.srcPort, connId: rcv.connId };
    // RFC 3261 §18.2.2 + RFC 3581: received address, rport or Via port
    const port = via.rport ? Number(via.rport) : (via.port ?? 5060);
    const ip = via.received ?? rcv.srcIp;
    return { proto: 'udp', ip, port };
  }

  async sendReply(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): Promise<boolean> {
    const r = this.prepareReply(msg, rcv, code, reason, opts);
    return r ? this.send(r.dest, r.buf, rcv.local) : false;
  }

  replyNow(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): boolean {
    const r = this.prepareReply(msg, rcv, code, reason, opts);
    if (!r) return false;
    const sent = this.sendAny(r.dest, r.buf, rcv.local);
    if (sent === false) this.c.replyFailures.value++;
    else if (sent !== true)
      void sent.then((ok) => {
        if (!ok) this.c.replyFailures.value++;
      });
    return true;
  }

  private prepareReply(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions): { buf: Buffer; dest: Destination } | null {
    let buf: Buffer;
    let dest: Destination;
    try {
      buf = buildReply(msg, code, reason, {
        toTag: opts.toTag ?? this.toTag(msg),
        headers: opts.headers,
        body: opts.body,
        contentType: opts.contentType,
        server: this.serverHeader(),
      });
      dest = this.replyDestination(msg, rcv);
    } catch (e) {
      if (this.badLog.noReply.allow()) this.log.warn({ code, err: (e as Error).message }, 'cannot build reply');
      return null;
    }
    return { buf, dest };
  }

  private serverHeader(): string | undefined {
    if (this.globals.get('server_signature')?.[0] === false) return undefined;
    const custom = this.globals.get('server_header')?.[0];
    if (typeof custom === 'string') return custom.replace(/^Server:\s*/i, '');
    return `tser (${VERSION})`;
  }

  localToTag(msg: SipMessage): string {
    return this.toTag(msg);
  }

  isLocalToTag(tag: string): boolean {
    return tag.startsWith(this.tagPrefix);
  }

  /** stable To-tag for local replies: a fixed prefix (for sl's ACK filter) + request hash */
  toTag(msg: SipMessage): string {
    let branch = '';
    try {
      branch = msg.topVia().branch ?? '';
    } catch {
      // no usable Via: the tag only needs to be stable for this Call-ID
    }
    return `${this.tagPrefix}${hashHex(branch, hash53(msg.value('call-id') ?? '', this.seed))}`;
  }

  forceRport(msg: SipMessage, rcv: ReceiveInfo): void {
    const hf = msg.header('via');
    if (!hf) return;
    const via = msg.topVia();
    via.rport = String(rcv.srcPort);
    if (via.received === null && via.host !== rcv.srcIp) via.received = rcv.srcIp;
    replaceTopVia(msg, via);
  }

  viaFor(sock: ListenSocket, branch: string): string {
    const transport = sock.proto === 'tcp' ? 'TCP' : 'UDP';
    return `SIP/2.0/${transport} ${sock.advertiseHost}:${sock.advertisePort};branch=${branch}`;
  }

  async resolveUri(uri: string): Promise<Destination | null> {
    return resolveUri(uri);
  }

  async forward(ctx: MsgContext, target: string | null): Promise<boolean> {
    const msg = ctx.msg;
    if (!msg.isRequest) return this.forwardReply(msg);
    const uri = target ?? ctx.dstUri ?? ctx.ruri;
    const dest = await this.resolveUri(uri);
    if (!dest) {
      ctx.setError(478, 'Unresolvable destination');
      return false;
    }
    const sock = this.socketFor(dest.proto, isIP(dest.ip) === 6 ? 6 : 4);
    if (!sock) {
      ctx.setError(503, 'No socket for destination');
      return false;
    }
    const branch = this.statelessBranch(msg);
    const buf = msg.serializeRequest({ ruri: ctx.newUri ?? undefined, via: this.viaFor(sock, branch) });
    const ok = await this.send(dest, buf, sock);
    if (ok) this.c.fwdRequests.value++;
    else ctx.setError(477, 'Sending failed');
    return ok;
  }

  /** RFC 3261 §16.11: the same request (and its CANCEL) always gets the same branch */
  private statelessBranch(msg: SipMessage): string {
    const via = msg.topVia();
    let key = via.branch?.startsWith('z9hG4bK')
      ? via.branch
      : `${msg.callId()}|${msg.cseq().seq}|${msg.from().tag ?? ''}|${msg.ruri}`;
    if (msg.method === 'ACK') key += '|ACK';
    return `z9hG4bK${this.tagPrefix.slice(0, 6)}${hashHex(key, this.seed)}`;
  }

  /** a reply no module took: remove our Via, send to the next one (RFC 3261 §18.2.2) */
  private async forwardReply(msg: SipMessage): Promise<boolean> {
    const vias = msg.vias();
    const top = vias[0];
    if (!top || !this.isMyself(top.host, top.port)) {
      this.log.debug({ via: top?.host }, 'reply not for us: dropped');
      return false;
    }
    const next = vias[1];
    if (!next) return false;
    const proto: Proto = next.transport === 'TCP' || next.transport === 'TLS' ? 'tcp' : 'udp';
    const ip = next.received ?? next.host.replace(/^\[|\]$/g, '');
    let port = next.rport ? Number(next.rport) : (next.port ?? 5060);
    if (!port) port = 5060;
    const dest: Destination = isIP(ip) ? { proto, ip, port } : ((await this.resolveUri(`sip:${ip}:${port}`)) ?? { proto, ip, port });
    const ok = await this.send(dest, msg.serializeReply({ removeTopVia: true }));
    if (ok) this.c.fwdReplies.value++;
    return ok;
  }

  // ---------------- receive path ----------------

  /**
   * Entry for every received datagram / stream message (public for the receive-path fuzz
   * test). hot path: one try/catch boundary per message; no logging unless something is wrong.
   */
  receive(buf: Buffer, rcv: ReceiveInfo): void {
    this.c.received.value++;
    if (buf.length <= 4 && buf.toString('latin1').trim() === '') {
      // CRLF keepalive, or the overload guard's queue-delay probe coming back
      if (rcv.srcPort === this.overload.probePort && rcv.proto === 'udp') this.overload.probeReturned(rcv.time);
      return;
    }
    if (buf.length > this.maxBuffer) {
      this.c.badMessages.value++;
      if (this.badLog.oversized.allow()) this.log.warn({ src: `${rcv.srcIp}:${rcv.srcPort}`, len: buf.length }, 'oversized message dropped');
      return;
    }
    let msg: SipMessage;
    try {
      msg = SipMessage.parse(buf);
    } catch (e) {
      this.c.badMessages.value++;
      if (this.badLog.unparsable.allow()) this.log.warn({ src: `${rcv.srcIp}:${rcv.srcPort}`, err: (e as Error).message }, 'unparsable message dropped');
      return;
    }
    try {
      const r = msg.isRequest ? this.onRequest(msg, rcv) : this.onReply(msg, rcv);
      if (r) {
        this.inflight++;
        r.then(
          () => this.inflight--,
          (e: unknown) => {
            this.inflight--;
            this.onMessageError(msg, rcv, e);
          },
        );
      }
    } catch (e) {
      this.onMessageError(msg, rcv, e);
    }
  }

  private onMessageError(msg: SipMessage, rcv: ReceiveInfo, e: unknown): void {
    const err = e as Error;
    if (err instanceof SipParseError) {
      this.c.badMessages.value++;
      if (this.badLog.badMessage.allow()) this.log.warn({ src: `${rcv.srcIp}:${rcv.srcPort}`, err: err.message }, 'bad message');
      if (msg.isRequest && msg.method !== 'ACK') this.tryReply400(msg, rcv, err.message);
      return;
    }
    this.log.error({ src: `${rcv.srcIp}:${rcv.srcPort}`, err: err.message, stack: err.stack }, 'error while processing message');
  }

  /** 513 for a TCP message past the size limit, built from its header alone (the transport closes after) */
  private oversizedReply(head: Buffer, rcv: ReceiveInfo): Buffer | null {
    this.c.badMessages.value++;
    if (this.badLog.oversized.allow()) this.log.warn({ src: `${rcv.srcIp}:${rcv.srcPort}`, proto: 'tcp' }, 'oversized message dropped');
    try {
      // the body never came: parse the header as if it had none
      const msg = SipMessage.parse(Buffer.from(head.toString('latin1').replace(/(\r\n(?:content-length|l)[ \t]*:[ \t]*)\d+/i, (_m, name: string) => `${name}0`), 'latin1'));
      if (!msg.isRequest || msg.method === 'ACK') return null;
      return this.prepareReply(msg, rcv, 513, 'Message Too Large', {})?.buf ?? null;
    } catch {
      return null;
    }
  }

  private tryReply400(msg: SipMessage, rcv: ReceiveInfo, why: string): void {
    try {
      const reason = `Bad Request - ${why}`.replace(/[\r\n]/g, ' ').slice(0, 100);
      this.c.sent400.value++;
      void this.sendReply(msg, rcv, 400, reason);
    } catch {
      // not even enough of a message to reply to
    }
  }

  private onRequest(msg: SipMessage, rcv: ReceiveInfo): Promise<unknown> | null {
    this.c.requests.value++;
    const bad = msg.checkRequired();
    if (bad) {
      this.c.badMessages.value++;
      if (this.badLog.badRequest.allow()) this.log.warn({ src: `${rcv.srcIp}:${rcv.srcPort}`, err: bad }, 'bad request');
      if (msg.method !== 'ACK') this.tryReply400(msg, rcv, bad);
      return null;
    }
    this.markReceived(msg, rcv);
    // hot path: two integer compares unless the overload guard is watching
    const guard = this.overload;
    const watched = this.inflight >= guard.watchFrom || guard.active;
    if (watched) {
      const v = guard.screen(msg, this.inflight);
      if (v !== ADMIT) {
        if (v !== ABSORB) this.replyNow(msg, rcv, 503, 'Service Unavailable', { headers: guard.retryAfterHeaders });
        return null;
      }
    }
    const script = this.current;
    if (!script.routes.request) return null;
    const p = this.runHooksFrom(new MsgContext(msg, rcv, script, this, Route.REQUEST), 0);
    return watched && p !== null ? guard.follow(msg, p) : p;
  }

  /** the modules' request hooks from `start` on, then the request route */
  private runHooksFrom(ctx: MsgContext, start: number): Promise<unknown> | null {
    const hooks = this.requestHooks;
    for (let i = start; i < hooks.length; i++) {
      const h = hooks[i];
      const r = h.fn(ctx, h.holder.state);
      if (r === 'stop') return null;
      if (r !== 'continue') return r.then((x) => (x === 'stop' ? null : this.runHooksFrom(ctx, i + 1)));
    }
    const route = ctx.script.routes.request!;
    const r = ctx.script.run(route, ctx);
    return typeof r === 'number' ? null : r;
  }

  /** RFC 3261 §18.2.1 received, RFC 3581 rport on the top Via */
  private markReceived(msg: SipMessage, rcv: ReceiveInfo): void {
    const via = msg.topVia();
    const needReceived = via.host.replace(/^\[|\]$/g, '') !== rcv.srcIp;
    const needRport = via.rport === '';
    if (!needReceived && !needRport) return;
    if (needReceived) via.received = rcv.srcIp;
    if (needRport) {
      via.rport = String(rcv.srcPort);
      if (!needReceived) via.received = rcv.srcIp;
    }
    replaceTopVia(msg, via);
  }

  private onReply(msg: SipMessage, rcv: ReceiveInfo): Promise<unknown> | null {
    this.c.replies.value++;
    // a reply needs at least a Via, CSeq and Call-ID to go anywhere
    msg.topVia();
    msg.cseq();
    return this.replyHooksFrom(msg, rcv, 0);
  }

  private replyHooksFrom(msg: SipMessage, rcv: ReceiveInfo, start: number): Promise<unknown> | null {
    const hooks = this.replyHooks;
    for (let i = start; i < hooks.length; i++) {
      const h = hooks[i];
      const r = h.fn(msg, rcv, h.holder.state);
      if (r === true) return null;
      if (r !== false) return r.then((consumed) => (consumed ? null : this.replyHooksFrom(msg, rcv, i + 1)));
    }
    return this.statelessReply(msg, rcv);
  }

  /** core reply_route (if any), then forward by Via */
  private statelessReply(msg: SipMessage, rcv: ReceiveInfo): Promise<unknown> | null {
    const script = this.current;
    const route = script.routes.reply;
    if (route) {
      const ctx = new MsgContext(msg, rcv, script, this, Route.REPLY);
      const r = script.run(route, ctx);
      const after = () => (Script.dropped(ctx) ? null : this.forwardReply(msg));
      return typeof r === 'number' ? after() : r.then(after);
    }
    return this.forwardReply(msg);
  }

  get inflightCount(): number {
    return this.inflight;
  }
}

function maxBufferOf(globals: Map<string, GlobalValue[]>): number {
  return Number(globals.get('maxbuffer')?.[0] ?? 65535);
}

function firstAddress(af: 4 | 6): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) if (!i.internal && (af === 4 ? i.family === 'IPv4' : i.family === 'IPv6')) return i.address;
  return af === 4 ? '127.0.0.1' : '::1';
}

/** write received/rport of the top via-parm back, in place: the rest goes out as received (issue 19) */
function replaceTopVia(msg: SipMessage, via: ReturnType<SipMessage['topVia']>): void {
  const { received, rport } = via;
  via.raw = msg.editTopViaParm(via.raw, (parm) => markViaText(parm, received, rport));
}

