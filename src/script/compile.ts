// Compile the checked AST into closures, once per load. Every function name, argument and
// pseudo-variable is resolved here; per message only the closures run. Control flow uses
// run flags on the context (Kamailio EXIT/RETURN/BREAK/DROP), never exceptions.
import { BlockList, isIP } from 'node:net';
import type * as A from '../config/ast.js';
import type { DiagnosticBag } from '../config/diagnostics.js';
import { closest, locText } from '../config/diagnostics.js';
import type { Dialect } from '../core/dialect.js';
import { ArgError, type ArgSpec, type FunctionSpec, type PvSpec, Route } from '../core/module-api.js';
import { parseUri, SipParseError } from '../sip/index.js';
import { type MsgContext, RunFlag } from './context.js';
import { compileTransform, resolveCorePv, type PvAccess, type PvRefSpec, type VarStore } from './pv.js';
import type { CompiledRoute, Exec, RouteTables } from './script.js';
import { parseTemplate } from './template.js';
import { binaryFn, isPromise, lift, toInt, toStr, truthy, type Val } from './values.js';
import { sequence, sequenceFrom, type Compiled } from './sequence.js';

type Ev = (ctx: MsgContext) => Val | Promise<Val>;
type Cond = (ctx: MsgContext) => boolean | Promise<boolean>;

/** a module-state holder: compiled calls read `.state` so -c can compile without init */
export interface StateHolder {
  state: unknown;
}

export interface ResolvedFunction {
  module: string;
  spec: FunctionSpec<unknown>;
  holder: StateHolder;
}

export interface ResolvedPv {
  module: string;
  spec: PvSpec<unknown>;
  holder: StateHolder;
}

export interface CompileEnv {
  dialect: Dialect;
  bag: DiagnosticBag;
  functions: Map<string, ResolvedFunction>;
  modulePvs: Map<string, ResolvedPv>;
  vars: VarStore;
  routes: RouteTables;
  /** global config values the script may read (max_len, max_while_loops) */
  global: (name: string) => string | number | boolean | null | undefined;
  /** names of functions tser knows but whose module is not loaded, for hints */
  knownElsewhere: (name: string) => string | null;
}

// ---------------- helpers ----------------

const routeTypeNames: Record<number, string> = {
  [Route.REQUEST]: 'request_route',
  [Route.FAILURE]: 'failure_route',
  [Route.ONREPLY]: 'onreply_route',
  [Route.BRANCH]: 'branch_route',
  [Route.ONSEND]: 'onsend_route',
  [Route.EVENT]: 'event_route',
  [Route.REPLY]: 'reply_route',
};

export function routeTypeOf(kind: A.RouteKind): number {
  switch (kind) {
    case 'request':
    case 'named':
      return Route.REQUEST;
    case 'failure':
      return Route.FAILURE;
    case 'onreply':
      return Route.ONREPLY;
    case 'branch':
      return Route.BRANCH;
    case 'onsend':
      return Route.ONSEND;
    case 'event':
      return Route.EVENT;
    case 'reply':
      return Route.REPLY;
  }
}

interface Scope {
  routeType: number;
  /** checking calls against the route type (off inside route[N], which any route may call) */
  checkRouteType: boolean;
  inLoop: number;
  routeName: string;
}

// ---------------- the compiler ----------------

export class Compiler {
  /**
   * Bumped by every call that may return a promise (async module functions, route calls):
   * a statement whose expressions compiled without a bump is synchronous, so a block of
   * such statements runs as a plain loop (async decided per expression, at compile time).
   */
  private asyncMarks = 0;

  constructor(private readonly env: CompileEnv) {}

  /** did compiling `f` compile anything that may return a promise? */
  private watch<T>(f: () => T): { value: T; async: boolean } {
    const before = this.asyncMarks;
    const value = f();
    return { value, async: this.asyncMarks !== before };
  }

  compileRoute(block: A.RouteBlock, type: number, name: string): CompiledRoute {
    const scope: Scope = {
      routeType: type,
      checkRouteType: block.routeKind !== 'named',
      inLoop: 0,
      routeName: name,
    };
    const body = this.block(block.body.body, scope);
    return {
      kind: block.routeKind,
      name,
      loc: block.loc,
      type,
      exec: body.run,
      async: body.async,
      fingerprint: fingerprint(block.body),
    };
  }

  // ---------- statements ----------

  private block(stmts: A.Stmt[], scope: Scope): Compiled {
    const parts = stmts.filter((s) => s.kind !== 'empty').map((s) => this.stmt(s, scope));
    return sequence(parts);
  }

  private stmt(s: A.Stmt, scope: Scope): Compiled {
    switch (s.kind) {
      case 'block':
        return this.block(s.body, scope);
      case 'empty':
        return { run: () => 1, async: false };
      case 'if':
        return this.ifStmt(s, scope);
      case 'switch':
        return this.switchStmt(s, scope);
      case 'while':
        return this.whileStmt(s, scope);
      case 'break':
        return this.breakStmt(scope);
      case 'exit': {
        const v = s.value ? this.expr(s.value, scope) : null;
        return {
          async: false,
          run: (ctx) => {
            ctx.runFlags |= RunFlag.EXIT;
            return v ? toInt(v(ctx) as Val) : 0;
          },
        };
      }
      case 'drop':
        return {
          async: false,
          run: (ctx) => {
            ctx.runFlags |= RunFlag.EXIT | RunFlag.DROP;
            return 0;
          },
        };
      case 'return':
        return this.returnStmt(s, scope);
      case 'route_call':
        return this.routeCall(s, scope);
      case 'assign':
        return this.assign(s, scope);
      case 'expr_stmt':
        return this.exprStmt(s.expr, scope);
    }
  }

