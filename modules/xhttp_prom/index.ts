// xhttp_prom: Kamailio's Prometheus module. Its parameters choose which statistics the
// metrics endpoint exports and under which prefix; its functions and RPC methods keep the
// script's own counters, gauges and histograms (prom-client), served with the statistics
// at `tser --metrics ADDR:PORT` (src/metrics). prom_dispatch() is accepted for Kamailio
// configs: tser has no HTTP on its SIP TCP listeners (xhttp) yet, see README.
import client from 'prom-client';
import { ANY_ROUTE, arg, ArgError, defineModule, fnFor, optional, param, Ret, RpcError, type RpcParams } from '../../src/core/module-api.js';
import type { PromSource } from '../../src/metrics/registry.js';
import { parseDeclaration, type MetricDecl } from './declare.js';

interface PromState extends PromSource {
  declared: Map<string, MetricDecl>;
  log: { warn(o: object, m: string): void };
}

type Kind = 'counter' | 'gauge' | 'histogram';
type Labels = (string | undefined)[];

const fn = fnFor<PromState>();

/** the metric called `name` (the prefix is added), created on first use with the labels used */
function metric(st: PromState, kind: Kind, name: string, labelCount: number): client.Counter | client.Gauge | client.Histogram {
  const full = `${st.prefix}${name}`;
  const have = st.registry.getSingleMetric(full);
  if (have) {
    if ((have as unknown as { type?: string }).type !== kind) throw new RpcError(400, `metric ${name} is not a ${kind}`);
    return have as client.Counter | client.Gauge | client.Histogram;
  }
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(full)) throw new RpcError(400, `invalid metric name "${name}"`);
  const d = st.declared.get(name);
  if (d && d.kind !== kind) throw new RpcError(400, `metric ${name} is declared as a ${d.kind}`);
  const labelNames = d?.labels ?? Array.from({ length: labelCount }, (_, i) => `l${i}`);
  const base = { name: full, help: `${kind} ${name} (xhttp_prom)`, labelNames, registers: [st.registry] };
  if (kind === 'counter') return new client.Counter(base);
  if (kind === 'gauge') return new client.Gauge(base);
  return new client.Histogram({ ...base, ...(d?.buckets ? { buckets: d.buckets } : {}) });
}

function labelsOf(m: { labelNames?: readonly string[] }, values: Labels): Record<string, string> {
  const names = (m).labelNames ?? [];
  const given = values.filter((v): v is string => v !== undefined);
  if (given.length !== names.length) throw new RpcError(400, `expected ${names.length} label value(s), got ${given.length}`);
  return Object.fromEntries(names.map((n, i) => [n, given[i]]));
}

function num(v: string | number | boolean | null | undefined, what: string): number {
  const n = typeof v === 'number' ? v : Number(String(v ?? '').trim());
  if (v === undefined || v === null || String(v).trim() === '' || !Number.isFinite(n)) throw new RpcError(400, `${what} must be a number`);
  return n;
}

/** one operation, for functions (codes) and RPC (throws) alike */
function apply(st: PromState, op: 'counter_inc' | 'counter_reset' | 'gauge_set' | 'gauge_reset' | 'histogram_observe', name: string, value: number, labels: Labels): void {
  const kind: Kind = op.startsWith('counter') ? 'counter' : op.startsWith('gauge') ? 'gauge' : 'histogram';
  const count = labels.filter((l) => l !== undefined).length;
  const m = metric(st, kind, name, count);
  const l = labelsOf(m as unknown as { labelNames?: readonly string[] }, labels);
  if (op === 'counter_inc') {
    if (value < 0) throw new RpcError(400, 'a counter only goes up');
    (m as client.Counter).inc(l, value);
  } else if (op === 'counter_reset') {
    if (Object.keys(l).length) (m as client.Counter).remove(l);
    else (m as client.Counter).reset();
  }
  else if (op === 'gauge_set') (m as client.Gauge).set(l, value);
  else if (op === 'gauge_reset') (m as client.Gauge).set(l, 0);
  else (m as client.Histogram).observe(l, value);
}

/** script wrapper: 1 on success, -1 (logged) on bad input */
function run(st: PromState, op: Parameters<typeof apply>[1], name: string, value: number, labels: Labels): number {
  try {
    apply(st, op, name, value, labels);
    return Ret.OK;
  } catch (e) {
    st.log.warn({ metric: name, err: (e as Error).message }, `xhttp_prom: ${op} failed`);
    return Ret.FALSE;
  }
}

const numArg = () => arg.custom<number>('number', (s) => {
  const n = Number(s.trim());
  if (s.trim() === '' || !Number.isFinite(n)) throw new ArgError(`expected a number, got "${s}"`);
  return n;
});
const lbl = () => optional(arg.str());

