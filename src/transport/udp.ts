// UDP listen sockets on node:dgram. Receiving uses the 'message' event (the loop never awaits
// one datagram before taking the next); sending hands the datagram to the kernel with no
// callback and no promise: a send that fails later surfaces as the socket's 'error' event.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { socketId, type ListenSocket, type ReceiveInfo } from './types.js';

export type OnDatagram = (buf: Buffer, rcv: ReceiveInfo) => void;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of every send through dns.lookup; destinations here are
 * already IP addresses (the core resolves names first), so answer at once.
 */
function ipLookup(host: string, opts: dns.LookupOneOptions | LookupCallback, cb?: LookupCallback): void {
  const callback = (typeof opts === 'function' ? opts : cb)!;
  const family = isIP(host);
  if (family) {
    callback(null, host, family);
    return;
  }
  dns.lookup(host, typeof opts === 'function' ? {} : opts, callback);
}

export class UdpListener {
  private readonly sock: dgram.Socket;
  socket: ListenSocket;

  constructor(
    socket: ListenSocket,
    private readonly onMessage: OnDatagram,
    onError: (err: Error) => void,
  ) {
    this.socket = socket;
    this.sock = dgram.createSocket({ type: socket.af === 6 ? 'udp6' : 'udp4', reuseAddr: false, lookup: ipLookup });
    this.sock.on('error', onError);
  }

  bind(): Promise<ListenSocket> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(e);
      this.sock.once('error', fail);
      this.sock.bind(this.socket.port, this.socket.ip, () => {
        this.sock.off('error', fail);
        resolve(this.bound());
      });
    });
  }

  private bound(): ListenSocket {
    const port = this.sock.address().port;
    // port 0 = pick a free one (tests): record the real port everywhere
    if (port !== this.socket.port) {
      this.socket = {
        ...this.socket,
        port,
        advertisePort: this.socket.advertisePort === 0 ? port : this.socket.advertisePort,
        id: socketId('udp', this.socket.ip, port),
      };
    }
    this.sock.setRecvBufferSize(4 * 1024 * 1024);
    this.sock.setSendBufferSize(4 * 1024 * 1024);
    const local = this.socket;
    this.sock.on('message', (buf, rinfo) => {
      this.onMessage(buf, {
        proto: 'udp',
        srcIp: rinfo.address,
        srcPort: rinfo.port,
        local,
        connId: null,
        time: Date.now(),
      });
    });
    return this.socket;
  }

  /** hand a datagram to the kernel; false only when it cannot even be queued */
  send(data: Buffer, port: number, ip: string): boolean {
    try {
      this.sock.send(data, port, ip);
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
