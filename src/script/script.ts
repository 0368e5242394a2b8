// A compiled, runnable script: the route tables of one config load. A reload builds a new
// Script and swaps it in; transactions keep a reference to the Script they started with.
import type { Loc, RouteKind } from '../config/ast.js';
import type { Dialect } from '../core/dialect.js';
import { Route } from '../core/module-api.js';
import type { MsgContext } from './context.js';
import { RunFlag } from './context.js';
import type { VarStore } from './pv.js';

export type Exec = (ctx: MsgContext) => number | Promise<number>;

export interface CompiledRoute {
  kind: RouteKind;
  name: string;
  loc: Loc;
  exec: Exec;
  /** Route.* bit this route runs as */
  type: number;
  /** false when nothing in it can return a promise: its body runs as a plain loop */
  async: boolean;
  /** structural fingerprint of the source, to report what a reload changed */
  fingerprint: string;
}

export interface RouteTables {
  request: CompiledRoute | null;
  reply: CompiledRoute | null;
  onsend: CompiledRoute | null;
  named: Map<string, CompiledRoute>;
  failure: Map<string, CompiledRoute>;
  onreply: Map<string, CompiledRoute>;
  branch: Map<string, CompiledRoute>;
  event: Map<string, CompiledRoute>;
}

export function emptyRouteTables(): RouteTables {
  return {
    request: null,
    reply: null,
    onsend: null,
    named: new Map(),
    failure: new Map(),
    onreply: new Map(),
    branch: new Map(),
    event: new Map(),
  };
}

let nextScriptId = 1;

export class Script {
  readonly id = nextScriptId++;
  readonly loadedAt = Date.now();

  constructor(
    readonly dialect: Dialect,
    readonly routes: RouteTables,
    readonly vars: VarStore,
    readonly file: string,
  ) {}

  /** look a route up by Route.* type and name (tm: failure/onreply/branch routes) */
  getRoute(type: number, name: string): CompiledRoute | undefined {
    const r = this.routes;
    switch (type) {
      case Route.FAILURE:
        return r.failure.get(name);
      case Route.ONREPLY:
        return r.onreply.get(name);
      case Route.BRANCH:
        return r.branch.get(name);
      case Route.EVENT:
        return r.event.get(name);
      case Route.REQUEST:
        return r.named.get(name) ?? (name === '0' || name === 'DEFAULT' ? (r.request ?? undefined) : undefined);
      default:
        return undefined;
    }
  }

  /**
   * Run a top-level route (request, failure, onreply, branch, event) on a fresh run state.
   * Returns the route's code; the run flags stay on ctx (DROP matters to the caller).
   */
  run(route: CompiledRoute, ctx: MsgContext): number | Promise<number> {
    const savedType = ctx.routeType;
    ctx.routeType = route.type;
    ctx.runFlags = 0;
    const r = route.exec(ctx);
    if (typeof r === 'number') {
      ctx.routeType = savedType;
      return r;
    }
    return r.finally(() => {
      ctx.routeType = savedType;
    });
  }

  /** true when the last run ended with `drop` */
  static dropped(ctx: MsgContext): boolean {
    return (ctx.runFlags & RunFlag.DROP) !== 0;
  }
}
