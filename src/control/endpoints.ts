// Where the control plane listens, from the config: SER's `fifo=` global (text FIFO
// protocol), jsonrpcs (JSON-RPC over FIFO / UDP / TCP), ctl (`binrpc` addresses, repeatable:
// BINRPC for kamcmd and JSON-RPC on the same socket) and mi_fifo; plus the default unix
// control socket. Network endpoints bind to loopback unless the config names an address.
import type { GlobalValue } from '../config/load.js';
import { isAbsolute, join } from 'node:path';

export type Endpoint =
  | { kind: 'fifo'; path: string; replyDir: string; mode: number; owner: string; pretty: boolean }
  | { kind: 'unix'; path: string; mode: number; owner: string; user?: string; group?: string }
  | { kind: 'tcp' | 'udp'; host: string; port: number; owner: string };

export interface EndpointInput {
  globals: ReadonlyMap<string, GlobalValue[]>;
  /** loaded modules → their parameters */
  modules: ReadonlyMap<string, Record<string, unknown>>;
  /** directory for relative socket/FIFO names and the default control socket */
  runDir: string;
  /** unix control socket path from -s / TSER_CTL_SOCKET (replaces a unix path from the config) */
  socketOverride?: string;
  /** every `modparam("ctl", "binrpc", …)` in config order (the module param keeps only the last) */
  ctlBinrpc?: readonly string[];
}

export interface EndpointPlan {
  endpoints: Endpoint[];
  /** things from the config tser cannot serve (logged at start) */
  notes: string[];
}

export const DEFAULT_SOCKET_NAME = 'tser_ctl';
/** ctl's socket when the module is loaded without a binrpc address (Kamailio: <run dir>/kamailio_ctl) */
export const CTL_DEFAULT_SOCKET_NAME = 'kamailio_ctl';
/** ctl's port for tcp:/udp: addresses without one */
export const CTL_DEFAULT_PORT = 2049;
export const DEFAULT_MODE = 0o600;

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const int = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/** "udp:host:port", "tcp:[::1]:2046", "tcp:2046", "unix:/path", "unixs:/path", "/path" */
export function parseAddress(
  text: string,
  /** protocol for "host:port" without one (a bare path is always a unix stream socket) */
  defNet: 'udp' | 'tcp',
  /** port for "tcp:host" (ctl's 2049); without it the port is required */
  defPort?: number,
):
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'udp'; host: string; port: number }
  | { kind: 'unsupported'; why: string }
  | { kind: 'bad'; why: string } {
  const m = /^(unixs|unixd|unix|udp|tcp|fifo):(.*)$/i.exec(text);
  const proto = m ? m[1].toLowerCase() : null;
  const rest = m ? m[2] : text;
  if (proto === 'unixd') return { kind: 'unsupported', why: `unix datagram socket ${rest}: not supported (use the unix stream socket)` };
  const netLike = /^(\[[^\]]+\]|[^:/]+):\d+$/.test(rest);
  if (proto === 'unix' || proto === 'unixs' || (proto === null && !netLike)) {
    if (rest === '') return { kind: 'bad', why: `empty socket path in "${text}"` };
    return { kind: 'unix', path: rest };
  }
  if (proto === 'fifo') return { kind: 'unsupported', why: `"${text}": use ctl's fifo parameter` };
  const kind = (proto ?? defNet) as 'udp' | 'tcp';
  let host = '127.0.0.1';
  let portText = rest;
  const hp = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(rest);
  if (hp) {
    host = hp[1].replace(/^\[|\]$/g, '');
    portText = hp[2]!;
  }
  if (defPort !== undefined && !hp && !/^\d+$/.test(portText)) {
    host = portText.replace(/^\[|\]$/g, '');
    portText = String(defPort);
  }
  if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return { kind: 'bad', why: `bad address "${text}" (want ${kind}:host:port)` };
  if (host === 'localhost') host = '127.0.0.1';
  if (host === '*') host = '0.0.0.0'; // explicit "all addresses"
  return { kind, host, port: Number(portText) };
}

export function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

