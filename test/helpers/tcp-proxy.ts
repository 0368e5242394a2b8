// A TCP forwarder in front of MariaDB that tests can break on purpose: 'up' forwards,
// 'refuse' resets every connection (server stopped), 'blackhole' accepts and never answers
// (network partition). Lets DB outage tests run without stopping the shared server.
import net from 'node:net';

export type ProxyMode = 'up' | 'refuse' | 'blackhole';

export class TcpProxy {
  private readonly server = net.createServer((c) => this.accept(c));
  private readonly open = new Set<net.Socket>();
  mode: ProxyMode = 'up';
  port = 0;

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

  private track(s: net.Socket): void {
    this.open.add(s);
    s.on('close', () => this.open.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'blackhole') return;
    const up = net.connect(this.targetPort, this.targetHost);
    this.track(up);
    client.pipe(up);
    up.pipe(client);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  }

  /** cut every open connection and apply `mode` to new ones */
  set(mode: ProxyMode): void {
    this.mode = mode;
    if (mode !== 'up') for (const s of this.open) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
