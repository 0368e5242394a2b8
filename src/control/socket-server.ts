// JSON-RPC over stream sockets (unix, TCP) and UDP. Stream clients send one JSON document
// per request (newline-terminated or not) and get one JSON document + "\n" back, in order.
// Idle clients are closed; unix sockets are created with the configured mode (0600) and a
// stale socket file from a dead process is replaced, a live one never is.
import dgram from 'node:dgram';
import net from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
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
}

export interface Closable {
  readonly where: string;
  close(): Promise<void>;
}

function serveConnection(sock: net.Socket, transport: string, handler: DocHandler, o: ServeOptions): void {
  const framer = new JsonFramer(o.maxRequestBytes);
  let chain: Promise<void> = Promise.resolve();
  let busy = 0;
  sock.setTimeout(o.idleTimeoutMs);
  sock.on('timeout', () => {
    if (busy > 0) return; // a long call (a reload) is not idleness
    o.log.debug({ transport, pending: framer.pending }, 'control client idle: closed');
    sock.destroy();
  });
  sock.on('error', (e) => o.log.debug({ transport, err: e.message }, 'control client error'));
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

export async function listenUnix(path: string, mode: number, handler: DocHandler, o: ServeOptions): Promise<Closable> {
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
  chmodSync(path, mode);
  return {
    where: `unix:${path}`,
    close: async () => {
      await closeServer(server, conns);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
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
    void handler(buf.toString('utf8'), 'udp')
      .then((out) => {
        if (out !== null) sock.send(Buffer.from(`${out}\n`), rinfo.port, rinfo.address);
      })
      .catch((e: unknown) => o.log.error({ err: (e as Error).message }, 'control request failed'));
  });
  const bound = sock.address().port;
  return { where: `udp:${host}:${bound}`, port: bound, close: () => new Promise((r) => sock.close(() => r())) };
}
