// The load pipeline: read + preprocess + parse → dialect → global params → modules and
// modparams → route compilation. Every problem goes into one DiagnosticBag; the caller
// fails once at the end, listing all of them (Kamailio cfg_errors, peggy Session).
import type * as A from './ast.js';
import { closest, DiagnosticBag, locText } from './diagnostics.js';
import { parseConfigFile, parseConfigText, type ParsedConfig } from './parse.js';
import { coreParams } from './core-params.js';
import { detectDialect } from './detect-dialect.js';
import type { Dialect, DialectChoice } from '../core/dialect.js';
import { type AnyModuleDef, moduleCatalog, moduleNameFromPath, namedModules } from '../core/module-loader.js';
import type { ParamSpec } from '../core/module-api.js';
import { Compiler, routeTypeOf, type ResolvedFunction, type ResolvedPv, type StateHolder } from '../script/compile.js';
import { Script, emptyRouteTables, type CompiledRoute } from '../script/script.js';
import { VarStore } from '../script/pv.js';
import { coreModule } from '../script/core-functions.js';

export type GlobalValue = string | number | boolean;

export interface ModulePlan {
  def: AnyModuleDef;
  params: Record<string, unknown>;
  /** params set explicitly by modparam */
  explicit: Set<string>;
  holder: StateHolder;
  loc: A.Loc | null;
}

export interface LoadOptions {
  defines?: Map<string, string | true>;
  dialect?: Dialect | null;
  /** stop after parsing (porting configs whose modules tser lacks) */
  syntaxOnly?: boolean;
  /** module state holders of the running instance, so a reload compiles against live state */
  holders?: Map<string, StateHolder>;
  /** config text instead of reading `file` (tests, reload from a string) */
  text?: string;
}

export interface LoadedConfig {
  bag: DiagnosticBag;
  file: string;
  parsed: ParsedConfig | null;
  dialect: DialectChoice | null;
  /** global parameters as set (lists for listen/alias) */
  globals: Map<string, GlobalValue[]>;
  modules: ModulePlan[];
  script: Script | null;
}

export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const first = await load(file, opts, false);
  // diagnostics name modules the config does not load (did you mean, which module has a
  // function): when the first pass imported only the loaded ones, go again with all of them
  if (first.partialCatalog && first.result.bag.hasErrors) return (await load(file, opts, true)).result;
  return first.result;
}

async function load(file: string, opts: LoadOptions, wholeCatalog: boolean): Promise<{ result: LoadedConfig; partialCatalog: boolean }> {
  const bag = new DiagnosticBag();
  const result: LoadedConfig = { bag, file, parsed: null, dialect: null, globals: new Map(), modules: [], script: null };
  const parseOpts = { defines: opts.defines ?? new Map<string, string | true>(), bag };
  const parsed = opts.text !== undefined ? parseConfigText(opts.text, file, parseOpts) : parseConfigFile(file, parseOpts);
  if (!parsed) {
    if (!bag.hasErrors) bag.error('TSER_E_FILE', `cannot read config file ${file}`, null);
    return { result, partialCatalog: false };
  }
  result.parsed = parsed;
  const dialect = detectDialect(parsed.ast, parsed.mode, opts.dialect ?? null);
  result.dialect = dialect;
  if (opts.syntaxOnly) return { result, partialCatalog: false };

  result.globals = checkGlobals(parsed.ast, bag);
  // only the modules the config loads are imported (the others' code would stay in memory)
  const names = parsed.ast.items.flatMap((i) => (i.kind === 'loadmodule' ? [moduleNameFromPath(i.path)] : []));
  const named = wholeCatalog ? null : await namedModules(names);
  const catalog = named ?? (await moduleCatalog());
  result.modules = resolveModules(parsed.ast, catalog, bag, opts.holders);
  applyModparams(parsed.ast, result.modules, bag);
  checkDeps(result.modules, bag);
  result.script = compileScript(parsed.ast, dialect.dialect, result, catalog, bag);
  return { result, partialCatalog: named !== null };
}

// ---------------- globals ----------------

function valueOf(v: A.ParamValue): GlobalValue {
  return v.value;
}

