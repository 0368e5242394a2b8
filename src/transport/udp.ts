// UDP listen sockets (dgram-as-promised for bind/send/close). Receiving uses the
// 'message' event directly: the loop must not await one datagram before taking the next.
import dns from 'node:dns';
import { isIP } from 'node:net';
import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
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
  private readonly sock: SocketAsPromised;
  socket: ListenSocket;

  constructor(
    socket: ListenSocket,
    private readonly onMessage: OnDatagram,
    onError: (err: Error) => void,
  ) {
    this.socket = socket;
    this.sock = DgramAsPromised.createSocket({ type: socket.af === 6 ? 'udp6' : 'udp4', reuseAddr: false, lookup: ipLookup });
    this.sock.socket.on('error', onError);
  }

  async bind(): Promise<ListenSocket> {
    const addr = await this.sock.bind(this.socket.port, this.socket.ip);
    const port = typeof addr === 'object' && addr ? addr.port : this.socket.port;
    // port 0 = pick a free one (tests): record the real port everywhere
    if (port !== this.socket.port) {
      this.socket = {
        ...this.socket,
        port,
        advertisePort: this.socket.advertisePort === 0 ? port : this.socket.advertisePort,
        id: socketId('udp', this.socket.ip, port),
      };
    }
    this.sock.socket.setRecvBufferSize?.(4 * 1024 * 1024);
    this.sock.socket.setSendBufferSize?.(4 * 1024 * 1024);
    const local = this.socket;
    this.sock.socket.on('message', (buf, rinfo) => {
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

  send(data: Buffer, port: number, ip: string): Promise<boolean> {
    return this.sock.send(data, 0, data.length, port, ip).then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.sock.close();
  }
}
