// Run-time settings (Kamailio cfg_rpc): group "core" holds the live global parameters
// (debug → log level, max_while_loops, server_header...), each module is a group holding
// its parameters declared `live` (applied through the module's reconfigure()).
import { coreParams } from '../config/core-params.js';
import { RpcError, type ParamSpec, type RpcParams } from '../core/module-api.js';
import type { ControlMethod } from './dispatcher.js';
import type { ControlServer, ControlState } from './state.js';

export interface CfgVar {
  group: string;
  name: string;
  type: string;
  value: unknown;
}

function coreVars(state: ControlState): CfgVar[] {
  const out: CfgVar[] = [];
  for (const [name, spec] of Object.entries(coreParams)) {
    if (!spec.live || spec.ignored) continue;
    const value = name === 'debug' ? state.debug : (state.globals.get(name)?.[0] ?? null);
    out.push({ group: 'core', name, type: spec.type, value });
  }
  return out;
}

function moduleVars(server: ControlServer): CfgVar[] {
  const out: CfgVar[] = [];
  for (const [mod, inst] of server.modules) {
    if (!inst.def.reconfigure) continue;
    for (const [name, spec] of Object.entries(inst.def.params)) {
      if (spec.live && !spec.ignored) out.push({ group: mod, name, type: spec.type, value: inst.params[name] ?? null });
    }
  }
  return out;
}

function allVars(server: ControlServer, state: ControlState): CfgVar[] {
  return [...coreVars(state), ...moduleVars(server)];
}

function findVar(server: ControlServer, state: ControlState, group: unknown, name: unknown): CfgVar {
  if (typeof group !== 'string' || typeof name !== 'string') throw new RpcError(-32602, 'Invalid params; usage: cfg.get GROUP NAME');
  const v = allVars(server, state).find((x) => x.group === group && x.name === name);
  if (!v) throw new RpcError(404, `no run-time setting ${group}.${name} (see cfg.list)`);
  return v;
}

/** coerce an RPC value to a parameter type; throws -32602 with a reason */
export function coerceSetting(type: string, raw: unknown, spec?: Pick<ParamSpec, 'min' | 'max' | 'validate'>): string | number | boolean {
  let v: string | number | boolean;
  if (type === 'int') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[-+]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(n)) throw new RpcError(-32602, `Invalid params: expected an integer, got ${JSON.stringify(raw)}`);
    v = n;
  } else if (type === 'bool') {
    if (typeof raw === 'boolean') v = raw;
    else if (raw === 0 || raw === 1) v = raw === 1;
    else if (typeof raw === 'string' && /^(yes|no|true|false|on|off|1|0)$/i.test(raw)) v = /^(yes|true|on|1)$/i.test(raw);
    else throw new RpcError(-32602, `Invalid params: expected 0/1 or yes/no, got ${JSON.stringify(raw)}`);
  } else if (type === 'str') {
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new RpcError(-32602, 'Invalid params: expected a string');
    v = String(raw);
  } else {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') throw new RpcError(-32602, 'Invalid params: expected a value');
    v = raw;
  }
  if (typeof v === 'number' && spec && ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)))
    throw new RpcError(-32602, `Invalid params: ${v} is out of range ${spec.min ?? ''}..${spec.max ?? ''}`);
  const why = spec?.validate ? (spec.validate)(v) : null;
  if (why) throw new RpcError(-32602, `Invalid params: ${why}`);
  return v;
}

function setVar(server: ControlServer, state: ControlState, p: RpcParams, forceType?: 'int' | 'str'): unknown {
  if (p.length < 3) throw new RpcError(-32602, 'Invalid params; usage: cfg.set GROUP NAME VALUE');
  const v = findVar(server, state, p[0], p[1]);
  if (forceType === 'int' && v.type === 'str') throw new RpcError(-32602, `Invalid params: ${v.group}.${v.name} is a string (use cfg.sets)`);
  if (forceType === 'str' && v.type === 'int') throw new RpcError(-32602, `Invalid params: ${v.group}.${v.name} is an integer (use cfg.seti)`);
  if (v.group === 'core') {
    const value = coerceSetting(v.type, p[2]);
    if (v.name === 'debug') state.setDebug(value as number);
    else {
      state.globals.set(v.name, [value]);
      server.swapScript(server.script(), state.globals);
    }
    return { group: v.group, name: v.name, old: v.value, value };
  }
  const inst = server.modules.get(v.group)!;
  const spec = inst.def.params[v.name];
  const value = coerceSetting(v.type, p[2], spec);
  const params = { ...inst.params, [v.name]: value };
  inst.def.reconfigure!(inst.holder.state, params);
  inst.params = params;
  server.log.info({ group: v.group, name: v.name }, 'run-time setting changed');
  return { group: v.group, name: v.name, old: v.value, value };
}

export function cfgMethods(server: ControlServer, state: ControlState): Record<string, ControlMethod> {
  const set = (t?: 'int' | 'str'): ControlMethod => ({
    help: 'Set a run-time setting now: GROUP NAME VALUE',
    run: (p) => setVar(server, state, p, t),
  });
  return {
    'cfg.list': { help: 'Run-time settings: group, name, type, value', run: () => allVars(server, state) },
    'cfg.get': { help: 'Value of a run-time setting: GROUP NAME', run: (p) => findVar(server, state, p[0], p[1]).value },
    'cfg.set': set(),
    'cfg.seti': set('int'),
    'cfg.sets': set('str'),
    'cfg.set_now_int': set('int'),
    'cfg.set_now_string': set('str'),
  };
}
