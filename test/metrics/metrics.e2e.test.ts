// Prometheus metrics scraped over HTTP: Kamailio statistic names with live values, gauges
// vs counters, xhttp_prom's script metrics and statistics filter, DB query histogram, shed
// requests and event-loop lag; Debian's `promtool check metrics` accepts the exposition;
// `tser --metrics` on the real CLI, including scrapes during a reload and bad addresses.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { parseMetricsAddress, serveMetrics, type MetricsEndpoint } from '../../src/metrics/http.js';
import { createMetrics, kamailioStatName, type Metrics } from '../../src/metrics/registry.js';
import type { Server } from '../../src/core/server.js';
import { freePort, spawnTser, startProxy, tempDir } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';

const CFG = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "xhttp_prom.so"
modparam("xhttp_prom", "xhttp_prom_stats", "all")
modparam("xhttp_prom", "prom_counter", "name=script_requests; label=method")

request_route {
	prom_counter_inc("script_requests", "1", "$rm");
	prom_histogram_observe("script_sizes", "$ml");
	if (is_method("REGISTER")) { save("location"); exit; }
	sl_send_reply("404", "Not Found");
}
`;

/** value of an unlabelled sample (or the first with the given label text) */
function sample(text: string, name: string, labels = ''): number | null {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc}${labels ? `\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\}` : ''} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

function promtool(text: string): { status: number | null; problems: string[] } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, problems: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '') };
}

describe('metrics over HTTP (in-process server)', () => {
  let server: Server;
  let port: number;
  let metrics: Metrics;
  let ep: MetricsEndpoint;
  const url = () => `http://127.0.0.1:${ep.port}/metrics`;

  beforeAll(async () => {
    ({ server, port } = await startProxy(CFG));
    metrics = createMetrics(server);
    ep = await serveMetrics(metrics, '127.0.0.1', 0, pino({ level: 'silent' }));
    const peer = await UdpPeer.open();
    try {
      for (const [method, id] of [['OPTIONS', 'm1'], ['OPTIONS', 'm2'], ['REGISTER', 'm3']] as const) {
        await peer.send(request({ method, ruri: 'sip:carol@example.com', from: '<sip:carol@example.com>', to: '<sip:carol@example.com>', port: peer.port, callId: id }), port);
        await peer.next((m) => m.text.includes(id));
      }
    } finally {
      peer.close();
    }
  });

  afterAll(async () => {
    await ep.close();
    metrics.close();
    await server.stop();
  });

  it('exports Kamailio statistics under xhttp_prom names with live values', async () => {
    const res = await fetch(url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'kamailio_core_rcv_requests')).toBe(3);
    expect(sample(text, 'kamailio_sl_sent_replies')).toBe(2);
    expect(sample(text, 'kamailio_sl_4xx_replies')).toBe(2);
    expect(sample(text, 'kamailio_usrloc_registered_users')).toBe(1);
    expect(sample(text, 'kamailio_tmx_active_transactions')).toBe(0);
    expect(text).toMatch(/^# TYPE kamailio_core_rcv_requests counter$/m);
    expect(text).toMatch(/^# TYPE kamailio_usrloc_registered_users gauge$/m);
    expect(text).toMatch(/^# TYPE kamailio_tmx_inuse_transactions gauge$/m);
    expect(text).toMatch(/^# TYPE kamailio_core_inflight_requests gauge$/m);
  });

  it('serves the script metrics of xhttp_prom (declared labels, undeclared created on use)', async () => {
    const text = await (await fetch(url())).text();
    expect(sample(text, 'kamailio_script_requests', 'method="OPTIONS"')).toBe(2);
    expect(sample(text, 'kamailio_script_requests', 'method="REGISTER"')).toBe(1);
    expect(sample(text, 'kamailio_script_sizes_count')).toBe(3);
  });

  it('xhttp_prom RPC methods change the script metrics', async () => {
    const inst = server.modules.get('xhttp_prom')!;
    const rpc = inst.def.rpc!;
    await rpc['xhttp_prom.gauge_set'].run(inst.holder.state as never, ['temperature', '21.5']);
    expect(sample(await metrics.scrape(), 'kamailio_temperature')).toBe(21.5);
    expect(() => rpc['xhttp_prom.counter_inc'].run(inst.holder.state as never, ['script_requests', 'x', 'OPTIONS'])).toThrow(/number/);
    expect(() => rpc['xhttp_prom.gauge_set'].run(inst.holder.state as never, ['script_requests', '1', 'OPTIONS'])).toThrow(/not a gauge/);
  });

  it('adds what Kamailio lacks: DB query time, shed requests, event-loop lag, process metrics', async () => {
    const db = openDb(`text://${tempDir('tser-metrics-db-')}`, pino({ level: 'silent' }));
    await db.query('version').catch(() => undefined);
    await db.close();
    const text = await metrics.scrape();
    expect(sample(text, 'tser_db_query_duration_seconds_count', 'driver="text",op="query"')).toBe(1);
    expect(sample(text, 'tser_shed_requests_total', 'action="refused"')).toBe(0);
    expect(sample(text, 'tser_overload_shed_ratio')).toBe(0);
    expect(text).not.toMatch(/^kamailio_core_evloop/m);
    expect(text).toMatch(/^# TYPE tser_db_query_duration_seconds histogram$/m);
    expect(text).toMatch(/^tser_nodejs_eventloop_lag_seconds \S+$/m);
    expect(text).toMatch(/^tser_process_resident_memory_bytes \d+/m);
    // the request route ran for each of the three requests sent before
    expect(sample(text, 'tser_route_duration_seconds_count', 'route="request_route"')).toBe(3);
    expect(text).toMatch(/^# TYPE tser_route_duration_seconds histogram$/m);
  });

  it('promtool check metrics: valid exposition; the only lint is the _total suffix kept off Kamailio names', async () => {
    const text = await metrics.scrape();
    const r = promtool(text);
    // Kamailio's names are kept for existing dashboards; prom-client names its handle gauges *_total
    const other = r.problems.filter(
      (l) => !/^kamailio_\w+ counter metrics should have "_total" suffix$/.test(l) && !/^tser_nodejs_active_\w+_total non-counter metrics/.test(l),
    );
    expect(other).toEqual([]);
    expect(r.problems.length).toBeGreaterThan(0); // the Kamailio-named counters are there
    expect(promtool('bad metric line\n').status).not.toBe(0); // promtool does check
  });

  it('answers 404 elsewhere and 405 for other methods', async () => {
    expect((await fetch(`http://127.0.0.1:${ep.port}/`)).status).toBe(404);
    expect((await fetch(url(), { method: 'POST' })).status).toBe(405);
  });
});

describe('statistic names', () => {
  it('maps tser names to Kamailio names', () => {
    expect(kamailioStatName('tm', 'received_replies')).toBe('tmx:rpl_received');
    expect(kamailioStatName('tm', 'inuse_transactions')).toBe('tmx:inuse_transactions');
    expect(kamailioStatName('usrloc', 'location-users')).toBe('usrloc:location_users');
    expect(kamailioStatName('core', 'rcv_requests')).toBe('core:rcv_requests');
  });

  it('parses --metrics addresses', () => {
    expect(parseMetricsAddress('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseMetricsAddress('9090')).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(parseMetricsAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseMetricsAddress('host:99999')).toBeNull();
    expect(parseMetricsAddress('nonsense')).toBeNull();
  });
});

describe('tser --metrics (CLI)', () => {
  it('serves /metrics, keeps answering during reloads, and refuses a bad address', async () => {
    const dir = tempDir('tser-metrics-cli-');
    const file = join(dir, 'tser.cfg');
    writeFileSync(file, '#!KAMAILIO\nloadmodule "sl.so"\nrequest_route { sl_send_reply("404", "Not Found"); }\n');
    const mport = await freePort();
    const sport = await freePort();
    const t = await spawnTser(['-f', file, '-l', `udp:127.0.0.1:${sport}`, '--metrics', `127.0.0.1:${mport}`], { TSER_RUN_DIR: dir });
    try {
      for (let i = 0; i < 100 && !t.output().includes('metrics endpoint ready'); i++) await new Promise((r) => setTimeout(r, 50));
      const text = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
      expect(sample(text, 'kamailio_sl_sent_replies')).toBe(0);
      // scrapes while reloads swap the script
      const scrapes: Promise<number>[] = [];
      for (let i = 0; i < 5; i++) {
        t.proc.kill('SIGHUP');
        scrapes.push(fetch(`http://127.0.0.1:${mport}/metrics`).then((r) => r.status));
      }
      expect(await Promise.all(scrapes)).toEqual([200, 200, 200, 200, 200]);
      await new Promise((r) => setTimeout(r, 1500)); // the reloaded script's routes are timed within 1 s
      const peer = await UdpPeer.open();
      try {
        await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@example.com', port: peer.port, callId: 'metrics-cli' }), sport);
        expect(statusOf((await peer.next((m) => m.text.includes('metrics-cli'))).text)).toBe(404);
      } finally {
        peer.close();
      }
      const after = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
      expect(sample(after, 'kamailio_sl_sent_replies')).toBe(1);
      expect(sample(after, 'tser_route_duration_seconds_count', 'route="request_route"')).toBe(1);
    } finally {
      await t.stop();
    }
    const bad = spawnSync(process.execPath, ['dist/src/cli.js', '-f', file, '-l', `udp:127.0.0.1:${sport}`, '--metrics', 'nowhere'], { encoding: 'utf8', env: { ...process.env, TSER_RUN_DIR: dir }, timeout: 15000 });
    expect(bad.status).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/--metrics: bad address/);
  });
});
