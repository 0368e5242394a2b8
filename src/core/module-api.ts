// The module interface: a module is one declarative table (params, script functions,
// pseudo-variables, RPC methods, lifecycle hooks). The core reads the table; nothing is
// registered by side effect. Constant function arguments are parsed once at load (fixups).
import type { Logger } from 'pino';
import type { MsgContext } from '../script/context.js';
import type { CoreApi } from './core-api.js';
import type { Dialect } from './dialect.js';
import type { SipMessage } from '../sip/message.js';
import type { ReceiveInfo } from '../transport/types.js';
import type { ErrorCode } from './errors.js';

/** Route block types, as a bitmask for "where may this function be called". */
export const Route = {
  REQUEST: 1,
  FAILURE: 2,
  ONREPLY: 4, // tm per-transaction onreply_route
  BRANCH: 8,
  ONSEND: 16,
  EVENT: 32,
  REPLY: 64, // core reply_route / unnamed onreply_route
  LOCAL: 128,
} as const;
export const ANY_ROUTE = 0xff;
export const REQ_FAIL_BRANCH = Route.REQUEST | Route.FAILURE | Route.BRANCH;

/** Script return-code convention: >0 true, <0 false, 0 stops the script. */
export const Ret = { OK: 1, FALSE: -1, DROP: 0 } as const;

export type RetCode = number | Promise<number>;

// ---------------- parameters ----------------

export type ParamType = 'int' | 'str' | 'bool' | 'any';

export interface ParamSpec<T = unknown> {
  type: ParamType;
  default: T;
  /** may change on a live reload (otherwise "restart required") */
  live?: boolean;
  /** extra check; return an error message for a bad value (method syntax: bivariant) */
  validate?(v: T): string | null;
  /** integer params: allowed bounds */
  min?: number;
  max?: number;
  /** param exists in SER/Kamailio but tser ignores it (accepted with a debug note) */
  ignored?: boolean;
}

export const param = {
  int: (def: number, o: Partial<Omit<ParamSpec<number>, 'type' | 'default'>> = {}): ParamSpec<number> => ({
    type: 'int',
    default: def,
    ...o,
  }),
  str: (def: string, o: Partial<Omit<ParamSpec<string>, 'type' | 'default'>> = {}): ParamSpec<string> => ({
    type: 'str',
    default: def,
    ...o,
  }),
  /** accepts 0/1 ints and yes/no strings, like Kamailio's int params used as booleans */
  bool: (def: boolean, o: Partial<Omit<ParamSpec<boolean>, 'type' | 'default'>> = {}): ParamSpec<boolean> => ({
    type: 'bool',
    default: def,
    ...o,
  }),
  /** int or string (Kamailio PARAM_USE_FUNC style) */
  any: (def: string | number, o: Partial<Omit<ParamSpec<string | number>, 'type' | 'default'>> = {}): ParamSpec<string | number> => ({
    type: 'any',
    default: def,
    ...o,
  }),
  ignored: (type: ParamType = 'any'): ParamSpec<unknown> => ({ type, default: null, ignored: true }),
};

export type ParamValues<P extends Record<string, ParamSpec>> = { [K in keyof P]: P[K]['default'] };

// ---------------- function arguments ----------------

/** where an argument comes from, passed to fixups for diagnostics */
export interface ArgSite {
  /** "file:line:col" of the argument */
  where: string;
  dialect: Dialect;
}

export interface ArgSpec<T> {
  /** descriptive kind, used in messages: "int", "string", "regex", "route name" ... */
  kind: string;
  optional: boolean;
  /** must be a constant (no pseudo-variables): e.g. usrloc table names */
  static: boolean;
  /** convert the (constant or per-message evaluated) string; throw ArgError on bad input */
  parse: (s: string, site: ArgSite) => T;
  /** for kind 'route': which route table the name refers to */
  routeType?: number;
  /**
   * Kamailio's fixup with module state: turn the parsed value into what run() takes (a
   * usrloc table handle, a prepared query). Runs once when the script compiles against the
   * started modules for a constant, per message for a variable; `tser -c` never runs it.
   */
  resolve?: (value: unknown, self: unknown) => unknown;
}

