// Run-time settings the control plane owns and changes: the effective global parameters
// (file values, with live changes from reloads and cfg.set) and the `debug` level.
import type { Logger } from 'pino';
import type { GlobalValue, ModulePlan } from '../config/load.js';
import type { Dialect } from '../core/dialect.js';
import { levelFromDebug } from '../core/log.js';
import type { ModuleInstance } from '../core/module-runtime.js';
import type { Script } from '../script/script.js';
import type { Stats } from '../core/stats.js';
import type { ListenSocket } from '../transport/types.js';

/** the part of Server the control plane uses (a small fake is enough in unit tests) */
export interface ControlServer {
  readonly log: Logger;
  readonly stats: Stats;
  readonly startTime: number;
  readonly dialect: Dialect;
  readonly modules: Map<string, ModuleInstance>;
  readonly inflightCount: number;
  listens(): readonly ListenSocket[];
  script(): Script;
  swapScript(script: Script, globals?: Map<string, GlobalValue[]>): void;
  holders(): Map<string, { state: unknown }>;
  addModules(plans: ModulePlan[]): Promise<void>;
  discardModules(plans: ModulePlan[]): Promise<void>;
  startAddedModules(): Promise<void>;
  setLogLevel(level: string): void;
}

export class ControlState {
  /** global parameters in force (what swapScript was last given) */
  globals: Map<string, GlobalValue[]>;

  constructor(
    private readonly server: ControlServer,
    globals: ReadonlyMap<string, GlobalValue[]>,
  ) {
    this.globals = new Map(globals);
  }

  /** the `debug` value in force: the config's, or derived from the logger level */
  get debug(): number {
    const v = this.globals.get('debug')?.[0];
    if (typeof v === 'number') return v;
    return debugFromLevel(this.server.log.level, this.server.dialect);
  }

  setDebug(n: number): void {
    this.globals.set('debug', [n]);
    this.server.setLogLevel(levelFromDebug(n, this.server.dialect));
  }
}

/** inverse of levelFromDebug (for cfg.get core debug when the config did not set it) */
export function debugFromLevel(level: string, dialect: Dialect): number {
  if (dialect === 'ser') return ({ trace: 9, debug: 4, info: 3, warn: 1, error: 0, fatal: 0, silent: 0 } as Record<string, number>)[level] ?? 3;
  return ({ trace: 3, debug: 3, info: 2, warn: 0, error: -1, fatal: -5, silent: -5 } as Record<string, number>)[level] ?? 2;
}
