// Prometheus metrics of a running tser (prom-client): every Kamailio-style statistic under
// Kamailio's xhttp_prom name (`kamailio_core_rcv_requests`, `kamailio_tmx_active_transactions`,
// `kamailio_usrloc_location_users`), plus what Kamailio lacks: script run time per route,
// DB query time histogram, shed requests, event-loop lag and Node's process metrics. Statistics are read at scrape
// time, so counting stays one property increment on the request path.
import client from 'prom-client';
import type { Stats } from '../core/stats.js';
import { setDbObserver } from '../db/open.js';
import type { Script } from '../script/script.js';
import { timeRoutes } from './route-timing.js';

/** what xhttp_prom (when loaded) says about the export: its params and its own metrics */
export interface PromSource {
  /** xhttp_prom_stats: "all", "group:", "name", or "" for none */
  readonly stats: string;
  /** xhttp_prom_beginning: metric name prefix */
  readonly prefix: string;
  /** the script's own metrics (prom_counter/prom_gauge/prom_histogram) */
  readonly registry: client.Registry;
}

export interface MetricsServer {
  readonly stats: Stats;
  /** the script in force (its routes are timed) */
  script?(): Script;
  readonly modules: ReadonlyMap<string, { def: { name: string; api?(self: never): unknown }; holder: { state: unknown } }>;
}

/** Kamailio statistics that are levels, not totals (STAT_NO_RESET and friends) */
const GAUGE_NAMES =
  /^(tmx:(active|inuse|waiting)_transactions|usrloc:(registered_users|registered_contacts|location_(users|contacts|expires)|.*_(users|contacts|expires))|registrar:(max_expires|max_contacts|default_expire|default_expires_range|expires_range)|dialog:(active|early)_dialogs|shmem:.*|tcp:current_.*|core:inflight_requests)$/;

/** tser's own core statistics, exported as tser_* metrics rather than under Kamailio's prefix */
const TSER_ONLY = /^core:(evloop_delay_.*|rcv_queue_delay.*|overload_.*)$/;

/**
 * tser's statistic name → Kamailio's (group:name). tser's tm counts what Kamailio's tmx
 * exports; usrloc's per-table names use '-' (Prometheus names cannot).
 */
export function kamailioStatName(group: string, name: string): string {
  if (group === 'tm') {
    const renamed: Record<string, string> = { received_replies: 'rpl_received', relayed_replies: 'rpl_relayed', local_replies: 'rpl_generated' };
    return `tmx:${renamed[name] ?? name}`;
  }
  return `${group}:${name}`.replace(/-/g, '_');
}

/** a Prometheus-legal metric name: [a-zA-Z_:][a-zA-Z0-9_:]* */
function metricName(prefix: string, kam: string): string {
  return `${prefix}${kam.replace(':', '_')}`.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^([0-9])/, '_$1');
}

/** does a Kamailio stat name pass an xhttp_prom_stats filter */
function selected(filter: string, group: string, name: string): boolean {
  if (filter === '') return false;
  if (filter === 'all') return true;
  if (filter.endsWith(':')) return group === filter.slice(0, -1);
  const i = filter.indexOf(':');
  return i < 0 ? name === filter : `${group}:${name}` === filter;
}