  private breakStmt(scope: Scope): Compiled {
    if (scope.inLoop > 0) {
      return {
        async: false,
        run: (ctx) => {
          ctx.runFlags |= RunFlag.BREAK;
          return 1;
        },
      };
    }
    // SER 0.9: `break` is `drop`: ends the current route (route(N) turns it into 1 for
    // the caller). Kamailio outside a loop: leaves the current route the same way.
    return {
      async: false,
      run: (ctx) => {
        ctx.runFlags |= this.env.dialect === 'ser' ? RunFlag.EXIT : RunFlag.RETURN;
        return this.env.dialect === 'ser' ? 0 : 1;
      },
    };
  }

  private returnStmt(s: A.ReturnStmt, scope: Scope): Compiled {
    const { value: v, async } = this.watch(() => (s.value ? this.expr(s.value, scope) : null));
    const finish = (ctx: MsgContext, x: Val): number => {
      const n = x === null ? 1 : toInt(x);
      ctx.runFlags |= RunFlag.RETURN;
      // Kamailio: return(0) stops the whole script
      if (n === 0) ctx.runFlags |= RunFlag.EXIT;
      return n;
    };
    if (!v) return { async: false, run: (ctx) => finish(ctx, null) };
    return {
      async,
      run: (ctx) => {
        const x = v(ctx);
        return isPromise(x) ? x.then((y) => finish(ctx, y)) : finish(ctx, x);
      },
    };
  }

  private ifStmt(s: A.IfStmt, scope: Scope): Compiled {
    const c = this.watch(() => this.cond(s.cond, scope));
    const cond = c.value;
    const thenC = this.stmt(s.then, scope);
    const elsC = s.else ? this.stmt(s.else, scope) : null;
    const then = thenC.run;
    const els = elsC ? elsC.run : null;
    const pick = (ctx: MsgContext, b: boolean): number | Promise<number> => {
      if (ctx.runFlags !== 0) return 0; // a call in the condition returned 0: stop
      if (b) return then(ctx);
      return els ? els(ctx) : 1;
    };
    return {
      async: c.async || thenC.async || elsC?.async === true,
      run: (ctx) => {
        const b = cond(ctx);
        return typeof b === 'boolean' ? pick(ctx, b) : b.then((x) => pick(ctx, x));
      },
    };
  }

  private switchStmt(s: A.SwitchStmt, scope: Scope): Compiled {
    const subj = this.watch(() => this.expr(s.subject, scope));
    const subject = subj.value;
    const inner: Scope = { ...scope, inLoop: scope.inLoop + 1 };
    // flatten case bodies into one statement list with entry points (fall-through)
    const bodies: Compiled[] = [];
    const entries = new Map<string, number>();
    const regexes: { re: RegExp; at: number }[] = [];
    let defaultAt = -1;
    let sawInt = false;
    let sawStr = false;
    for (const c of s.cases) {
      const at = bodies.length;
      if (c.value === null) defaultAt = at;
      else {
        const k = constValue(c.value);
        if (k === undefined) {
          this.env.bag.error('TSER_E_CASE_NOT_CONST', 'case label must be a constant', c.value.loc);
        } else if (c.isRegex) {
          try {
            regexes.push({ re: new RegExp(toStr(k), 'i'), at });
          } catch (e) {
            this.env.bag.error('TSER_E_BAD_REGEX', `bad regular expression: ${(e as Error).message}`, c.value.loc);
          }
        } else {
          if (typeof k === 'number') sawInt = true;
          else sawStr = true;
          entries.set(toStr(k), at);
        }
      }
      for (const st of c.body) if (st.kind !== 'empty') bodies.push(this.stmt(st, inner));
    }
    if (sawInt && sawStr)
      this.env.bag.error('TSER_E_SWITCH_MIXED', 'bad switch(): mixed integer and string case labels', s.loc);
    const runFrom = sequenceFrom(bodies);
    const dispatch = (ctx: MsgContext, v: Val): number | Promise<number> => {
      const key = toStr(v);
      let at = entries.get(key);
      if (at === undefined) for (const r of regexes) if (r.re.test(key)) at = r.at;
      if (at === undefined) at = defaultAt;
      if (at < 0) return 1;
      const r = runFrom(ctx, at);
      const done = (n: number): number => {
        ctx.runFlags &= ~RunFlag.BREAK;
        return n;
      };
      return typeof r === 'number' ? done(r) : r.then(done);
    };
    return {
      async: subj.async || bodies.some((b) => b.async),
      run: (ctx) => {
        const v = subject(ctx);
        return isPromise(v) ? v.then((x) => dispatch(ctx, x)) : dispatch(ctx, v);
      },
    };
  }

