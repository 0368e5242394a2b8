// Script run time per route for the metrics (only with --metrics): each compiled route's
// `exec` of the script in force is wrapped to time its runs (wall clock, so a route waiting
// for the DB counts its wait). route() calls look `exec` up when they run, so named routes
// called from others are timed too. A reload swaps in new routes: they are wrapped within a
// second. Per run: two performance.now() and one observe on a pre-bound label child.
import type client from 'prom-client';
import type { CompiledRoute, Script } from '../script/script.js';

type Exec = CompiledRoute['exec'];

function label(r: CompiledRoute, table: string): string {
  if (table === 'named') return r.name;
  if (table === 'request' || table === 'reply' || table === 'onsend') return `${table}_route`;
  return `${table}_route[${r.name}]`;
}

function wrapScript(script: Script, hist: client.Histogram<'route'>): void {
  const t = script.routes;
  const wrap = (r: CompiledRoute | null, table: string) => {
    if (!r) return;
    const exec: Exec = r.exec;
    const child = hist.labels(label(r, table));
    r.exec = (ctx) => {
      const t0 = performance.now();
      const out = exec(ctx);
      if (typeof out === 'number') {
        child.observe((performance.now() - t0) / 1000);
        return out;
      }
      return out.finally(() => child.observe((performance.now() - t0) / 1000));
    };
  };
  wrap(t.request, 'request');
  wrap(t.reply, 'reply');
  wrap(t.onsend, 'onsend');
  for (const [table, m] of [['named', t.named], ['failure', t.failure], ['onreply', t.onreply], ['branch', t.branch], ['event', t.event]] as const) for (const r of m.values()) wrap(r, table);
}

/** time the routes of the script in force, and of each script a reload swaps in; returns stop */
export function timeRoutes(current: () => Script, hist: client.Histogram<'route'>): () => void {
  const done = new WeakSet<Script>();
  const check = () => {
    const s = current();
    if (done.has(s)) return;
    done.add(s);
    wrapScript(s, hist);
  };
  check();
  const timer = setInterval(check, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
