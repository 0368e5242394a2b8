// What a reload changes, computed without touching anything: routes added/removed/modified
// (by CompiledRoute.fingerprint), global and module parameters that can apply live versus
// those that need a restart (and keep their running value), modules added or dropped.
import type { GlobalValue, ModulePlan } from '../config/load.js';
import { coreParams, type CoreParam } from '../config/core-params.js';
import type { ModuleInstance } from '../core/server.js';
import type { CompiledRoute, RouteTables } from '../script/script.js';

export interface RouteDiff {
  added: string[];
  removed: string[];
  modified: string[];
  unchanged: number;
}

export interface ParamChange {
  /** "core" for global parameters, else the module name */
  scope: string;
  name: string;
  running: unknown;
  configured: unknown;
  /** why a change is not applied */
  why?: string;
}

/** route label as written in configs: request_route, route[NAME], failure_route[X]... */
export function routeEntries(t: RouteTables): Map<string, string> {
  const out = new Map<string, string>();
  const one = (label: string, r: CompiledRoute | null) => {
    if (r) out.set(label, r.fingerprint);
  };
  one('request_route', t.request);
  one('reply_route', t.reply);
  one('onsend_route', t.onsend);
  const many = (kw: string, m: Map<string, CompiledRoute>) => {
    for (const [name, r] of m) out.set(`${kw}[${name}]`, r.fingerprint);
  };
  many('route', t.named);
  many('failure_route', t.failure);
  many('onreply_route', t.onreply);
  many('branch_route', t.branch);
  many('event_route', t.event);
  return out;
}

export function diffRoutes(before: RouteTables, after: RouteTables): RouteDiff {
  const a = routeEntries(before);
  const b = routeEntries(after);
  const d: RouteDiff = { added: [], removed: [], modified: [], unchanged: 0 };
  for (const [k, fp] of b) {
    const old = a.get(k);
    if (old === undefined) d.added.push(k);
    else if (old !== fp) d.modified.push(k);
    else d.unchanged++;
  }
  for (const k of a.keys()) if (!b.has(k)) d.removed.push(k);
  return d;
}

function same(x: unknown, y: unknown): boolean {
  return JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
}

function shown(v: GlobalValue[] | undefined, spec: CoreParam | undefined): unknown {
  if (!v || v.length === 0) return null;
  return spec?.type === 'list' ? v : v[0];
}

export interface GlobalsDiff {
  applied: ParamChange[];
  restart: ParamChange[];
  /** the globals to run with: running values, with the live changes applied */
  globals: Map<string, GlobalValue[]>;
}

export function diffGlobals(
  running: ReadonlyMap<string, GlobalValue[]>,
  configured: ReadonlyMap<string, GlobalValue[]>,
  specs: Record<string, CoreParam> = coreParams,
): GlobalsDiff {
  const out: GlobalsDiff = { applied: [], restart: [], globals: new Map(running) };
  const names = new Set([...running.keys(), ...configured.keys()]);
  for (const name of [...names].sort()) {
    const before = running.get(name);
    const after = configured.get(name);
    if (same(before, after)) continue;
    const spec = specs[name];
    const change: ParamChange = { scope: 'core', name, running: shown(before, spec), configured: shown(after, spec) };
    if (spec?.live) {
      out.applied.push(change);
      if (after) out.globals.set(name, after);
      else out.globals.delete(name);
    } else out.restart.push({ ...change, why: 'restart required' });
  }
  return out;
}

export interface ModulesDiff {
  applied: ParamChange[];
  restart: ParamChange[];
  /** module name → full parameter set to reconfigure it with (running values + live changes) */
  reconfigure: Map<string, Record<string, unknown>>;
  added: ModulePlan[];
  /** loaded now, absent from the new config: they stay loaded until a restart */
  removed: string[];
}

export function diffModules(running: ReadonlyMap<string, ModuleInstance>, plans: readonly ModulePlan[]): ModulesDiff {
  const out: ModulesDiff = { applied: [], restart: [], reconfigure: new Map(), added: [], removed: [] };
  const planned = new Set<string>();
  for (const plan of plans) {
    const name = plan.def.name;
    planned.add(name);
    const inst = running.get(name);
    if (!inst) {
      out.added.push(plan);
      continue;
    }
    const live: Record<string, unknown> = {};
    let nLive = 0;
    for (const key of new Set([...Object.keys(inst.params), ...Object.keys(plan.params)])) {
      const spec = plan.def.params[key];
      if (!spec || spec.ignored || same(inst.params[key], plan.params[key])) continue;
      const change: ParamChange = { scope: name, name: key, running: inst.params[key] ?? null, configured: plan.params[key] ?? null };
      if (spec.live && inst.def.reconfigure) {
        live[key] = plan.params[key];
        nLive++;
        out.applied.push(change);
      } else {
        out.restart.push({ ...change, why: spec.live ? 'module cannot reconfigure at run time' : 'restart required' });
      }
    }
    if (nLive) out.reconfigure.set(name, { ...inst.params, ...live });
  }
  for (const name of running.keys()) if (!planned.has(name)) out.removed.push(name);
  return out;
}