  private whileStmt(s: A.WhileStmt, scope: Scope): Compiled {
    const c = this.watch(() => this.cond(s.cond, scope));
    const cond = c.value;
    const bodyC = this.stmt(s.body, { ...scope, inLoop: scope.inLoop + 1 });
    const body = bodyC.run;
    const max = Number(this.env.global('max_while_loops') ?? 100) || 100;
    const log = (ctx: MsgContext) =>
      ctx.log.warn({ cfg: locText(s.loc) }, 'while loop stopped after max_while_loops iterations');
    const loop = (ctx: MsgContext, i: number, last: number): number | Promise<number> => {
      for (; ; i++) {
        if (i >= max) {
          log(ctx);
          return last;
        }
        const c = cond(ctx);
        if (typeof c !== 'boolean') return c.then((b) => (b && ctx.runFlags === 0 ? step(ctx, i) : last));
        if (!c || ctx.runFlags !== 0) return last;
        const r = body(ctx);
        if (typeof r !== 'number') return r.then((n) => after(ctx, i, n));
        last = r;
        if (ctx.runFlags !== 0) return finishLoop(ctx, last);
      }
    };
    const step = (ctx: MsgContext, i: number): number | Promise<number> => {
      const r = body(ctx);
      return typeof r === 'number' ? after(ctx, i, r) : r.then((n) => after(ctx, i, n));
    };
    const after = (ctx: MsgContext, i: number, n: number): number | Promise<number> =>
      ctx.runFlags !== 0 ? finishLoop(ctx, n) : loop(ctx, i + 1, n);
    const finishLoop = (ctx: MsgContext, n: number): number => {
      ctx.runFlags &= ~RunFlag.BREAK;
      return n;
    };
    return { async: c.async || bodyC.async, run: (ctx) => loop(ctx, 0, 1) };
  }

  private routeCall(s: A.RouteCall, scope: Scope): Compiled {
    // the target may be compiled later (or be this route): count it as async
    this.asyncMarks++;
    const ser = this.env.dialect === 'ser';
    const finish = (ctx: MsgContext, r: number): number => {
      if (ser) {
        // SER 0.9: 0 (break/drop) becomes 1 for the caller, negatives propagate
        ctx.runFlags &= ~(RunFlag.EXIT | RunFlag.RETURN | RunFlag.BREAK);
        r = r < 0 ? r : 1;
      } else {
        ctx.runFlags &= ~(RunFlag.RETURN | RunFlag.BREAK);
      }
      ctx.rc = r;
      return r;
    };
    const invoke = (ctx: MsgContext, target: CompiledRoute | undefined, name: string): number | Promise<number> => {
      if (!target) {
        ctx.log.error({ cfg: locText(s.loc), route: name }, 'route() to an undefined route');
        return -1;
      }
      const r = target.exec(ctx);
      return typeof r === 'number' ? finish(ctx, r) : r.then((n) => finish(ctx, n));
    };
    if (s.name !== null) {
      const name = s.name;
      const routes = this.env.routes;
      if (!routes.named.has(name) && !(name === '0' && routes.request)) {
        const near = closest(name, routes.named.keys());
        this.env.bag.error('TSER_E_UNKNOWN_ROUTE', `route "${name}" is not defined`, s.loc, {
          help: near ? `did you mean route(${near})?` : undefined,
        });
      }
      // resolved at first use: routes may call routes defined later (or themselves)
      let target: CompiledRoute | undefined;
      return {
        async: true,
        run: (ctx) => {
          target ??= routes.named.get(name) ?? (name === '0' ? (routes.request ?? undefined) : undefined);
          return invoke(ctx, target, name);
        },
      };
    }
    const dyn = this.expr(s.dynamic!, scope);
    const routes = this.env.routes;
    return {
      async: true,
      run: (ctx) => {
        const v = dyn(ctx);
        const go = (x: Val) => invoke(ctx, routes.named.get(toStr(x)), toStr(x));
        return isPromise(v) ? v.then(go) : go(v);
      },
    };
  }

  private assign(s: A.AssignStmt, scope: Scope): Compiled {
    const pv = this.pv(s.target);
    if (!pv) return { run: () => -1, async: false };
    const set = pv.set;
    if (!set) {
      this.env.bag.error('TSER_E_PV_READONLY', `${pv.text} cannot be assigned`, s.target.loc);
      return { run: () => -1, async: false };
    }
    const val = this.watch(() => this.expr(s.value, scope));
    const value = val.value;
    const get = pv.get;
    const apply =
      s.op === '+='
        ? (ctx: MsgContext, v: Val) => {
            const cur = get(ctx);
            set(ctx, typeof cur === 'number' && typeof v === 'number' ? cur + v : toStr(cur) + toStr(v));
            return 1;
          }
        : (ctx: MsgContext, v: Val) => {
            set(ctx, v);
            return 1;
          };
    return {
      async: val.async,
      run: (ctx) => {
        const v = value(ctx);
        return isPromise(v) ? v.then((x) => apply(ctx, x)) : apply(ctx, v);
      },
    };
  }

