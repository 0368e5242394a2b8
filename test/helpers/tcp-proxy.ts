// A TCP forwarder in front of MariaDB that tests can break on purpose: 'up' forwards,
// 'refuse' resets every connection (server stopped), 'blackhole' accepts and never answers
// (network partition), 'stall' keeps open connections but drops what they carry from now on
// (a server that stopped answering mid-session; new connections are blackholed).
// `latencyMs` delays every chunk the server sends (a slow DB). Lets DB outage tests run
// without stopping the shared server.
import net from 'node:net';

export type ProxyMode = 'up' | 'refuse' | 'blackhole' | 'stall';

export class TcpProxy {
  private readonly server = net.createServer((c) => this.accept(c));
  private readonly open = new Set<net.Socket>();
  mode: ProxyMode = 'up';
  port = 0;
  /** added to each chunk from the server to the client, ms */
  latencyMs = 0;
  /** client connections accepted so far (any mode) */
  accepted = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort = 3306, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const p = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', () => r()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  /** connections currently open (client and server sides) */
  get openSockets(): number {
    return this.open.size;
  }

  private track(s: net.Socket): void {
    this.open.add(s);
    s.on('close', () => this.open.delete(s));
    s.on('error', () => s.destroy());
  }

  private forward(from: net.Socket, to: net.Socket, delayed: boolean): void {
    // delayed chunks in order, even when latencyMs changes meanwhile
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = (): void => {
      timer = null;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (this.mode === 'stall') return;
      const ms = delayed ? this.latencyMs : 0;
      if (ms <= 0 && queue.length === 0) {
        to.write(chunk);
        return;
      }
      const now = Date.now();
      queue.push({ at: Math.max(now + ms, queue.length > 0 ? queue[queue.length - 1]!.at : 0), chunk });
      timer ??= setTimeout(flush, queue[0]!.at - now);
    });
    from.on('close', () => {
      if (timer) clearTimeout(timer);
    });
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    this.track(client);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'blackhole' || this.mode === 'stall') return;
    const up = net.connect(this.targetPort, this.targetHost);
    this.track(up);
    this.forward(client, up, false);
    this.forward(up, client, true);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  }

  /** apply `mode` to new connections; every mode but 'up' and 'stall' cuts the open ones */
  set(mode: ProxyMode): void {
    this.mode = mode;
    if (mode !== 'up' && mode !== 'stall') for (const s of this.open) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