function checkGlobals(ast: A.ConfigFile, bag: DiagnosticBag): Map<string, GlobalValue[]> {
  const out = new Map<string, GlobalValue[]>();
  for (const item of ast.items) {
    if (item.kind !== 'global_param') continue;
    const spec = coreParams[item.name];
    if (!spec && item.name.includes('.')) {
      // Kamailio custom cfg variable (`group.var = value desc "..."`)
      out.set(item.name, item.values.map(valueOf));
      continue;
    }
    if (!spec) {
      const near = closest(item.name, Object.keys(coreParams));
      bag.error('TSER_E_UNKNOWN_PARAM', `unknown global parameter "${item.name}"`, item.nameLoc, {
        help: near ? `did you mean "${near}"?` : undefined,
      });
      continue;
    }
    if (spec.ignored) {
      bag.info('TSER_I_IGNORED_PARAM', `global parameter "${item.name}" has no effect in tser`, item.nameLoc);
      continue;
    }
    const values = item.values.map(valueOf);
    for (const v of item.values) {
      if (spec.type === 'int' && v.type !== 'int' && !(v.type === 'bool'))
        bag.error('TSER_E_PARAM_TYPE', `"${item.name}" takes an integer`, v.loc);
      if (spec.type === 'bool' && v.type !== 'bool' && v.type !== 'int')
        bag.error('TSER_E_PARAM_TYPE', `"${item.name}" takes yes/no`, v.loc);
    }
    if (spec.type === 'list') out.set(item.name, [...(out.get(item.name) ?? []), ...values]);
    else out.set(item.name, values);
  }
  return out;
}

// ---------------- modules ----------------

function resolveModules(
  ast: A.ConfigFile,
  catalog: Map<string, AnyModuleDef>,
  bag: DiagnosticBag,
  holders: Map<string, StateHolder> | undefined,
): ModulePlan[] {
  const plans: ModulePlan[] = [];
  const seen = new Set<string>();
  for (const item of ast.items) {
    if (item.kind !== 'loadmodule') continue;
    const name = moduleNameFromPath(item.path);
    const def = catalog.get(name);
    if (!def) {
      const near = closest(name, catalog.keys());
      bag.error('TSER_E_UNKNOWN_MODULE', `module "${name}" is not available in tser`, item.pathLoc, {
        help: near && near !== name ? `did you mean "${near}"?` : undefined,
      });
      continue;
    }
    if (seen.has(def.name)) continue; // mysql.so + db_mysql.so, or a module listed twice
    seen.add(def.name);
    const params: Record<string, unknown> = {};
    for (const [k, spec] of Object.entries(def.params)) params[k] = spec.default;
    plans.push({
      def,
      params,
      explicit: new Set(),
      holder: holders?.get(def.name) ?? { state: undefined },
      loc: item.loc,
    });
  }
  return plans;
}

function moduleRegex(text: string, bag: DiagnosticBag, loc: A.Loc): RegExp | null {
  try {
    return new RegExp(`^(${text})$`, 'i');
  } catch {
    bag.error('TSER_E_MODPARAM', `bad module name pattern "${text}"`, loc);
    return null;
  }
}

function coerceParam(spec: ParamSpec, v: A.ParamValue): { ok: true; value: unknown } | { ok: false; why: string } {
  switch (spec.type) {
    case 'int':
      if (v.type === 'int') return { ok: true, value: v.value };
      if (v.type === 'bool') return { ok: true, value: v.value ? 1 : 0 };
      return { ok: false, why: 'an integer' };
    case 'str':
      if (v.type === 'str' || v.type === 'id') return { ok: true, value: String(v.value) };
      return { ok: false, why: 'a string' };
    case 'bool':
      if (v.type === 'int') return { ok: true, value: v.value !== 0 };
      if (v.type === 'bool') return { ok: true, value: v.value };
      if (v.type === 'str' && /^(yes|no|true|false|on|off|1|0)$/i.test(v.value))
        return { ok: true, value: /^(yes|true|on|1)$/i.test(v.value) };
      return { ok: false, why: '0/1' };
    case 'any':
      return { ok: true, value: v.value };
  }
}