  private exprStmt(e: A.Expr, scope: Scope): Compiled {
    if (e.kind === 'call') {
      const call = this.call(e, scope);
      if (call) return { run: call.run, async: call.async };
      return { run: () => -1, async: false };
    }
    const { value: ev, async } = this.watch(() => this.expr(e, scope));
    return {
      async,
      run: (ctx) => {
        const v = ev(ctx);
        return isPromise(v) ? v.then(toInt) : toInt(v);
      },
    };
  }

  // ---------- calls ----------

  /** a function call: returns an Exec giving the return code, with $rc and the 0-stops rule */
  private call(e: A.CallExpr, scope: Scope): Compiled | null {
    // `if (route(CHECK))`: a route used as an expression gives its return value
    if (e.name === 'route' && !this.env.functions.has('route') && e.args.length === 1) {
      const k = constValue(e.args[0]);
      const name = k === undefined ? null : toStr(k);
      return this.routeCall({ kind: 'route_call', name, dynamic: name === null ? e.args[0] : null, loc: e.loc }, scope);
    }
    const f = this.env.functions.get(e.name);
    if (!f) {
      const where = this.env.knownElsewhere(e.name);
      const near = closest(e.name, this.env.functions.keys());
      this.env.bag.error('TSER_E_UNKNOWN_FUNCTION', `unknown function "${e.name}"`, e.nameLoc, {
        help: where
          ? `"${e.name}" is provided by module ${where}: add loadmodule "${where}.so"`
          : near
            ? `did you mean "${near}" (module ${this.env.functions.get(near)!.module})?`
            : undefined,
      });
      return null;
    }
    const { spec, holder } = f;
    if (spec.dialects && !spec.dialects.includes(this.env.dialect)) {
      this.env.bag.error(
        'TSER_E_DIALECT_FUNCTION',
        `function "${e.name}" exists only in the ${spec.dialects.join('/')} dialect`,
        e.nameLoc,
      );
    }
    const required = spec.args.filter((a) => !a.optional).length;
    if (e.args.length < required || e.args.length > spec.args.length) {
      const range = required === spec.args.length ? `${required}` : `${required} to ${spec.args.length}`;
      this.env.bag.error(
        'TSER_E_ARG_COUNT',
        `function "${e.name}" takes ${range} argument${spec.args.length === 1 ? '' : 's'}, got ${e.args.length}`,
        e.loc,
      );
      return null;
    }
    if (scope.checkRouteType && (spec.routes & scope.routeType) === 0) {
      this.env.bag.error(
        'TSER_E_ROUTE_TYPE',
        `function "${e.name}" cannot be used in ${routeTypeNames[scope.routeType] ?? 'this route'}`,
        e.nameLoc,
      );
    }
    const argFns: ArgGetter[] = [];
    const args = this.watch(() =>
      e.args.forEach((a, i) => {
        const g = this.arg(a, spec.args[i], e.name, scope, holder);
        if (g) argFns.push(g);
      }),
    );
    if (argFns.length !== e.args.length) return null;
    const isAsync = spec.async === true || args.async;
    if (isAsync) this.asyncMarks++;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- spec functions never use `this`
    const run = spec.run as (ctx: MsgContext, self: unknown, ...args: unknown[]) => number | Promise<number>;
    const site = locText(e.loc);
    const fname = e.name;
    const post = (ctx: MsgContext, r: number): number => {
      ctx.rc = r;
      if (r === 0) ctx.runFlags |= RunFlag.EXIT;
      return r;
    };
    const fail = (ctx: MsgContext, err: unknown): number => {
      // a header the function needs does not parse: the request's fault, not an internal
      // error, and not worth a log line per message (the function just fails, as in Kamailio)
      if (err instanceof SipParseError) ctx.log.debug({ cfg: site, fn: fname, err: err.message }, 'script function failed: unparsable header');
      else ctx.log.error({ cfg: site, fn: fname, err: (err as Error).message }, 'script function failed');
      return post(ctx, -1);
    };
    const settle = (ctx: MsgContext, r: number | Promise<number>): number | Promise<number> =>
      typeof r === 'number' ? post(ctx, r) : r.then((n) => post(ctx, n), (err) => fail(ctx, err));
    const invoke = (ctx: MsgContext, args: unknown[]): number | Promise<number> => {
      try {
        return settle(ctx, run(ctx, holder.state, ...args));
      } catch (err) {
        return fail(ctx, err);
      }
    };
    const allConst = argFns.every((g) => g.isConst);
    // specialise by arity so the common constant-argument calls build no arrays per message
    if (allConst) {
      const vals = argFns.map((g) => g.constValue);
      const [a0, a1, a2] = vals;
      let r: Exec;
      switch (vals.length) {
        case 0:
          r = (ctx) => {
            try {
              return settle(ctx, run(ctx, holder.state));
            } catch (err) {
              return fail(ctx, err);
            }
          };
          break;
        case 1:
          r = (ctx) => {
            try {
              return settle(ctx, run(ctx, holder.state, a0));
            } catch (err) {
              return fail(ctx, err);
            }
          };
          break;
        case 2:
          r = (ctx) => {
            try {
              return settle(ctx, run(ctx, holder.state, a0, a1));
            } catch (err) {
              return fail(ctx, err);
            }
          };
          break;
        case 3:
          r = (ctx) => {
            try {
              return settle(ctx, run(ctx, holder.state, a0, a1, a2));
            } catch (err) {
              return fail(ctx, err);
            }
          };
          break;
        default:
          r = (ctx) => invoke(ctx, vals);
      }
      return { run: r, async: isAsync };
    }
    // dynamic arguments: evaluate, parse (fixup at run time), then call
    return {
      async: isAsync,
      run: (ctx) => {
        const vals: unknown[] = new Array(argFns.length);
        let pending: Promise<void>[] | null = null;
        for (let i = 0; i < argFns.length; i++) {
          const g = argFns[i];
          if (g.isConst) {
            vals[i] = g.constValue;
            continue;
          }
          let v: unknown;
          try {
            v = g.dynamic!(ctx);
          } catch (err) {
            return fail(ctx, err);
          }
          if (isPromise(v)) {
            (pending ??= []).push(
              (v).then((x) => {
                vals[i] = x;
              }),
            );
          } else vals[i] = v;
        }
        if (pending) return Promise.all(pending).then(() => invoke(ctx, vals), (err) => fail(ctx, err));
        return invoke(ctx, vals);
      },
    };
  }

