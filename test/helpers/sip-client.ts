// A tiny SIP peer for end-to-end tests: real UDP/TCP sockets on 127.0.0.1, raw messages
// in, raw messages out, waiting for replies by Call-ID.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface Received {
  text: string;
  from: { address: string; port: number };
}

export class UdpPeer {
  readonly sock = dgram.createSocket('udp4');
  port = 0;
  private readonly queue: Received[] = [];
  private waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];

  static async open(): Promise<UdpPeer> {
    const p = new UdpPeer();
    await new Promise<void>((r) => p.sock.bind(0, '127.0.0.1', () => r()));
    p.port = p.sock.address().port;
    p.sock.on('message', (buf, rinfo) => p.push({ text: buf.toString('latin1'), from: { address: rinfo.address, port: rinfo.port } }));
    return p;
  }

  private push(r: Received): void {
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w!.resolve(r);
    } else this.queue.push(r);
  }

  send(text: string | Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    return new Promise((resolve, reject) => this.sock.send(buf, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** next message satisfying `match` (default: any), or reject after `ms` */
  next(match: (r: Received) => boolean = () => true, ms = 3000): Promise<Received> {
    const i = this.queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = { match, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const k = this.waiters.indexOf(w);
        if (k >= 0) {
          this.waiters.splice(k, 1);
          reject(new Error(`no matching SIP message within ${ms} ms`));
        }
      }, ms).unref();
    });
  }

  /** resolves true if nothing matching arrives within ms */
  async nothing(match: (r: Received) => boolean = () => true, ms = 500): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.sock.close();
  }
}

export function statusOf(text: string): number {
  const m = /^SIP\/2\.0 (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

export function header(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim();
}

export function headers(text: string, name: string): string[] {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'gim');
  return [...text.split('\r\n\r\n')[0]!.matchAll(re)].map((m) => m[1]!.trim());
}

export function rand(n = 8): string {
  return randomBytes(n).toString('hex');
}

export interface RequestOpts {
  method: string;
  ruri: string;
  port: number; // our port (for Via/Contact)
  transport?: 'UDP' | 'TCP';
  callId?: string;
  cseq?: number;
  fromTag?: string;
  from?: string;
  to?: string;
  toTag?: string;
  branch?: string;
  maxForwards?: number | null;
  extra?: string[];
  body?: string;
}

export function request(o: RequestOpts): string {
  const callId = o.callId ?? `${rand()}@127.0.0.1`;
  const lines = [
    `${o.method} ${o.ruri} SIP/2.0`,
    `Via: SIP/2.0/${o.transport ?? 'UDP'} 127.0.0.1:${o.port};branch=${o.branch ?? `z9hG4bK${rand()}`};rport`,
    `From: ${o.from ?? '<sip:alice@127.0.0.1>'};tag=${o.fromTag ?? rand(4)}`,
    `To: ${o.to ?? `<${o.ruri}>`}${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${callId}`,
    `CSeq: ${o.cseq ?? 1} ${o.method}`,
  ];
  if (o.maxForwards !== null) lines.push(`Max-Forwards: ${o.maxForwards ?? 70}`);
  lines.push(`Contact: <sip:alice@127.0.0.1:${o.port}>`);
  lines.push(...(o.extra ?? []));
  const body = o.body ?? '';
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** a TCP SIP peer: one connection, messages framed by Content-Length */
export class TcpPeer {
  private buf = '';
  private readonly got: string[] = [];
  private waiter: ((s: string) => void) | null = null;
  constructor(readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const cl = Number(/content-length:\s*(\d+)/i.exec(this.buf.slice(0, end))?.[1] ?? 0);
        if (this.buf.length < end + 4 + cl) return;
        const m = this.buf.slice(0, end + 4 + cl);
        this.buf = this.buf.slice(end + 4 + cl);
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = null;
          w(m);
        } else this.got.push(m);
      }
    });
  }
  static connect(port: number): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new TcpPeer(s)));
      s.once('error', reject);
    });
  }
  get localPort(): number {
    return this.sock.localPort ?? 0;
  }
  send(text: string): void {
    this.sock.write(text, 'latin1');
  }
  next(ms = 3000): Promise<string> {
    const m = this.got.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      setTimeout(() => reject(new Error('no TCP message')), ms).unref();
    });
  }
  close(): void {
    this.sock.destroy();
  }
}