export interface Metrics {
  /** the text exposition (format 0.0.4) */
  scrape(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

/** find xhttp_prom among the loaded modules, through its api() (no import of the module) */
function promSource(server: MetricsServer): PromSource | null {
  for (const inst of server.modules.values()) {
    if (inst.def.name !== 'xhttp_prom') continue;
    if (!inst.def.api) return null;
    return inst.def.api(inst.holder.state as never) as PromSource;
  }
  return null;
}

export function createMetrics(server: MetricsServer): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tser_', eventLoopMonitoringPrecision: 10 });

  const dbTime = new client.Histogram({
    name: 'tser_db_query_duration_seconds',
    help: 'Time of DB operations (query, insert, update, delete, raw), by driver and operation',
    labelNames: ['driver', 'op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  setDbObserver((driver, op, seconds) => dbTime.observe({ driver, op }, seconds));

  let stopRouteTiming = () => undefined as void;
  if (server.script) {
    const routeTime = new client.Histogram({
      name: 'tser_route_duration_seconds',
      help: 'Run time of each route of the routing script (wall clock, includes waiting for the DB)',
      labelNames: ['route'],
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [registry],
    });
    const current = server.script.bind(server);
    stopRouteTiming = timeRoutes(current, routeTime);
  }

  const stat = (key: string) => server.stats.get(key)[key] ?? 0;
  new client.Counter({
    name: 'tser_shed_requests_total',
    help: 'Requests shed by the overload guard: refused with 503, or absorbed (dropped, a retransmission will come)',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ action: 'refused' }, stat('core:overload_refused'));
      this.inc({ action: 'absorbed' }, stat('core:overload_absorbed'));
    },
  });
  // the overload guard's own measurements (tser statistics in ms, exported in seconds)
  for (const [name, key, help] of [
    ['tser_event_loop_delay_max_seconds', 'core:evloop_delay_max_ms', 'Longest event-loop delay in the overload guard\'s last interval'],
    ['tser_event_loop_delay_p99_seconds', 'core:evloop_delay_p99_ms', '99th percentile of the event-loop delay in the overload guard\'s last interval'],
    ['tser_receive_queue_delay_seconds', 'core:rcv_queue_delay_ms', 'Receive-queue delay measured by the overload guard\'s probe'],
    ['tser_receive_queue_delay_max_seconds', 'core:rcv_queue_delay_max_ms', 'Longest receive-queue delay measured by the overload guard\'s probe'],
  ] as const) {
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(stat(key) / 1000);
      },
    });
  }
  new client.Gauge({
    name: 'tser_overload_shed_ratio',
    help: 'Share of new requests the overload guard sheds now (0..1)',
    registers: [registry],
    collect() {
      this.set(stat('core:overload_shed_pct') / 100);
    },
  });

  // Kamailio statistics: one metric each, created when first seen (modules and the
  // counters module add statistics at run time)
  const made = new Map<string, string>(); // tser key → metric name
  let source: PromSource | null | undefined;
  const syncStats = () => {
    source ??= promSource(server);
    const prefix = source ? source.prefix : 'kamailio_';
    const filter = source ? source.stats : 'all';
    const all = server.stats.get('all');
    for (const key of Object.keys(all)) {
      if (made.has(key)) continue;
      if (TSER_ONLY.test(key)) {
        made.set(key, ''); // exported above under tser_ names, in seconds
        continue;
      }
      const i = key.indexOf(':');
      const kam = kamailioStatName(key.slice(0, i), key.slice(i + 1));
      const j = kam.indexOf(':');
      if (!selected(filter, kam.slice(0, j), kam.slice(j + 1)) && !selected(filter, key.slice(0, i), key.slice(i + 1))) {
        made.set(key, '');
        continue;
      }
      const name = metricName(prefix, kam);
      if (registry.getSingleMetric(name)) {
        made.set(key, '');
        continue;
      }
      made.set(key, name);
      const help = `Kamailio statistic ${kam} (tser ${key})`;
      const read = () => server.stats.get(key)[key] ?? 0;
      if (GAUGE_NAMES.test(kam)) {
        new client.Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            this.set(read());
          },
        });
      } else {
        new client.Counter({
          name,
          help,
          registers: [registry],
          collect() {
            this.reset();
            const v = read();
            if (v > 0) this.inc(v);
          },
        });
      }
      // Kamailio's tmx has active (current) besides inuse transactions
      if (kam === 'tmx:inuse_transactions' && selected(filter, 'tmx', 'active_transactions') && !registry.getSingleMetric(metricName(prefix, 'tmx:active_transactions'))) {
        new client.Gauge({
          name: metricName(prefix, 'tmx:active_transactions'),
          help: 'Kamailio statistic tmx:active_transactions (tser tm:inuse_transactions - tm:waiting_transactions)',
          registers: [registry],
          collect() {
            this.set(Math.max(0, read() - stat('tm:waiting_transactions')));
          },
        });
      }
    }
  };

  return {
    contentType: registry.contentType,
    scrape: async () => {
      syncStats();
      const own = await registry.metrics();
      if (!source) return own;
      const extra = await source.registry.metrics();
      return extra ? `${own}${own.endsWith('\n') ? '' : '\n'}${extra}` : own;
    },
    close: () => {
      stopRouteTiming();
      setDbObserver(null);
      registry.clear();
    },
  };
}