function applyModparams(ast: A.ConfigFile, plans: ModulePlan[], bag: DiagnosticBag): void {
  for (const item of ast.items) {
    if (item.kind !== 'modparam') continue;
    const re = moduleRegex(item.module, bag, item.moduleLoc);
    if (!re) continue;
    const targets = plans.filter((p) => re.test(p.def.name) || (p.def.aliases ?? []).some((a) => re.test(a)));
    if (targets.length === 0) {
      bag.error('TSER_E_MODPARAM', `modparam for "${item.module}": no such module loaded`, item.moduleLoc, {
        help: 'load the module with loadmodule before setting its parameters',
      });
      continue;
    }
    let matchedParam = false;
    for (const plan of targets) {
      const spec = plan.def.params[item.param];
      if (!spec) continue;
      matchedParam = true;
      if (spec.ignored) {
        bag.info('TSER_I_IGNORED_PARAM', `${plan.def.name} parameter "${item.param}" has no effect in tser`, item.paramLoc);
        continue;
      }
      const c = coerceParam(spec, item.value);
      if (!c.ok) {
        bag.error(
          'TSER_E_PARAM_TYPE',
          `${plan.def.name} parameter "${item.param}" takes ${c.why}, got ${item.value.type === 'str' ? 'a string' : 'an integer'}`,
          item.value.loc,
        );
        continue;
      }
      if (typeof c.value === 'number' && ((spec.min !== undefined && c.value < spec.min) || (spec.max !== undefined && c.value > spec.max))) {
        bag.error('TSER_E_PARAM_RANGE', `${plan.def.name} parameter "${item.param}" must be in ${spec.min}..${spec.max}`, item.value.loc);
        continue;
      }
      const why = spec.validate ? (spec.validate)(c.value) : null;
      if (why) {
        bag.error('TSER_E_PARAM_VALUE', `${plan.def.name} parameter "${item.param}": ${why}`, item.value.loc);
        continue;
      }
      plan.params[item.param] = c.value;
      plan.explicit.add(item.param);
    }
    if (!matchedParam) {
      const names = targets.flatMap((t) => Object.keys(t.def.params));
      const near = closest(item.param, names);
      bag.error(
        'TSER_E_UNKNOWN_MODPARAM',
        `module ${targets.map((t) => t.def.name).join('|')} has no parameter "${item.param}"`,
        item.paramLoc,
        { help: near ? `did you mean "${near}"?` : undefined },
      );
    }
  }
}

function checkDeps(plans: ModulePlan[], bag: DiagnosticBag): void {
  const names = new Set(plans.map((p) => p.def.name));
  for (const p of plans) {
    for (const d of p.def.deps ?? []) {
      if (!d.optional && !names.has(d.module))
        bag.error('TSER_E_MODULE_DEP', `module ${p.def.name} needs module ${d.module}: add loadmodule "${d.module}.so"`, p.loc);
    }
  }
}

// ---------------- routes ----------------

function routeName(b: A.RouteBlock): string {
  return b.name ?? (b.routeKind === 'request' ? '0' : '');
}