export class ArgError extends Error {
  readonly code: ErrorCode = 'TSER_E_BAD_ARG';
}

function mk<T>(kind: string, parse: (s: string, site: ArgSite) => T, extra: Partial<ArgSpec<T>> = {}): ArgSpec<T> {
  return { kind, optional: false, static: false, parse, ...extra };
}

function parseIntArg(s: string, min: number, max: number): number {
  const t = s.trim();
  if (!/^[-+]?(0x[0-9a-f]+|\d+)$/i.test(t)) throw new ArgError(`expected an integer, got "${s}"`);
  const n = Number.parseInt(t, t.toLowerCase().includes('0x') ? 16 : 10);
  if (n < min || n > max) throw new ArgError(`value ${n} out of range ${min}..${max}`);
  return n;
}

export const arg = {
  int: (o: { min?: number; max?: number } = {}) =>
    mk<number>('int', (s) => parseIntArg(s, o.min ?? -0x80000000, o.max ?? 0x7fffffff)),
  str: () => mk<string>('string', (s) => s),
  regex: (flags = 'i') =>
    mk<RegExp>('regex', (s) => {
      try {
        return new RegExp(s, flags);
      } catch (e) {
        throw new ArgError(`bad regular expression "${s}": ${(e as Error).message}`);
      }
    }),
  /** a route name (t_on_failure("1")) resolved and checked at load */
  route: (routeType: number) => mk<string>('route name', (s) => s, { static: true, routeType }),
  custom: <T>(kind: string, parse: (s: string, site: ArgSite) => T) => mk<T>(kind, parse),
  /** a writable pseudo-variable name ("$var(x)"), given as its text; modules use ctx.pvSetter */
  pvar: () => mk<string>('pseudo-variable', (s) => s, { static: true }),
};

/**
 * An argument whose parsed value `resolve` turns into a module handle once the module has
 * started (see ArgSpec.resolve); S is the module state the function's run() receives.
 */
export function fixup<P, T, S>(base: ArgSpec<P>, resolve: (value: P, self: S) => T): ArgSpec<T> {
  return { ...base, resolve: resolve as (value: unknown, self: unknown) => unknown } as unknown as ArgSpec<T>;
}

/** modifiers */
export function optional<T>(a: ArgSpec<T>): ArgSpec<T | undefined> {
  return { ...a, optional: true };
}
export function staticArg<T>(a: ArgSpec<T>): ArgSpec<T> {
  return { ...a, static: true };
}

type ArgValues<A extends readonly ArgSpec<unknown>[]> = { [I in keyof A]: A[I] extends ArgSpec<infer T> ? T : never };

export interface FunctionSpec<S = unknown> {
  args: readonly ArgSpec<unknown>[];
  /** Route.* bitmask where the call is legal */
  routes: number;
  /** true when run() may return a promise (DB, DNS): lets the compiler keep sync routes sync */
  async?: boolean;
  run(ctx: MsgContext, self: S, ...args: never[]): RetCode;
  /** which module dialect names this function: both by default */
  dialects?: readonly Dialect[];
}

/**
 * Declare a script function; `run` receives the module state and the parsed argument values
 * in order. For functions that use the module state, get a typed builder with
 * `const fn = fnFor<MyState>()` so `self` is typed (TypeScript cannot infer it from init).
 */
export function fn<S, const A extends readonly ArgSpec<unknown>[]>(spec: {
  args: A;
  routes: number;
  async?: boolean;
  dialects?: readonly Dialect[];
  run: (ctx: MsgContext, self: S, ...args: ArgValues<A>) => RetCode;
}): FunctionSpec<S> {
  return spec as unknown as FunctionSpec<S>;
}