function rpcLabels(p: RpcParams, from: number): Labels {
  return p.slice(from, from + 3).map((v) => (v === null || v === undefined ? undefined : String(v)));
}

export default defineModule({
  name: 'xhttp_prom',
  doc: 'Prometheus metrics: statistics selection, prefix, script counters/gauges/histograms',
  deps: [],
  params: {
    xhttp_prom_stats: param.str(''),
    xhttp_prom_beginning: param.str('kamailio_'),
    xhttp_prom_buf_size: param.ignored('int'),
    xhttp_prom_timeout: param.ignored('int'),
    prom_counter: param.str('', { validate: (v) => (v === '' ? null : parseDeclaration('counter', v).error) }),
    prom_gauge: param.str('', { validate: (v) => (v === '' ? null : parseDeclaration('gauge', v).error) }),
    prom_histogram: param.str('', { validate: (v) => (v === '' ? null : parseDeclaration('histogram', v).error) }),
  },
  init: (env): PromState => {
    const declared = new Map<string, MetricDecl>();
    for (const [kind, text] of [['counter', env.params.prom_counter], ['gauge', env.params.prom_gauge], ['histogram', env.params.prom_histogram]] as const) {
      if (!text) continue;
      const d = parseDeclaration(kind, text);
      if (d.decl) declared.set(d.decl.name, d.decl);
    }
    return { stats: env.params.xhttp_prom_stats, prefix: env.params.xhttp_prom_beginning, registry: new client.Registry(), declared, log: env.log };
  },
  api: (st: PromState): PromSource => st,
  functions: {
    prom_counter_inc: fn({ args: [arg.str(), numArg(), lbl(), lbl(), lbl()], routes: ANY_ROUTE, run: (_c, st, n, v, a, b, c) => run(st, 'counter_inc', n, v, [a, b, c]) }),
    prom_counter_reset: fn({ args: [arg.str(), lbl(), lbl(), lbl()], routes: ANY_ROUTE, run: (_c, st, n, a, b, c) => run(st, 'counter_reset', n, 0, [a, b, c]) }),
    prom_gauge_set: fn({ args: [arg.str(), numArg(), lbl(), lbl(), lbl()], routes: ANY_ROUTE, run: (_c, st, n, v, a, b, c) => run(st, 'gauge_set', n, v, [a, b, c]) }),
    prom_gauge_reset: fn({ args: [arg.str(), lbl(), lbl(), lbl()], routes: ANY_ROUTE, run: (_c, st, n, a, b, c) => run(st, 'gauge_reset', n, 0, [a, b, c]) }),
    prom_histogram_observe: fn({ args: [arg.str(), numArg(), lbl(), lbl(), lbl()], routes: ANY_ROUTE, run: (_c, st, n, v, a, b, c) => run(st, 'histogram_observe', n, v, [a, b, c]) }),
    // HTTP requests never reach the script in tser (no xhttp): these are accepted so that
    // Kamailio configs load, and say "not handled"
    prom_dispatch: fn({ args: [], routes: ANY_ROUTE, run: () => Ret.FALSE }),
    prom_check_uri: fn({ args: [], routes: ANY_ROUTE, run: () => Ret.FALSE }),
  },
  rpc: {
    'xhttp_prom.counter_inc': { help: 'add to a counter: NAME NUMBER [L0 [L1 [L2]]]', run: (st, p) => (apply(st, 'counter_inc', String(p[0] ?? ''), num(p[1], 'NUMBER'), rpcLabels(p, 2)), 'Ok') },
    'xhttp_prom.counter_reset': { help: 'reset a counter: NAME [L0 [L1 [L2]]]', run: (st, p) => (apply(st, 'counter_reset', String(p[0] ?? ''), 0, rpcLabels(p, 1)), 'Ok') },
    'xhttp_prom.gauge_set': { help: 'set a gauge: NAME NUMBER [L0 [L1 [L2]]]', run: (st, p) => (apply(st, 'gauge_set', String(p[0] ?? ''), num(p[1], 'NUMBER'), rpcLabels(p, 2)), 'Ok') },
    'xhttp_prom.gauge_reset': { help: 'reset a gauge: NAME [L0 [L1 [L2]]]', run: (st, p) => (apply(st, 'gauge_reset', String(p[0] ?? ''), 0, rpcLabels(p, 1)), 'Ok') },
    'xhttp_prom.histogram_observe': { help: 'observe a value: NAME NUMBER [L0 [L1 [L2]]]', run: (st, p) => (apply(st, 'histogram_observe', String(p[0] ?? ''), num(p[1], 'NUMBER'), rpcLabels(p, 2)), 'Ok') },
    'xhttp_prom.metric_list_print': { help: 'the script metrics as Prometheus text', run: async (st) => (await st.registry.metrics()).split('\n').filter((l) => l !== '') },
  },
});
