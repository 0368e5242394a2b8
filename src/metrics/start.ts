// `tser --metrics ADDR:PORT`: build the metrics of a started server and serve them over HTTP.
import type { Logger } from 'pino';
import { parseMetricsAddress, serveMetrics, type MetricsEndpoint } from './http.js';
import { createMetrics, type MetricsServer } from './registry.js';

export async function startMetrics(server: MetricsServer & { log: Logger }, address: string): Promise<MetricsEndpoint> {
  const a = parseMetricsAddress(address);
  if (!a) throw new Error(`--metrics: bad address "${address}" (want ADDR:PORT or PORT)`);
  const metrics = createMetrics(server);
  try {
    const ep = await serveMetrics(metrics, a.host, a.port, server.log.child({ part: 'metrics' }));
    server.log.info({ where: ep.where }, 'metrics endpoint ready');
    return {
      ...ep,
      close: async () => {
        await ep.close();
        metrics.close();
      },
    };
  } catch (e) {
    metrics.close();
    throw e;
  }
}