/** a `fn` whose `self` parameter is the module state S */
export function fnFor<S>() {
  return <const A extends readonly ArgSpec<unknown>[]>(spec: {
    args: A;
    routes: number;
    async?: boolean;
    dialects?: readonly Dialect[];
    run: (ctx: MsgContext, self: S, ...args: ArgValues<A>) => RetCode;
  }): FunctionSpec<S> => spec as unknown as FunctionSpec<S>;
}

// ---------------- pseudo-variables ----------------

export type PvValue = string | number | null;

export interface PvSpec<S = unknown> {
  /** parse the inner name once at load (e.g. "$T_req(...)"); throw ArgError on bad names */
  parseInner?(inner: string | null): unknown;
  get(ctx: MsgContext, self: S, inner: unknown): PvValue;
  set?(ctx: MsgContext, self: S, inner: unknown, v: PvValue): void;
}

// ---------------- RPC ----------------

export type RpcParams = readonly (string | number | boolean | null)[];
export type RpcResult = unknown;

export interface RpcSpec<S = unknown> {
  help: string;
  /** the result, or a promise of it */
  run(self: S, params: RpcParams): RpcResult;
}

/**
 * Thrown by an RPC handler to answer with a specific error: a SIP/HTTP-like code (400 bad
 * arguments, 404 not found, 500...) or a JSON-RPC code (-32602 invalid params). Any other
 * exception becomes a 500 error; the proxy keeps running either way.
 */
export class RpcError extends Error {
  readonly code: ErrorCode = 'TSER_E_RPC';
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

// ---------------- lifecycle ----------------

export interface ModuleEnv<P> {
  params: P;
  log: Logger;
  core: CoreApi;
  dialect: Dialect;
  /** typed API of another loaded module (Kamailio load_tm_api), undefined if not loaded */
  bindApi: <T>(module: string) => T | undefined;
}

/** result of a request pre-script hook: 'continue' runs the script, 'stop' ends processing */
export type HookResult = 'continue' | 'stop';

export interface ModuleHooks<S> {
  /** before the request route runs (sl's ACK filter, tm's ACK/CANCEL matching) */
  request?(ctx: MsgContext, self: S): HookResult | Promise<HookResult>;
  /** every received reply; return true when the module consumed it (tm) */
  reply?(msg: SipMessage, rcv: ReceiveInfo, self: S): boolean | Promise<boolean>;
}

export interface ModuleDef<S = unknown, P extends Record<string, ParamSpec> = Record<string, ParamSpec>> {
  name: string;
  /** other names that `loadmodule` accepts for this module (e.g. db_mysql → mysql) */
  aliases?: readonly string[];
  doc: string;
  /** modules that must be loaded too; optional ones only change behaviour when present */
  deps?: readonly { module: string; optional?: boolean }[];
  params: P;
  functions: Record<string, FunctionSpec<S>>;
  pvs?: Record<string, PvSpec<S>>;
  rpc?: Record<string, RpcSpec<S>>;
  hooks?: ModuleHooks<S>;
  /**
   * create the module state once, before the script compiles (Kamailio mod_init): modules
   * start in the order their deps give, so a dependency's api() is there to bind
   */
  init(env: ModuleEnv<ParamValues<P>>): S | Promise<S>;
  /**
   * after the script compiled against the started modules (fixups ran) and before traffic
   * (Kamailio child_init): load what the fixups asked for, start timers
   */
  start?(self: S): void | Promise<void>;
  /** apply changed live params on a reload */
  reconfigure?(self: S, params: ParamValues<P>): void;
  /** typed API for other modules */
  api?(self: S): unknown;
  /** stop timers, flush, close pools */
  destroy?(self: S): void | Promise<void>;
}

export function defineModule<S, P extends Record<string, ParamSpec>>(def: ModuleDef<S, P>): ModuleDef<S, P> {
  return def;
}