  private arg(a: A.Expr, spec: ArgSpec<unknown>, fname: string, scope: Scope, holder: StateHolder): ArgGetter | null {
    const site = { where: locText(a.loc), dialect: this.env.dialect };
    const constant = constValue(a);
    // regexes and static args are never expanded; SER 0.9 strings have no variables
    const expand = spec.kind !== 'regex' && !spec.static && this.env.dialect === 'kamailio';
    let template: Ev | null = null;
    if (constant !== undefined && typeof constant === 'string' && expand && constant.includes('$')) {
      template = this.template(constant, a.loc);
    }
    const resolve = spec.resolve;
    if (constant !== undefined && template === null) {
      const text = toStr(constant);
      if (spec.routeType !== undefined) this.checkRouteRef(text, spec.routeType, a.loc);
      let value: unknown;
      try {
        value = spec.parse(text, site);
        // the fixup with module state: now when the module has started (the normal case),
        // else on first use (`tser -c` never runs the script; test harnesses start modules late)
        if (resolve === undefined) return { isConst: true, constValue: value, dynamic: null };
        if (holder.state !== undefined) return { isConst: true, constValue: resolve(value, holder.state), dynamic: null };
      } catch (err) {
        this.env.bag.error('TSER_E_BAD_ARG', `bad argument for ${fname}(): ${(err as Error).message}`, a.loc);
        return null;
      }
      let memo: unknown = UNRESOLVED;
      return {
        isConst: false,
        constValue: undefined,
        dynamic: () => (memo === UNRESOLVED ? (memo = resolve(value, holder.state)) : memo),
      };
    }
    if (spec.static) {
      this.env.bag.error('TSER_E_ARG_NOT_STATIC', `argument of ${fname}() must be a constant ${spec.kind}`, a.loc);
      return null;
    }
    const ev = template ?? this.expr(a, scope);
    const parse = spec.parse;
    const where = locText(a.loc);
    return {
      isConst: false,
      constValue: undefined,
      dynamic: (ctx) => {
        const v = ev(ctx);
        const conv = (x: Val): unknown => {
          try {
            const parsed = parse(toStr(x), site);
            return resolve === undefined ? parsed : resolve(parsed, holder.state);
          } catch (err) {
            if (err instanceof ArgError) throw new Error(`${where}: ${err.message}`);
            throw err;
          }
        };
        return isPromise(v) ? v.then(conv) : conv(v);
      },
    };
  }

  private checkRouteRef(name: string, type: number, loc: A.Loc): void {
    const r = this.env.routes;
    const table =
      type === Route.FAILURE ? r.failure : type === Route.ONREPLY ? r.onreply : type === Route.BRANCH ? r.branch : r.event;
    if (!table.has(name)) {
      const kind = routeTypeNames[type] ?? 'route';
      const near = closest(name, table.keys());
      this.env.bag.error('TSER_E_UNKNOWN_ROUTE', `${kind}[${name}] is not defined`, loc, {
        help: near ? `did you mean ${kind}[${near}]?` : undefined,
      });
    }
  }

  // ---------- pseudo-variables ----------