function compileScript(
  ast: A.ConfigFile,
  dialect: Dialect,
  result: LoadedConfig,
  catalog: Map<string, AnyModuleDef>,
  bag: DiagnosticBag,
): Script {
  const routes = emptyRouteTables();
  const vars = new VarStore();
  const functions = new Map<string, ResolvedFunction>();
  const modulePvs = new Map<string, ResolvedPv>();
  const coreHolder: StateHolder = { state: undefined };
  const addModule = (def: AnyModuleDef, holder: StateHolder) => {
    for (const [fname, spec] of Object.entries(def.functions)) {
      if (!functions.has(fname)) functions.set(fname, { module: def.name, spec, holder });
    }
    for (const [pname, spec] of Object.entries(def.pvs ?? {})) {
      if (!modulePvs.has(pname)) modulePvs.set(pname, { module: def.name, spec, holder });
    }
  };
  addModule(coreModule, coreHolder);
  for (const plan of result.modules) addModule(plan.def, plan.holder);

  const knownElsewhere = (fname: string): string | null => {
    for (const def of new Set(catalog.values())) if (fname in def.functions) return def.name;
    return null;
  };
  const globals = result.globals;
  const compiler = new Compiler({
    dialect,
    bag,
    functions,
    modulePvs,
    vars,
    routes,
    global: (n) => globals.get(n)?.[0],
    knownElsewhere,
  });

  // declare every route first so references (route(X), t_on_failure("X")) can be checked
  const blocks = ast.items.filter((i): i is A.RouteBlock => i.kind === 'route_block');
  const placeholder = (b: A.RouteBlock): CompiledRoute => ({
    kind: b.routeKind,
    name: routeName(b),
    loc: b.loc,
    type: routeTypeOf(b.routeKind),
    exec: () => 1,
    async: false,
    fingerprint: '',
  });
  const tableFor = (b: A.RouteBlock) => {
    switch (b.routeKind) {
      case 'named':
        return routes.named;
      case 'failure':
        return routes.failure;
      case 'onreply':
        return routes.onreply;
      case 'branch':
        return routes.branch;
      case 'event':
        return routes.event;
      default:
        return null;
    }
  };
  const firstSeen = new Map<string, A.RouteBlock>();
  for (const b of blocks) {
    const key = `${b.routeKind}:${routeName(b)}`;
    const prev = firstSeen.get(key);
    if (prev) {
      bag.error('TSER_E_DUPLICATE_ROUTE', `${b.keyword}${b.name !== null ? `[${b.name}]` : ''} is defined twice`, b.loc, {
        notes: [{ message: 'first defined here', loc: prev.loc }],
      });
      continue;
    }
    firstSeen.set(key, b);
    const table = tableFor(b);
    if (table) table.set(routeName(b), placeholder(b));
    else if (b.routeKind === 'request') routes.request = placeholder(b);
    else if (b.routeKind === 'reply') routes.reply = placeholder(b);
    else if (b.routeKind === 'onsend') routes.onsend = placeholder(b);
  }
  if (!routes.request) bag.error('TSER_E_NO_ROUTE', 'the config has no main route block (route { ... } or request_route { ... })', null);
  for (const b of firstSeen.values()) {
    let compiled: CompiledRoute;
    try {
      compiled = compiler.compileRoute(b, routeTypeOf(b.routeKind), routeName(b));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      // the compiler recurses per nesting level, like the parser
      bag.error('TSER_E_SYNTAX', `${b.keyword}${b.name !== null ? `[${b.name}]` : ''}: expression nested too deeply`, b.loc);
      continue;
    }
    const table = tableFor(b);
    if (table) table.set(routeName(b), compiled);
    else if (b.routeKind === 'request') routes.request = compiled;
    else if (b.routeKind === 'reply') routes.reply = compiled;
    else if (b.routeKind === 'onsend') routes.onsend = compiled;
  }
  return new Script(dialect, routes, vars, result.file);
}

/**
 * Compile the loaded config again, now against the started modules (their holders carry
 * state), so argument fixups resolve module handles once (Kamailio's fix_rls after
 * mod_init). What only a fixup can refuse comes back in a fresh bag: the first compile
 * already reported everything else.
 */
export function bindScript(cfg: LoadedConfig): { script: Script | null; bag: DiagnosticBag } {
  const bag = new DiagnosticBag();
  if (!cfg.parsed || !cfg.dialect) {
    bag.error('TSER_E_FILE', `${cfg.file} was not loaded`, null);
    return { script: null, bag };
  }
  const loaded = new Map(cfg.modules.map((p) => [p.def.name, p.def]));
  const script = compileScript(cfg.parsed.ast, cfg.dialect.dialect, cfg, loaded, bag);
  return { script: bag.hasErrors ? null : script, bag };
}

/** one-line summary used by `tser -c` */
export function describeLoad(r: LoadedConfig): string {
  const d = r.dialect ? `dialect ${r.dialect.dialect} (${r.dialect.reason})` : 'dialect unknown';
  return `${r.file}: ${d}`;
}

export { locText };