export function planEndpoints(input: EndpointInput): EndpointPlan {
  const out: EndpointPlan = { endpoints: [], notes: [] };
  const g = (n: string) => input.globals.get(n)?.[0];
  const inRunDir = (p: string) => (isAbsolute(p) ? p : join(input.runDir, p));
  const dirOf = (p: string) => (p.endsWith('/') ? p : `${p}/`);

  // SER 0.9 core FIFO (text protocol; JSON-RPC documents are recognised there too)
  const fifo = str(g('fifo'));
  if (fifo) {
    out.endpoints.push({
      kind: 'fifo',
      path: fifo,
      replyDir: dirOf(str(g('fifo_dir')) || '/tmp/'),
      mode: int(g('fifo_mode'), DEFAULT_MODE),
      owner: 'core fifo',
      pretty: false,
    });
  }

  const mi = input.modules.get('mi_fifo');
  if (mi && str(mi.fifo_name)) {
    out.endpoints.push({
      kind: 'fifo',
      path: inRunDir(str(mi.fifo_name)),
      replyDir: dirOf(str(mi.reply_dir) || '/tmp/'),
      mode: int(mi.fifo_mode, DEFAULT_MODE),
      owner: 'mi_fifo',
      pretty: false,
    });
  }

  const js = input.modules.get('jsonrpcs');
  if (js) {
    const transport = int(js.transport, 6);
    const on = (bit: number) => transport === 0 || (transport & bit) !== 0;
    const pretty = int(js.pretty_format, 1) !== 0;
    if (on(2) && str(js.fifo_name)) {
      out.endpoints.push({
        kind: 'fifo',
        path: inRunDir(str(js.fifo_name)),
        replyDir: dirOf(str(js.fifo_reply_dir) || '/tmp/'),
        mode: int(js.fifo_mode, DEFAULT_MODE),
        owner: 'jsonrpcs',
        pretty,
      });
    }
    if (on(4) && str(js.dgram_socket)) {
      const a = parseAddress(str(js.dgram_socket), 'udp');
      if (a.kind === 'udp') out.endpoints.push({ kind: 'udp', host: a.host, port: a.port, owner: 'jsonrpcs dgram_socket' });
      else if (a.kind === 'unix') out.notes.push(`jsonrpcs dgram_socket ${a.path}: unix datagram sockets are not supported, use udp:ADDR:PORT or the control socket`);
      else out.notes.push(`jsonrpcs dgram_socket: ${'why' in a ? a.why : 'tcp is not a datagram socket'}`);
    }
    if (on(8) && str(js.tcp_socket)) {
      const a = parseAddress(str(js.tcp_socket), 'tcp');
      if (a.kind === 'tcp') out.endpoints.push({ kind: 'tcp', host: a.host, port: a.port, owner: 'jsonrpcs tcp_socket' });
      else if (a.kind === 'unix') out.endpoints.push({ kind: 'unix', path: inRunDir(a.path), mode: DEFAULT_MODE, owner: 'jsonrpcs tcp_socket' });
      else out.notes.push(`jsonrpcs tcp_socket: ${'why' in a ? a.why : 'udp is not a stream'}`);
    }
  }

  // the control socket: ctl's binrpc addresses when configured, else the default path
  const ctl = input.modules.get('ctl');
  const mode = ctl ? int(ctl.mode, DEFAULT_MODE) : DEFAULT_MODE;
  const perms = ctl ? { ...(str(ctl.user) ? { user: str(ctl.user) } : {}), ...(str(ctl.group) ? { group: str(ctl.group) } : {}) } : {};
  let unixPath: string | null = inRunDir(DEFAULT_SOCKET_NAME);
  if (ctl) {
    const given = input.ctlBinrpc ?? (str(ctl.binrpc) ? [str(ctl.binrpc)] : []);
    let replaced = false;
    for (const text of given) {
      const a = parseAddress(text, 'udp', CTL_DEFAULT_PORT);
      if (a.kind === 'unix') {
        // the first unix address is the control socket (tserctl's too); others are extra
        if (!replaced) unixPath = inRunDir(a.path); // -s / TSER_CTL_SOCKET replaces it below
        else out.endpoints.push({ kind: 'unix', path: inRunDir(a.path), mode, owner: 'ctl binrpc', ...perms });
        replaced = true;
      } else if (a.kind === 'tcp' || a.kind === 'udp') {
        out.endpoints.push({ kind: a.kind, host: a.host, port: a.port, owner: 'ctl binrpc' });
        if (!replaced) unixPath = null;
      } else if ('why' in a) out.notes.push(`ctl binrpc: ${a.why}${replaced ? '' : '; using the default control socket'}`);
    }
    if (given.length === 0) out.endpoints.push({ kind: 'unix', path: inRunDir(CTL_DEFAULT_SOCKET_NAME), mode, owner: 'ctl binrpc (default)', ...perms });
  }
  if (ctl && str(ctl.fifo)) {
    const f = str(ctl.fifo).replace(/^fifo:/i, '');
    out.endpoints.push({ kind: 'fifo', path: f, replyDir: '/tmp/', mode, owner: 'ctl fifo', pretty: false });
  }
  if (input.socketOverride) unixPath = input.socketOverride;
  if (unixPath) out.endpoints.push({ kind: 'unix', path: unixPath, mode, owner: 'control socket', ...perms });
  return out;
}

export function describeEndpoint(e: Endpoint): string {
  switch (e.kind) {
    case 'fifo':
      return `fifo:${e.path}`;
    case 'unix':
      return `unix:${e.path}`;
    default:
      return `${e.kind}:${e.host}:${e.port}`;
  }
}
