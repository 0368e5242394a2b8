// SIP over TCP (RFC 3261 §18.3): messages framed by Content-Length, connections kept and
// reused for replies and for later requests to the same peer. A message whose
// Content-Length is past the limit gets 513 when its header can answer (§18.3, §21.5.7),
// then the connection is closed: the stream cannot be re-framed after it.
import net from 'node:net';
import { socketId, type ListenSocket, type ReceiveInfo } from './types.js';

export type OnStreamMessage = (buf: Buffer, rcv: ReceiveInfo) => void;
/** the reply (513) to send before closing, built from an oversized message's header; null: none */
export type OnOversized = (head: Buffer, rcv: ReceiveInfo) => Buffer | null;

const MAX_BUFFER = 256 * 1024;
const IDLE_MS = 10 * 60 * 1000;

interface Conn {
  id: number;
  sock: net.Socket;
  peer: string; // "ip:port"
  local: ListenSocket;
}

/** frameLength: the header is complete but announces a body past the limit */
export const TOO_LARGE = -3;

/** find the end of one SIP message in buf; -1 when incomplete, -2 when the header is bad, TOO_LARGE */
export function frameLength(buf: Buffer): number {
  // skip keepalive CRLFs between messages
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return buf.length > MAX_BUFFER ? -2 : -1;
  const head = buf.toString('latin1', 0, headEnd);
  const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
  const body = m ? Number(m[1]) : 0;
  if (body > MAX_BUFFER) return TOO_LARGE;
  const total = headEnd + 4 + body;
  return buf.length >= total ? total : -1;
}

export class TcpTransport {
  private nextId = 1;
  private readonly conns = new Map<number, Conn>();
  private readonly byPeer = new Map<string, Conn>();
  private readonly servers: { server: net.Server; socket: ListenSocket }[] = [];

  constructor(
    private readonly onMessage: OnStreamMessage,
    private readonly onError: (err: Error, where: string) => void,
    private readonly onOversized: OnOversized = () => null,
  ) {}

  async listen(socket: ListenSocket): Promise<ListenSocket> {
    const server = net.createServer((s) => this.adopt(s, entry.socket));
    const entry = { server, socket };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket.port, socket.ip, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.onError(e, `tcp listen ${socket.id}`));
    const addr = server.address();
    if (addr && typeof addr === 'object' && addr.port !== socket.port) {
      entry.socket = {
        ...socket,
        port: addr.port,
        advertisePort: socket.advertisePort === 0 ? addr.port : socket.advertisePort,
        id: socketId('tcp', socket.ip, addr.port),
      };
    }
    this.servers.push(entry);
    return entry.socket;
  }

  private adopt(sock: net.Socket, local: ListenSocket): Conn {
    const id = this.nextId++;
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    const conn: Conn = { id, sock, peer, local };
    this.conns.set(id, conn);
    this.byPeer.set(peer, conn);
    sock.setNoDelay(true);
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    const received = (): ReceiveInfo => ({
      proto: 'tcp',
      srcIp: normaliseIp(sock.remoteAddress ?? ''),
      srcPort: sock.remotePort ?? 0,
      local,
      connId: id,
      time: Date.now(),
    });
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        // CRLF keepalives (RFC 5626 §3.5.1) between messages
        let skip = 0;
        while (skip < pending.length && (pending[skip] === 13 || pending[skip] === 10)) skip++;
        if (skip) pending = pending.subarray(skip);
        if (pending.length === 0) break;
        const len = frameLength(pending);
        if (len === -1) break;
        if (len === TOO_LARGE) {
          const head = pending.subarray(0, pending.indexOf('\r\n\r\n') + 4);
          const reply = this.onOversized(Buffer.from(head), received());
          pending = Buffer.alloc(0);
          // end() sends the reply, then FIN; what the peer still sends is discarded
          if (reply !== null) sock.end(reply);
          else sock.destroy();
          sock.removeAllListeners('data');
          sock.on('data', () => undefined);
          return;
        }
        if (len === -2) {
          this.onError(new Error('bad or oversized SIP message on TCP stream'), peer);
          sock.destroy();
          return;
        }
        const msg = pending.subarray(0, len);
        pending = pending.subarray(len);
        this.onMessage(Buffer.from(msg), received());
      }
    });
    const drop = () => {
      this.conns.delete(id);
      if (this.byPeer.get(peer) === conn) this.byPeer.delete(peer);
    };
    sock.on('close', drop);
    sock.on('error', () => drop());
    return conn;
  }

  /** send on an existing connection (by id or peer), else open one */
  async send(data: Buffer, ip: string, port: number, connId: number | null, from: ListenSocket): Promise<boolean> {
    let conn = connId !== null ? this.conns.get(connId) : undefined;
    conn ??= this.byPeer.get(`${ip}:${port}`);
    if (!conn) {
      try {
        conn = await this.connect(ip, port, from);
      } catch (e) {
        this.onError(e as Error, `tcp connect ${ip}:${port}`);
        return false;
      }
    }
    const c = conn;
    return new Promise((resolve) => {
      c.sock.write(data, (err) => resolve(!err));
    });
  }

  private connect(ip: string, port: number, from: ListenSocket): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: ip, port, timeout: 5000 });
      const fail = (e: Error) => {
        sock.destroy();
        reject(e);
      };
      sock.once('error', fail);
      sock.once('timeout', () => fail(new Error('connect timeout')));
      sock.once('connect', () => {
        sock.off('error', fail);
        sock.setTimeout(0);
        resolve(this.adopt(sock, from));
      });
    });
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) c.sock.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.server.close(() => r()))));
  }
}

export function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
