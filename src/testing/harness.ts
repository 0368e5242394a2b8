// `tser test`'s engine: the config runs in a real Server whose sockets are loopback
// ephemeral ones advertising the configured addresses, with every send captured instead
// of sent (nothing leaves the machine, no DNS: host names come from the case file's `dns`
// map). The modules' databases are one embedded text:// store in a temp dir, created with
// the Kamailio schema and seeded from the case file. Messages are fed to the receive path.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { ReplyOptions } from '../core/core-api.js';
import { defineModule } from '../core/module-api.js';
import type { MsgContext } from '../script/context.js';
import type { CompiledRoute, Script } from '../script/script.js';
import { Server } from '../core/server.js';
import type { Db, DbRow } from '../db/db.js';
import { openDb } from '../db/open.js';
import { createSchema } from '../db/schema.js';
import { SipMessage } from '../sip/index.js';
import { parseListen } from '../transport/listen.js';
import type { Destination, ListenSocket, ReceiveInfo } from '../transport/types.js';
import type { CaseFile, TestCase } from './case-file.js';

/** what the proxy did with one message */
export interface Outcome {
  /** the request's context after the script ran (PVs, flags), null when no route ran */
  ctx: MsgContext | null;
  /** routes entered, in order: name and where the route block is */
  routes: { name: string; at: string }[];
  /** replies sent upstream: stateless (sl) and by transactions (tm) */
  replies: { code: number; reason: string; text: string | null; headers: string[] }[];
  /** requests sent downstream */
  requests: { ruri: string; method: string; dest: string; text: string }[];
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

class CapturingServer extends Server {
  sink: Outcome = { ctx: null, routes: [], replies: [], requests: [] };
  dns: Record<string, string> = {};

  override send(dest: Destination, data: Buffer, _from?: ListenSocket): Promise<boolean> {
    const text = data.toString('latin1');
    const start = text.slice(0, text.indexOf('\r\n'));
    const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start);
    if (m) this.sink.replies.push({ code: Number(m[1]), reason: m[2], text, headers: [] });
    else {
      const r = /^(\S+) (\S+) SIP\/2\.0$/.exec(start);
      this.sink.requests.push({ method: r?.[1] ?? '', ruri: r?.[2] ?? '', dest: `${dest.ip}:${dest.port}`, text });
    }
    return Promise.resolve(true);
  }

  override replyNow(_msg: SipMessage, _rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): boolean {
    this.sink.replies.push({ code, reason, text: null, headers: [...(opts.headers ?? [])] });
    return true;
  }

  override sendReply(msg: SipMessage, rcv: ReceiveInfo, code: number, reason: string, opts: ReplyOptions = {}): Promise<boolean> {
    return Promise.resolve(this.replyNow(msg, rcv, code, reason, opts));
  }

  /** IP literals as written; host names only from the case file's dns map (no DNS) */
  override resolveUri(uri: string): Promise<Destination | null> {
    const m = /^(?:sips?:)?(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?([^>]*)/i.exec(uri.trim());
    if (!m) return Promise.resolve(null);
    const host = m[1].replace(/^\[|\]$/g, '');
    const proto = /;transport=tcp/i.test(m[3] ?? '') ? 'tcp' : 'udp';
    const mapped = isIP(host) ? `${host}:${m[2] ?? 5060}` : this.dns[host.toLowerCase()];
    if (!mapped) return Promise.resolve(null);
    const [ip, port] = mapped.includes(':') && !mapped.includes('::') ? mapped.split(':') : [mapped, m[2] ?? '5060'];
    return Promise.resolve({ proto, ip, port: Number(port) });
  }
}

export class TestHarness {
  private constructor(
    readonly server: CapturingServer,
    readonly db: Db,
    private readonly dir: string,
    /** the config and its includes, for pointing failures at lines */
    readonly files: readonly string[],
  ) {}

