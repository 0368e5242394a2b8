// JSON-RPC and BINRPC (kamcmd) over stream sockets (unix, TCP) and UDP. Stream clients send
// one JSON document per request (newline-terminated or not) and get one JSON document + "\n"
// back, in order; a connection or datagram whose first byte is BINRPC's magic speaks BINRPC.
// Idle clients are closed; unix sockets are created with the configured mode (0600) and a
// stale socket file from a dead process is replaced, a live one never is.
import dgram from 'node:dgram';
import net from 'node:net';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { BINRPC_MAGIC, BinRpcError, encodeFault, parseHeader } from './binrpc.js';
import type { BinRpcHandler } from './binrpc-handler.js';
import { JsonFramer } from './json-scan.js';
import { errorResponse, JsonRpcCode } from './jsonrpc.js';

/** one request document in, the response text out (null: nothing to answer) */
export type DocHandler = (doc: string, transport: string) => Promise<string | null>;

export interface ServeOptions {
  log: Logger;
  /** close a connection that sends nothing for this long */
  idleTimeoutMs: number;
  maxRequestBytes: number;
  maxConnections: number;
  /** answers BINRPC packets; without it only JSON-RPC is spoken */
  binrpc?: BinRpcHandler;
}

/** an idle BINRPC connection between packets (kamcmd's interactive mode keeps one open) */
const BINRPC_IDLE_MS = 10 * 60 * 1000;

const isBinRpc = (firstByte: number | undefined) => firstByte !== undefined && firstByte >> 4 === BINRPC_MAGIC;

export interface Closable {
  readonly where: string;
  close(): Promise<void>;
}

/** BINRPC on a stream: packets framed by their header's length, answered in order */
function serveBinRpc(sock: net.Socket, transport: string, binrpc: BinRpcHandler, o: ServeOptions, first: Buffer): void {
  let buf: Buffer = first;
  let chain: Promise<void> = Promise.resolve();
  let busy = 0;
  const pump = () => {
    for (;;) {
      let h;
      try {
        h = parseHeader(buf);
      } catch (e) {
        o.log.warn({ transport, err: (e as Error).message }, 'bad BINRPC packet: connection closed');
        sock.destroy();
        return;
      }
      if (h && h.bodyLength > o.maxRequestBytes) {
        o.log.warn({ transport, bytes: h.bodyLength }, 'BINRPC request too large: refused');
        sock.end(encodeFault(h.cookie, 400, `request larger than ${o.maxRequestBytes} bytes`));
        buf = Buffer.alloc(0);
        return;
      }
      if (!h || buf.length < h.headerLength + h.bodyLength) break;
      const header = h;
      const body = buf.subarray(h.headerLength, h.headerLength + h.bodyLength);
      buf = buf.subarray(h.headerLength + h.bodyLength);
      busy++;
      chain = chain.then(async () => {
        try {
          const out = await binrpc(header, body, transport);
          if (!sock.destroyed) sock.write(out);
        } catch (e) {
          o.log.error({ transport, err: (e as Error).message }, 'control request failed');
        } finally {
          busy--;
        }
      });
    }
    // half a packet waits the normal idle time; a quiet connection between packets longer
    sock.setTimeout(buf.length > 0 ? o.idleTimeoutMs : Math.max(o.idleTimeoutMs, BINRPC_IDLE_MS));
  };
  sock.on('timeout', () => {
    if (busy > 0) return;
    o.log.debug({ transport, pending: buf.length }, 'control client idle: closed');
    sock.destroy();
  });
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    pump();
  });
  pump();
}

function serveConnection(sock: net.Socket, transport: string, handler: DocHandler, o: ServeOptions): void {
  sock.setTimeout(o.idleTimeoutMs);
  sock.on('error', (e) => o.log.debug({ transport, err: e.message }, 'control client error'));
  const binrpc = o.binrpc;
  if (!binrpc) {
    serveJson(sock, transport, handler, o);
    return;
  }
  // the first byte says which protocol the client speaks
  const sniff = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    sock.off('data', sniff);
    sock.removeAllListeners('timeout');
    if (isBinRpc(chunk[0])) serveBinRpc(sock, transport, binrpc, o, chunk);
    else {
      serveJson(sock, transport, handler, o);
      sock.emit('data', chunk);
    }
  };
  sock.on('timeout', () => sock.destroy());
  sock.on('data', sniff);
}

