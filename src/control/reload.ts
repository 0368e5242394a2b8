// Live reload of the routing script. The new file (with its includes) is read, preprocessed,
// parsed and compiled against the running module states while the old script keeps
// serving; any error leaves everything as it was and reports every file:line:col. On
// success the swap is one synchronous step (module reconfigure + globals + script), so the
// next message runs the new script; transactions keep the Script they started with.
// Single-flight: a reload requested while one runs is refused (503), never queued, and a
// failed reload leaves nothing behind that could block the next one.
import { performance } from 'node:perf_hooks';
import { bindScript, loadConfig, locText, type LoadedConfig } from '../config/load.js';
import type { Diagnostic } from '../config/diagnostics.js';
import type { Dialect } from '../core/dialect.js';
import { RpcError } from '../core/module-api.js';
import { diffGlobals, diffModules, diffRoutes, type ParamChange, type RouteDiff } from './config-diff.js';
import type { ControlServer, ControlState } from './state.js';

export interface ReloadOptions {
  file: string;
  defines: Map<string, string | true>;
  /** --dialect given at start (null: detect, as at start) */
  dialect: Dialect | null;
  /** extra "restart required" items found by the caller (control endpoints changed...) */
  restartNotes?: (cfg: LoadedConfig) => ParamChange[];
}

export interface ReloadReport {
  ok: true;
  file: string;
  reason: string;
  script_id: number;
  previous_script_id: number;
  routes: RouteDiff;
  params: { applied: ParamChange[]; restart_required: ParamChange[] };
  modules: { added: string[]; removed_still_loaded: string[] };
  warnings: string[];
  /** read + preprocess + parse + compile */
  load_ms: number;
  /** the synchronous swap (reconfigure + globals + script) */
  swap_ms: number;
  total_ms: number;
}

const ms = (x: number) => Math.round(x * 1000) / 1000;

export function diagnosticLine(d: Diagnostic): string {
  return `${locText(d.loc)}: ${d.severity}[${d.code}]: ${d.message}`;
}

export class Reloader {
  private running: { since: number; reason: string } | null = null;
  private count = 0;

  constructor(
    private readonly server: ControlServer,
    private readonly state: ControlState,
    private readonly opts: ReloadOptions,
  ) {}

  get busy(): boolean {
    return this.running !== null;
  }

  /** number of successful reloads */
  get reloads(): number {
    return this.count;
  }

  async reload(reason: string): Promise<ReloadReport> {
    if (this.running) {
      const age = Date.now() - this.running.since;
      this.server.log.warn({ reason, running: this.running.reason }, 'reload refused: one is in progress');
      throw new RpcError(503, `reload already in progress (started ${age} ms ago, requested by ${this.running.reason}); nothing was changed, try again`);
    }
    this.running = { since: Date.now(), reason };
    try {
      return await this.run(reason);
    } catch (e) {
      const data = e instanceof RpcError ? (e.data as { errors?: string[]; diagnostics?: string } | undefined) : undefined;
      this.server.log.error({ reason, err: (e as Error).message, errors: data?.errors, diagnostics: data?.diagnostics }, 'reload failed');
      throw e;
    } finally {
      this.running = null;
    }
  }

  private async run(reason: string): Promise<ReloadReport> {
    const { server, state, opts } = this;
    const t0 = performance.now();
    const cfg = await loadConfig(opts.file, { holders: server.holders(), defines: opts.defines, dialect: opts.dialect });
    const loadMs = performance.now() - t0;
    if (cfg.bag.hasErrors || !cfg.script || !cfg.dialect) {
      const errors = cfg.bag.errors();
      throw new RpcError(
        500,
        `reload failed: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${opts.file}; the running script is unchanged`,
        { errors: errors.map(diagnosticLine), diagnostics: cfg.bag.format() },
      );
    }
    if (cfg.dialect.dialect !== server.dialect) {
      throw new RpcError(500, `reload failed: the config is now ${cfg.dialect.dialect} (${cfg.dialect.reason}), the running one is ${server.dialect}; a dialect change needs a restart`, {
        errors: [],
      });
    }
    const before = server.script();
    const routes = diffRoutes(before.routes, cfg.script.routes);
    const globals = diffGlobals(state.globals, cfg.globals);
    const mods = diffModules(server.modules, cfg.modules);
    const notes = opts.restartNotes?.(cfg) ?? [];
    let script = cfg.script;
    if (mods.added.length) {
      try {
        await server.addModules(mods.added);
      } catch (e) {
        throw new RpcError(500, `reload failed: a module the new config loads did not start: ${(e as Error).message}; the running script is unchanged`, {
          errors: [],
        });
      }
      // the calls into the added modules resolve their fixups against them now
      const bound = bindScript(cfg);
      if (!bound.script) {
        await server.discardModules(mods.added);
        const errors = bound.bag.errors();
        throw new RpcError(500, `reload failed: the config does not compile against the modules it adds; the running script is unchanged`, {
          errors: errors.map(diagnosticLine),
          diagnostics: bound.bag.format(),
        });
      }
      script = bound.script;
      await server.startAddedModules();
    }

    // ---- the swap: synchronous, nothing else runs in between ----
    const t1 = performance.now();
    const restart = [...globals.restart, ...mods.restart, ...notes];
    const applied: ParamChange[] = [...globals.applied];
    for (const [name, params] of mods.reconfigure) {
      const inst = server.modules.get(name)!;
      const changes = mods.applied.filter((c) => c.scope === name);
      try {
        inst.def.reconfigure!(inst.holder.state, params);
        inst.params = params;
        applied.push(...changes);
      } catch (e) {
        restart.push(...changes.map((c) => ({ ...c, why: `reconfigure failed: ${(e as Error).message}` })));
      }
    }
    const debugChanged = globals.applied.some((c) => c.name === 'debug');
    state.globals = globals.globals;
    server.swapScript(script, state.globals);
    if (debugChanged && typeof state.globals.get('debug')?.[0] === 'number') state.setDebug(state.globals.get('debug')![0] as number);
    const swapMs = performance.now() - t1;
    this.count++;

    const report: ReloadReport = {
      ok: true,
      file: opts.file,
      reason,
      script_id: script.id,
      previous_script_id: before.id,
      routes,
      params: { applied, restart_required: restart },
      modules: { added: mods.added.map((p) => p.def.name), removed_still_loaded: mods.removed },
      warnings: cfg.bag.items.filter((d) => d.severity === 'warning').map(diagnosticLine),
      load_ms: ms(loadMs),
      swap_ms: ms(swapMs),
      total_ms: ms(performance.now() - t0),
    };
    server.log.info(
      {
        reason,
        script: report.script_id,
        added: routes.added.length,
        removed: routes.removed.length,
        modified: routes.modified.length,
        applied: applied.map((c) => `${c.scope}.${c.name}`),
        restartRequired: restart.map((c) => `${c.scope}.${c.name}`),
        swapMs: report.swap_ms,
      },
      'routing script reloaded',
    );
    return report;
  }
}