  /** "file:line" of the script's calls that send this reply code (sl_send_reply, t_reply, send_reply…) */
  replySites(code: number): string[] {
    const out: string[] = [];
    const re = new RegExp(`\\b(sl_send_reply|send_reply|t_reply|sl_reply|append_to_reply|auth_challenge|www_challenge|proxy_challenge)\\s*\\(\\s*"?${code}\\b`);
    const challenge = code === 401 || code === 407 ? /\b(auth_challenge|www_challenge|proxy_challenge)\s*\(/ : null;
    for (const f of this.files) {
      let lines: string[];
      try {
        lines = readFileSync(f, 'utf8').split('\n');
      } catch {
        continue;
      }
      lines.forEach((l, i) => {
        if (!/^\s*#/.test(l) && (re.test(l) || challenge?.test(l))) out.push(`${f}:${i + 1}`);
      });
    }
    return out;
  }

  /**
   * Load the config with its databases replaced by an embedded store seeded from the case
   * file, start it on loopback sockets. Throws with the config's diagnostics on errors.
   */
  static async start(file: string, cases: CaseFile, opts: { defines?: Map<string, string | true>; log: Logger }): Promise<TestHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'tser-test-'));
    const url = `text://${dir}`;
    const db = openDb(url, opts.log);
    try {
      await createSchema(db);
      for (const u of cases.users)
        await db.insert('subscriber', { username: u.username, domain: u.domain, password: u.password, ha1: md5(`${u.username}:${u.domain}:${u.password}`), ha1b: md5(`${u.username}@${u.domain}:${u.domain}:${u.password}`) });
      let id = 1;
      for (const g of cases.dispatcher) await db.insert('dispatcher', { id: id++, setid: g.setid, destination: g.destination, flags: g.flags, priority: g.priority, attrs: g.attrs, description: '' });
      const cfg = await loadConfig(file, { defines: opts.defines });
      if (cfg.bag.hasErrors || !cfg.script) throw new Error(cfg.bag.format() || `cannot load ${file}`);
      useStore(cfg, url, cases.dispatcher.length > 0);
      cfg.modules.push({ def: probe, params: {}, explicit: new Set(), holder: { state: null }, loc: null });
      const server = new CapturingServer(cfg, { listen: loopbackListen(cfg), log: opts.log });
      server.dns = cases.dns;
      await server.start();
      traceRoutes(server.script(), server);
      const h = new TestHarness(server, db, dir, cfg.parsed?.files ?? [file]);
      for (const r of cases.registrations) await h.rpc('ul.add', [r.table, r.aor, r.contact, r.expires]);
      return h;
    } catch (e) {
      await db.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** an RPC method of a loaded module (seeding registrations) */
  async rpc(method: string, params: (string | number)[]): Promise<unknown> {
    for (const inst of this.server.modules.values()) {
      const spec = inst.def.rpc?.[method];
      if (spec) return spec.run(inst.holder.state, params);
    }
    throw new Error(`${method}: no loaded module has it (load usrloc to seed registrations)`);
  }

  /** feed one case's message (and its digest-auth retry) and collect what happened */
  async run(c: TestCase): Promise<Outcome> {
    const out: Outcome = { ctx: null, routes: [], replies: [], requests: [] };
    const text = messageText(c);
    SipMessage.parse(Buffer.from(text, 'latin1')); // a malformed case message is the case's error, not the proxy's
    await this.feed(text, c, out);
    const last = out.replies[out.replies.length - 1];
    if (c.auth && last && (last.code === 401 || last.code === 407)) {
      const challenge = headerOf(last, last.code === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate');
      if (challenge) {
        out.replies.length = 0;
        out.requests.length = 0;
        await this.feed(withCredentials(text, c, challenge, last.code), c, out);
      }
    }
    return out;
  }

  private async feed(text: string, c: TestCase, out: Outcome): Promise<void> {
    this.server.sink = out;
    const seen = this.probeState();
    seen.last = null;
    const local = this.server.listens().find((s) => s.proto === c.source.proto) ?? this.server.listens()[0];
    const rcv: ReceiveInfo = { proto: c.source.proto, srcIp: c.source.ip, srcPort: c.source.port, local, connId: null, time: Date.now() };
    this.server.receive(Buffer.from(text, 'latin1'), rcv);
    await settle(this.server);
    out.ctx = seen.last;
  }

  private probeState(): ProbeState {
    return this.server.modules.get(PROBE)!.holder.state as ProbeState;
  }

  /** a table of the embedded store, after usrloc's write-back (db_mode 2) has been flushed */
  async rows(table: string): Promise<DbRow[]> {
    if (this.server.modules.has('usrloc')) await this.rpc('ul.flush', []).catch(() => undefined);
    return this.db.query(table);
  }

  async stop(): Promise<void> {
    await this.server.stop().catch(() => undefined);
    await this.db.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** a route's name as a case file writes it: request_route, NAME, failure_route[NAME] … */
function routeLabel(r: CompiledRoute, table: string): string {
  if (table === 'named') return r.name;
  if (table === 'request' || table === 'reply' || table === 'onsend') return `${table}_route`;
  return `${table}_route[${r.name}]`;
}

/**
 * Record every route entered into the running case's outcome: each compiled route's exec
 * is wrapped once (route() calls look exec up when they run, so calls are traced too).
 */
function traceRoutes(script: Script, server: CapturingServer): void {
  const t = script.routes;
  const wrap = (r: CompiledRoute | null, table: string) => {
    if (!r) return;
    const exec = r.exec;
    const entry = { name: routeLabel(r, table), at: `${r.loc.source}:${r.loc.start.line}` };
    r.exec = (ctx) => {
      server.sink.routes.push(entry);
      return exec(ctx);
    };
  };
  wrap(t.request, 'request');
  wrap(t.reply, 'reply');
  wrap(t.onsend, 'onsend');
  for (const [table, m] of [['named', t.named], ['failure', t.failure], ['onreply', t.onreply], ['branch', t.branch], ['event', t.event]] as const) for (const r of m.values()) wrap(r, table);
}

const PROBE = 'tser_test_probe';
interface ProbeState {
  last: MsgContext | null;
}

/** the last request hook: keeps the context the request route runs on (PVs, flags after it) */
const probe = defineModule({
  name: PROBE,
  doc: 'tser test: keeps the request context',
  params: {},
  functions: {},
  hooks: {
    request: (ctx: MsgContext, st: ProbeState) => {
      st.last = ctx;
      return 'continue';
    },
  },
  init: (): ProbeState => ({ last: null }),
});

/** wait until the message is handled: nothing in flight and no new output for a few turns */
async function settle(server: CapturingServer): Promise<void> {
  let quiet = 0;
  let seen = -1;
  for (let i = 0; i < 400 && quiet < 3; i++) {
    await new Promise((r) => setTimeout(r, i < 20 ? 0 : 5));
    const n = server.sink.replies.length + server.sink.requests.length;
    quiet = server.inflightCount === 0 && n === seen ? quiet + 1 : 0;
    seen = n;
  }
}

/** every module's db_url points at the embedded store; dispatcher reads its table there */
function useStore(cfg: LoadedConfig, url: string, gateways: boolean): void {
  for (const m of cfg.modules) {
    if ('db_url' in m.params && (m.params.db_url !== '' || (gateways && m.def.name === 'dispatcher'))) m.params.db_url = url;
    if (gateways && m.def.name === 'dispatcher' && 'list_file' in m.params) m.params.list_file = '';
  }
}

/** loopback sockets on free ports advertising the configured addresses (so `myself` holds) */
function loopbackListen(cfg: LoadedConfig): string[] {
  const lines = (cfg.globals.get('listen') ?? []).map(String);
  const port = Number(cfg.globals.get('port')?.[0] ?? 5060);
  const out: string[] = [];
  for (const line of lines.length ? lines : ['127.0.0.1']) {
    const s = parseListen(line);
    const host = s.advertise?.host ?? (s.host === '' || s.host === '*' || s.host === '0.0.0.0' ? '127.0.0.1' : s.host);
    const p = s.advertise?.port ?? s.port ?? port;
    for (const proto of s.protos) out.push(`${proto}:127.0.0.1:0 advertise ${host}:${p}`);
  }
  return [...new Set(out)];
}

function crlf(text: string): string {
  const t = text.replace(/\r?\n/g, '\r\n');
  const sep = t.indexOf('\r\n\r\n');
  return sep < 0 ? `${t.replace(/(\r\n)*$/, '')}\r\n\r\n` : t;
}

const uriOf = (s: string) => (s.includes('<') ? s : `<${s}>`);

/** the case's message as wire text */
export function messageText(c: TestCase): string {
  if (c.raw !== null) return crlf(c.raw);
  const r = c.request!;
  const tag = randomBytes(4).toString('hex');
  const lines = [
    `${r.method} ${r.ruri} SIP/2.0`,
    `Via: SIP/2.0/${c.source.proto.toUpperCase()} ${c.source.ip}:${c.source.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    `From: ${uriOf(r.from)};tag=${tag}`,
    `To: ${uriOf(r.to)}`,
    `Call-ID: ${randomBytes(8).toString('hex')}@tser.test`,
    `CSeq: 1 ${r.method}`,
    'Max-Forwards: 70',
  ];
  if (/^(INVITE|REGISTER|SUBSCRIBE)$/.test(r.method)) lines.push(`Contact: <sip:${/sip:([^@>;]+)@/.exec(r.from)?.[1] ?? 'test'}@${c.source.ip}:${c.source.port}>`);
  // a header the case gives replaces the generated one of that name
  const given = new Set(r.headers.map((h) => h.slice(0, Math.max(0, h.indexOf(':'))).trim().toLowerCase()));
  const kept = lines.filter((l, i) => i === 0 || !given.has(l.slice(0, l.indexOf(':')).toLowerCase()));
  lines.length = 0;
  lines.push(...kept, ...r.headers);
  lines.push(`Content-Length: ${Buffer.byteLength(r.body, 'latin1')}`);
  return `${lines.join('\r\n')}\r\n\r\n${r.body}`;
}

function headerOf(reply: Outcome['replies'][number], name: string): string | null {
  const lc = name.toLowerCase();
  for (const h of reply.headers) {
    const i = h.indexOf(':');
    if (i > 0 && h.slice(0, i).trim().toLowerCase() === lc) return h.slice(i + 1).trim();
  }
  if (reply.text) {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im').exec(reply.text);
    if (m) return m[1].trim();
  }
  return null;
}

/** the request again with a digest answer to the challenge (RFC 2617/3261 §22.4, MD5) */
function withCredentials(text: string, c: TestCase, challenge: string, code: number): string {
  const param = (k: string) => new RegExp(`${k}="?([^",]+)"?`, 'i').exec(challenge)?.[1] ?? '';
  const realm = param('realm');
  const nonce = param('nonce');
  const qop = /qop="?[^"]*\bauth\b/i.test(challenge) ? 'auth' : '';
  const start = text.slice(0, text.indexOf('\r\n'));
  const [method, uri] = start.split(' ');
  const ha1 = md5(`${c.auth!.username}:${realm}:${c.auth!.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const cnonce = randomBytes(4).toString('hex');
  const nc = '00000001';
  const response = qop ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
  const cred = `Digest username="${c.auth!.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5${qop ? `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"` : ''}`;
  const hdr = code === 401 ? 'Authorization' : 'Proxy-Authorization';
  return text
    .replace(/^CSeq:\s*(\d+)/im, (_m, n: string) => `CSeq: ${Number(n) + 1}`)
    .replace(/;branch=([^;\r\n]+)/, `;branch=z9hG4bK${randomBytes(6).toString('hex')}`)
    .replace('\r\n\r\n', `\r\n${hdr}: ${cred}\r\n\r\n`);
}