  pv(ref: A.PvRef | PvRefSpec, loc?: A.Loc): PvAccess | null {
    const spec: PvRefSpec =
      'kind' in ref
        ? {
            name: ref.name,
            inner: ref.inner,
            index: ref.index,
            transforms: ref.transforms,
            text: pvText(ref),
          }
        : ref;
    const where = 'kind' in ref ? ref.loc : (loc ?? null);
    let access: PvAccess | null;
    try {
      access = resolveCorePv(spec, this.env.vars);
      if (!access) {
        const m = this.env.modulePvs.get(spec.name);
        if (m) {
          const inner = m.spec.parseInner ? m.spec.parseInner(spec.inner) : spec.inner;
          // eslint-disable-next-line @typescript-eslint/unbound-method -- spec functions never use `this`
          const { get, set } = m.spec;
          const holder = m.holder;
          access = {
            text: spec.text,
            get: (ctx) => get(ctx, holder.state, inner),
            set: set ? (ctx, v) => set(ctx, holder.state, inner, v) : null,
          };
        }
      }
    } catch (err) {
      this.env.bag.error('TSER_E_BAD_PV', (err as Error).message, where);
      return null;
    }
    if (!access) {
      this.env.bag.error('TSER_E_UNKNOWN_PV', `unknown pseudo-variable ${spec.text}`, where);
      return null;
    }
    if (spec.transforms.length > 0) {
      try {
        const trs = spec.transforms.map(compileTransform);
        const base = access.get;
        access = {
          text: access.text,
          set: null,
          get: (ctx) => {
            let v = base(ctx);
            for (const t of trs) v = t(v);
            return v;
          },
        };
      } catch (err) {
        this.env.bag.error('TSER_E_BAD_TRANSFORM', (err as Error).message, where);
        return null;
      }
    }
    // reading a header of a message that does not have it must not throw through the script
    const get = access.get;
    return {
      ...access,
      get: (ctx) => {
        try {
          return get(ctx);
        } catch {
          return null;
        }
      },
    };
  }