function serveJson(sock: net.Socket, transport: string, handler: DocHandler, o: ServeOptions): void {
  const framer = new JsonFramer(o.maxRequestBytes);
  let chain: Promise<void> = Promise.resolve();
  let busy = 0;
  sock.on('timeout', () => {
    if (busy > 0) return; // a long call (a reload) is not idleness
    o.log.debug({ transport, pending: framer.pending }, 'control client idle: closed');
    sock.destroy();
  });
  sock.on('data', (chunk: Buffer) => {
    for (const f of framer.push(chunk)) {
      if ('tooLarge' in f) {
        const r = errorResponse(null, JsonRpcCode.INVALID_REQUEST, `Invalid Request: larger than ${o.maxRequestBytes} bytes`);
        sock.end(`${JSON.stringify(r)}\n`);
        return;
      }
      busy++;
      chain = chain.then(async () => {
        try {
          const out = await handler(f.doc, transport);
          if (out !== null && !sock.destroyed) sock.write(`${out}\n`);
        } catch (e) {
          o.log.error({ transport, err: (e as Error).message }, 'control request failed');
        } finally {
          busy--;
        }
      });
    }
  });
}

/** make `path` available for a new unix socket: refuse a live socket or a non-socket file */
async function prepareUnixPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${path} is in use by another running process`);
  unlinkSync(path);
}

function trackConnections(server: net.Server, o: ServeOptions, transport: string, handler: DocHandler): Set<net.Socket> {
  const conns = new Set<net.Socket>();
  server.on('connection', (sock) => {
    if (conns.size >= o.maxConnections) {
      o.log.warn({ transport }, 'too many control connections: refused');
      sock.destroy();
      return;
    }
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    serveConnection(sock, transport, handler, o);
  });
  return conns;
}

function closeServer(server: net.Server, conns: Set<net.Socket>): Promise<void> {
  for (const c of conns) c.destroy();
  return new Promise((r) => server.close(() => r()));
}

/** a user or group name (or number) → its id, from /etc/passwd or /etc/group */
export function resolveId(name: string, db: '/etc/passwd' | '/etc/group'): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(db, 'utf8');
  } catch {
    // no database: only numbers work
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length > 2 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  throw new Error(`unknown ${db === '/etc/passwd' ? 'user' : 'group'} "${name}"`);
}

export interface SocketOwner {
  user?: string;
  group?: string;
}

export async function listenUnix(path: string, mode: number, handler: DocHandler, o: ServeOptions, owner: SocketOwner = {}): Promise<Closable> {
  // names are checked before binding, so a typo leaves no socket behind
  const uid = owner.user ? resolveId(owner.user, '/etc/passwd') : -1;
  const gid = owner.group ? resolveId(owner.group, '/etc/group') : -1;
  await prepareUnixPath(path);
  const server = net.createServer();
  const conns = trackConnections(server, o, 'unix', handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // bind happens inside listen(): a tight umask closes the window before chmod
    const old = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  const close = async () => {
    await closeServer(server, conns);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
  try {
    chmodSync(path, mode);
    if (uid !== -1 || gid !== -1) chownSync(path, uid, gid); // ctl's user/group, as Kamailio
  } catch (e) {
    await close();
    throw e;
  }
  return { where: `unix:${path}`, close };
}

export async function listenTcp(host: string, port: number, handler: DocHandler, o: ServeOptions): Promise<Closable & { port: number }> {
  const server = net.createServer();
  const conns = trackConnections(server, o, 'tcp', handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  return { where: `tcp:${host}:${bound}`, port: bound, close: () => closeServer(server, conns) };
}

export async function listenUdp(host: string, port: number, handler: DocHandler, o: ServeOptions): Promise<Closable & { port: number }> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => resolve());
  });
  sock.on('error', (e) => o.log.warn({ err: e.message }, 'control udp socket error'));
  sock.on('message', (buf, rinfo) => {
    if (o.binrpc && isBinRpc(buf[0])) {
      answerBinRpcDatagram(sock, buf, rinfo, o.binrpc, o);
      return;
    }
    void handler(buf.toString('utf8'), 'udp')
      .then((out) => {
        if (out !== null) sock.send(Buffer.from(`${out}\n`), rinfo.port, rinfo.address);
      })
      .catch((e: unknown) => o.log.error({ err: (e as Error).message }, 'control request failed'));
  });
  const bound = sock.address().port;
  return { where: `udp:${host}:${bound}`, port: bound, close: () => new Promise((r) => sock.close(() => r())) };
}

/** one BINRPC packet per datagram */
function answerBinRpcDatagram(sock: dgram.Socket, buf: Buffer, rinfo: dgram.RemoteInfo, binrpc: BinRpcHandler, o: ServeOptions): void {
  let h;
  try {
    h = parseHeader(buf);
    if (!h || buf.length < h.headerLength + h.bodyLength) throw new BinRpcError('truncated packet');
  } catch (e) {
    o.log.warn({ from: `${rinfo.address}:${rinfo.port}`, err: (e as Error).message }, 'bad BINRPC datagram: dropped');
    return;
  }
  void binrpc(h, buf.subarray(h.headerLength, h.headerLength + h.bodyLength), 'udp')
    .then((out) => sock.send(out, rinfo.port, rinfo.address))
    .catch((e: unknown) => o.log.error({ err: (e as Error).message }, 'control request failed'));
}
