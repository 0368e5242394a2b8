// The standalone metrics endpoint (`tser --metrics ADDR:PORT`): GET /metrics answers the
// Prometheus text exposition, anything else 404/405. A scrape that fails (a reload swapping
// modules under it) answers 500 and is logged; the proxy is never affected.
import http from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './registry.js';

export interface MetricsEndpoint {
  readonly where: string;
  readonly port: number;
  close(): Promise<void>;
}

/** "ADDR:PORT", "[v6]:PORT" or "PORT" (loopback) → host and port; null when malformed */
export function parseMetricsAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  let host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  if (host === 'localhost') host = '127.0.0.1';
  if (host === '*') host = '0.0.0.0';
  return { host, port };
}

export async function serveMetrics(metrics: Metrics, host: string, port: number, log: Logger): Promise<MetricsEndpoint> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: unknown) => {
        log.warn({ err: (e as Error).message }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  server.headersTimeout = 10000;
  server.requestTimeout = 10000;
  server.maxConnections = 32;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.on('error', (e) => log.warn({ err: e.message }, 'metrics endpoint error'));
  const bound = (server.address() as { port: number }).port;
  const where = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  return {
    where,
    port: bound,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