  private template(text: string, loc: A.Loc): Ev {
    const parts = parseTemplate(text).map((p) => {
      if (typeof p === 'string') return p;
      const pv = this.pv(p, loc);
      return pv ? pv.get : () => p.text;
    });
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const g = parts[0];
      return (ctx) => g(ctx);
    }
    return (ctx) => {
      let s = '';
      for (const p of parts) s += typeof p === 'string' ? p : toStr(p(ctx));
      return s;
    };
  }

  // ---------- expressions ----------

  /** compile an expression used as a condition */
  cond(e: A.Expr, scope: Scope): Cond {
    if (e.kind === 'call' && !this.env.functions.has(e.name)) {
      // strlen/strempty/selval: values, not functions with a return code
      const builtin = this.builtin(e, scope);
      if (builtin) {
        return (ctx) => {
          const v = builtin(ctx);
          return isPromise(v) ? v.then(truthy) : truthy(v);
        };
      }
    }
    if (e.kind === 'call') {
      const c = this.call(e, scope);
      if (!c) return () => false;
      const run = c.run;
      return (ctx) => {
        const r = run(ctx);
        return typeof r === 'number' ? r > 0 : r.then((n) => n > 0);
      };
    }
    if (e.kind === 'unary' && e.op === '!') {
      const inner = this.cond(e.operand, scope);
      return (ctx) => {
        const b = inner(ctx);
        return typeof b === 'boolean' ? !b : b.then((x) => !x);
      };
    }
    if (e.kind === 'binary' && (e.op === '&&' || e.op === '||' || (this.env.dialect === 'ser' && (e.op === '&' || e.op === '|')))) {
      const l = this.cond(e.left, scope);
      const r = this.cond(e.right, scope);
      const and = e.op === '&&' || e.op === '&';
      return (ctx) => {
        const a = l(ctx);
        const next = (x: boolean): boolean | Promise<boolean> => {
          if (ctx.runFlags & RunFlag.EXIT) return false;
          return and ? (x ? r(ctx) : false) : x ? true : r(ctx);
        };
        return typeof a === 'boolean' ? next(a) : a.then(next);
      };
    }
    const ev = this.expr(e, scope);
    return (ctx) => {
      const v = ev(ctx);
      return isPromise(v) ? v.then(truthy) : truthy(v);
    };
  }

  expr(e: A.Expr, scope: Scope): Ev {
    switch (e.kind) {
      case 'int':
      case 'str': {
        const v = e.value;
        if (e.kind === 'str' && this.env.dialect === 'kamailio' && !e.raw && !e.bare && e.value.includes('$'))
          return this.template(e.value, e.loc);
        return () => v;
      }
      case 'null':
        return () => null;
      case 'ip': {
        const t = e.text;
        return () => t;
      }
      case 'myself':
        return () => 'myself';
      case 'pv': {
        const pv = this.pv(e);
        if (!pv) return () => null;
        return pv.get;
      }
      case 'call': {
        const builtin = this.builtin(e, scope);
        if (builtin) return builtin;
        const c = this.call(e, scope);
        if (!c) return () => null;
        return c.run;
      }
      case 'operand':
        return this.operand(e);
      case 'cast': {
        const inner = this.expr(e.operand, scope);
        const conv: (v: Val) => Val = e.to === 'int' ? toInt : toStr;
        return (ctx) => {
          const v = inner(ctx);
          return isPromise(v) ? v.then(conv) : conv(v);
        };
      }
      case 'unary':
        return this.unary(e, scope);
      case 'binary':
        return this.binary(e, scope);
    }
  }

  /** expression-only built-ins (Kamailio rval functions) */
  private builtin(e: A.CallExpr, scope: Scope): Ev | null {
    const arg0 = e.args[0];
    switch (e.name) {
      case 'strlen': {
        if (!arg0) return null;
        const v = this.expr(arg0, scope);
        return (ctx) => lift(v(ctx), (x) => toStr(x).length);
      }
      case 'strempty': {
        if (!arg0) return null;
        const v = this.expr(arg0, scope);
        return (ctx) => lift(v(ctx), (x) => (toStr(x) === '' ? 1 : 0));
      }
      case 'selval': {
        if (e.args.length !== 3) return null;
        const c = this.cond(e.args[0], scope);
        const a = this.expr(e.args[1], scope);
        const b = this.expr(e.args[2], scope);
        return (ctx) => {
          const x = c(ctx);
          return typeof x === 'boolean' ? (x ? a(ctx) : b(ctx)) : x.then((y) => (y ? a(ctx) : b(ctx)));
        };
      }
      default:
        return null;
    }
  }

  private unary(e: A.UnaryExpr, scope: Scope): Ev {
    if (e.op === '!') {
      const c = this.cond(e.operand, scope);
      return (ctx) => {
        const b = c(ctx);
        return typeof b === 'boolean' ? (b ? 0 : 1) : b.then((x) => (x ? 0 : 1));
      };
    }
    if (e.op === 'defined') {
      const v = this.expr(e.operand, scope);
      return (ctx) => lift(v(ctx), (x) => (x === null ? 0 : 1));
    }
    const v = this.expr(e.operand, scope);
    if (e.op === '-') return (ctx) => lift(v(ctx), (x) => -toInt(x));
    return (ctx) => lift(v(ctx), (x) => ~toInt(x));
  }

  private binary(e: A.BinaryExpr, scope: Scope): Ev {
    const op = e.op;
    if (op === '&&' || op === '||' || (this.env.dialect === 'ser' && (op === '&' || op === '|'))) {
      const c = this.cond(e, scope);
      return (ctx) => {
        const b = c(ctx);
        return typeof b === 'boolean' ? (b ? 1 : 0) : b.then((x) => (x ? 1 : 0));
      };
    }
    // comparisons against `myself` and IP networks are decided at load
    if ((op === '==' || op === '!=') && (e.right.kind === 'myself' || e.left.kind === 'myself')) {
      const other = e.right.kind === 'myself' ? e.left : e.right;
      return this.myselfCmp(other, op === '!=', scope);
    }
    if ((op === '==' || op === '!=') && e.right.kind === 'ip') {
      const test = this.ipTest(e.right);
      if (test) {
        const l = this.expr(e.left, scope);
        const neg = op === '!=';
        return (ctx) => lift(l(ctx), (x) => (test(toStr(x)) !== neg ? 1 : 0));
      }
    }
    if (op === '=~' || op === '!~') {
      return this.match(e, scope);
    }
    const l = this.expr(e.left, scope);
    const r = this.expr(e.right, scope);
    const caseless = isMethodOperand(e.left) || isMethodOperand(e.right) || isProtoOperand(e.left);
    const f = binaryFn(op, caseless);
    const lc = constValue(e.left);
    const rc = constValue(e.right);
    if (lc !== undefined && rc !== undefined) {
      const folded = f(lc, rc);
      return () => folded;
    }
    return (ctx) => {
      const a = l(ctx);
      if (isPromise(a)) return a.then((x) => lift(r(ctx), (y) => f(x, y)));
      const b = r(ctx);
      return isPromise(b) ? b.then((y) => f(a, y)) : f(a, b);
    };
  }

  private match(e: A.BinaryExpr, scope: Scope): Ev {
    const neg = e.op === '!~';
    const l = this.expr(e.left, scope);
    const rc = constValue(e.right);
    if (rc !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(toStr(rc), 'i');
      } catch (err) {
        this.env.bag.error('TSER_E_BAD_REGEX', `bad regular expression: ${(err as Error).message}`, e.right.loc);
        return () => 0;
      }
      return (ctx) => lift(l(ctx), (x) => (re.test(toStr(x)) !== neg ? 1 : 0));
    }
    const r = this.expr(e.right, scope);
    const cache = new Map<string, RegExp | null>();
    const test = (x: Val, y: Val): number => {
      const src = toStr(y);
      let re = cache.get(src);
      if (re === undefined) {
        try {
          re = new RegExp(src, 'i');
        } catch {
          re = null;
        }
        if (cache.size > 100) cache.clear();
        cache.set(src, re);
      }
      if (!re) return 0;
      return re.test(toStr(x)) !== neg ? 1 : 0;
    };
    return (ctx) => {
      const a = l(ctx);
      if (isPromise(a)) return a.then((x) => lift(r(ctx), (y) => test(x, y)));
      return lift(r(ctx), (y) => test(a, y));
    };
  }

  private ipTest(e: A.IpLit): ((ip: string) => boolean) | null {
    const text = e.text.replace(/^\[|\]$/g, '');
    const [addr = '', mask] = text.split('/');
    const a = addr.replace(/^\[|\]$/g, '');
    const fam = isIP(a);
    if (!fam) {
      this.env.bag.error('TSER_E_BAD_IP', `bad IP address "${e.text}"`, e.loc);
      return null;
    }
    const type = fam === 6 ? 'ipv6' : 'ipv4';
    let prefix = fam === 6 ? 128 : 32;
    if (mask !== undefined) {
      if (/^\d+$/.test(mask)) prefix = Number(mask);
      else if (isIP(mask) === 4) prefix = mask.split('.').reduce((n, o) => n + popcount(Number(o)), 0);
      else {
        this.env.bag.error('TSER_E_BAD_IP', `bad network mask "${mask}"`, e.loc);
        return null;
      }
    }
    const bl = new BlockList();
    try {
      bl.addSubnet(a, prefix, type);
    } catch {
      this.env.bag.error('TSER_E_BAD_IP', `bad network "${e.text}"`, e.loc);
      return null;
    }
    return (ip) => {
      const f = isIP(ip);
      if (!f) return false;
      return bl.check(ip, f === 6 ? 'ipv6' : 'ipv4');
    };
  }

  private myselfCmp(other: A.Expr, neg: boolean, scope: Scope): Ev {
    const v = this.expr(other, scope);
    const isIpOperand = other.kind === 'operand' && (other.name === 'src_ip' || other.name === 'dst_ip');
    const test = (ctx: MsgContext, x: Val): number => {
      const s = toStr(x);
      let mine = false;
      if (isIpOperand) mine = ctx.core.isMyself(s, null);
      else {
        const u = s === ctx.ruri ? ctx.ruriUri() : parseUri(s);
        if (u) {
          const transport = u.params.find(([k]) => k.toLowerCase() === 'transport')?.[1]?.toLowerCase();
          mine = ctx.core.isMyself(u.host, u.port, transport === 'tcp' || transport === 'udp' ? transport : null);
        } else mine = ctx.core.isMyself(s, null);
      }
      return mine !== neg ? 1 : 0;
    };
    return (ctx) => lift(v(ctx), (x) => test(ctx, x));
  }

  private operand(e: A.LegacyOperand): Ev {
    switch (e.name) {
      case 'method':
        return (ctx) => ctx.msg.method;
      case 'uri':
        return (ctx) => ctx.ruri;
      case 'from_uri':
        return (ctx) => safe(() => ctx.msg.from().uri);
      case 'to_uri':
        return (ctx) => safe(() => ctx.msg.to().uri);
      case 'src_ip':
        return (ctx) => ctx.rcv.srcIp;
      case 'dst_ip':
        return (ctx) => ctx.rcv.local.ip;
      case 'src_port':
        return (ctx) => ctx.rcv.srcPort;
      case 'dst_port':
        return (ctx) => ctx.rcv.local.port;
      case 'proto':
      case 'snd_proto':
        return (ctx) => ctx.rcv.proto;
      case 'af':
      case 'snd_af':
        return (ctx) => (ctx.rcv.local.af === 6 ? 'INET6' : 'INET');
      case 'msg:len':
        return (ctx) => ctx.msg.buf.length;
      case 'max_len': {
        const v = Number(this.env.global('max_len') ?? 65535);
        return () => v;
      }
      case 'status':
        return (ctx) => (ctx.reply ? ctx.reply.status : ctx.msg.isRequest ? null : ctx.msg.status);
      case 'retcode':
        return (ctx) => ctx.rc;
      default:
        this.env.bag.warning('TSER_W_OPERAND', `operand "${e.name}" is not available in tser; it reads as empty`, e.loc);
        return () => null;
    }
  }
}

