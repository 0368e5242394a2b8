// The control plane's own RPC methods, named as Kamailio's core/kex/cfg_rpc ones:
// system.*, core.*, stats.*, plus cfg.reload (alias reload_routes) for the live reload.
import { RpcError, type RpcParams } from '../core/module-api.js';
import { SERVER_VERSION } from '../core/server.js';
import type { ControlMethod } from './dispatcher.js';
import { cfgMethods } from './cfg-methods.js';
import type { Reloader } from './reload.js';
import type { ControlServer, ControlState } from './state.js';

export interface CoreMethodDeps {
  server: ControlServer;
  state: ControlState;
  reloader: Reloader;
  /** every method name / help (the dispatcher, which also sees module methods) */
  names: () => string[];
  help: (name: string) => string | undefined;
  /** the config file being served */
  file: string;
  /** stop the daemon (core.kill, SER FIFO kill) */
  kill: () => void;
}

export function invalidParams(usage: string): RpcError {
  return new RpcError(-32602, `Invalid params; usage: ${usage}`);
}

/** "Thu Nov 24 18:22:48 1986", as ctime(3) prints it (SER's uptime reply) */
export function ctime(t: number): string {
  const d = new Date(t);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}

export function versionText(): string {
  return `tser ${SERVER_VERSION} (node ${process.version} ${process.arch}/${process.platform})`;
}

/** one process does everything in tser: the event loop is receiver, timer and control */
export function processList(): { IDX: number; PID: number; DSC: string }[] {
  return [{ IDX: 0, PID: process.pid, DSC: 'main process - SIP receivers (udp, tcp), timers, control' }];
}

function statFilters(params: RpcParams): string[] {
  const f = params.map((p) => String(p)).filter((p) => p !== '');
  return f.length ? f : ['all'];
}

function collectStats(server: ControlServer, params: RpcParams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of statFilters(params)) {
    let r = server.stats.get(f);
    // "core" means the group "core:" when no counter is called that
    if (Object.keys(r).length === 0 && !f.includes(':')) r = server.stats.get(`${f}:`);
    Object.assign(out, r);
  }
  return out;
}

export function coreMethods(d: CoreMethodDeps): Map<string, ControlMethod> {
  const { server, state, reloader } = d;
  const reload: ControlMethod = {
    help: 'Re-read, check and atomically swap in the routing script; reports what changed',
    run: (_p, info) => reloader.reload(`rpc:${info.transport}`),
  };
  const m: Record<string, ControlMethod> = {
    'system.listMethods': { help: 'List the RPC methods', run: () => d.names() },
    'system.methodHelp': {
      help: 'Help text of a method',
      run: (p) => {
        if (typeof p[0] !== 'string') throw invalidParams('system.methodHelp METHOD');
        const h = d.help(p[0]);
        if (h === undefined) throw new RpcError(-32601, `Method not found: ${p[0]}`);
        return h;
      },
    },
    'core.version': { help: 'Server version', run: () => versionText() },
    'core.uptime': {
      help: 'Current time, start time and uptime in seconds',
      run: () => {
        const now = Date.now();
        return { now: ctime(now), up_since: ctime(server.startTime), uptime: Math.floor((now - server.startTime) / 1000) };
      },
    },
    'core.ps': {
      help: 'Processes: pid, description pairs',
      run: () => processList().flatMap((p) => [p.PID, p.DSC]),
    },
    'core.psx': { help: 'Processes with index, pid and description', run: () => processList() },
    'core.info': {
      help: 'Server information',
      run: () => {
        const s = server.script();
        return {
          version: versionText(),
          pid: process.pid,
          dialect: server.dialect,
          file: d.file,
          script_id: s.id,
          script_loaded: new Date(s.loadedAt).toISOString(),
          reloads: reloader.reloads,
          listen: server.listens().map((l) => l.id),
          modules: [...server.modules.keys()],
          inflight: server.inflightCount,
        };
      },
    },
    'core.echo': { help: 'Return the parameters', run: (p) => [...p] },
    'core.modules': { help: 'Loaded modules', run: () => [...server.modules.keys()] },
    'core.sockets_list': {
      help: 'Listening SIP sockets',
      run: () => server.listens().map((l) => ({ proto: l.proto, address: l.ip, port: l.port, advertise: `${l.advertiseHost}:${l.advertisePort}` })),
    },
    'core.shmmem': {
      help: 'Memory use of the process (bytes)',
      run: () => {
        const u = process.memoryUsage();
        return { rss: u.rss, heap_total: u.heapTotal, heap_used: u.heapUsed, external: u.external };
      },
    },
    'core.kill': {
      help: 'Stop the server',
      run: () => {
        setTimeout(d.kill, 50).unref();
        return 'terminating';
      },
    },
    'stats.get_statistics': {
      help: 'Counters as "group:name = value"; params: all | group: | group:name | name ...',
      run: (p) => Object.entries(collectStats(server, p)).map(([k, v]) => `${k} = ${v}`),
    },
    'stats.fetch': {
      help: 'Counters as an object {"group.name": value}',
      run: (p) => Object.fromEntries(Object.entries(collectStats(server, p)).map(([k, v]) => [k.replace(':', '.'), v])),
    },
    'stats.reset_statistics': {
      help: 'Reset counters (params as stats.get_statistics)',
      run: (p) => {
        for (const k of Object.keys(collectStats(server, p))) server.stats.reset(k);
        return null;
      },
    },
    'stats.clear_statistics': {
      help: 'Return counters, then reset them',
      run: (p) => {
        const r = collectStats(server, p);
        for (const k of Object.keys(r)) server.stats.reset(k);
        return Object.entries(r).map(([k, v]) => `${k} = ${v}`);
      },
    },
    'cfg.reload': reload,
    reload_routes: reload,
    ...cfgMethods(server, state),
  };
  return new Map(Object.entries(m));
}