// ---------------- small pieces ----------------

/** a fixup not run yet (the module had not started when the script compiled) */
const UNRESOLVED: unique symbol = Symbol('unresolved');

interface ArgGetter {
  isConst: boolean;
  constValue: unknown;
  dynamic: ((ctx: MsgContext) => unknown) | null;
}

function safe(f: () => Val): Val {
  try {
    return f();
  } catch {
    return null;
  }
}

function popcount(n: number): number {
  let c = 0;
  while (n) {
    c += n & 1;
    n >>>= 1;
  }
  return c;
}

function isMethodOperand(e: A.Expr): boolean {
  return (e.kind === 'operand' && e.name === 'method') || (e.kind === 'pv' && e.name === 'rm' && e.transforms.length === 0);
}

function isProtoOperand(e: A.Expr): boolean {
  return e.kind === 'operand' && (e.name === 'proto' || e.name === 'af');
}

/** constant value of a literal expression, or undefined */
export function constValue(e: A.Expr): Val | undefined {
  switch (e.kind) {
    case 'int':
      return e.value;
    case 'str':
      return e.value;
    case 'null':
      return null;
    case 'unary':
      if (e.op === '-' && e.operand.kind === 'int') return -e.operand.value;
      return undefined;
    default:
      return undefined;
  }
}

function pvText(ref: A.PvRef): string {
  const inner = ref.inner !== null ? `(${ref.inner})` : '';
  if (ref.index === null && ref.transforms.length === 0) return `$${ref.name}${inner}`;
  const idx = ref.index !== null ? `[${ref.index}]` : '';
  return `$(${ref.name}${inner}${idx}${ref.transforms.map((t) => `{${t}}`).join('')})`;
}

/** a stable structural fingerprint (locations stripped) to tell which routes changed */
export function fingerprint(node: unknown): string {
  return JSON.stringify(node, (k, v: unknown) => (k === 'loc' || k === 'nameLoc' ? undefined : v));
}
