// Control plane entry, started by the CLI once the server is up: builds the RPC method
// table, opens the FIFOs and sockets the config asks for (plus the default unix control
// socket), and owns the live reload (RPC cfg.reload / reload_routes, FIFO reload, SIGHUP).
// An endpoint that cannot be opened is logged and skipped; the proxy keeps serving.
import { accessSync, constants as fsc, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import type { Dialect } from '../core/dialect.js';
import { binRpcHandler } from './binrpc-handler.js';
import { coreMethods } from './core-methods.js';
import { Dispatcher, type ControlMethod } from './dispatcher.js';
import { describeEndpoint, isLoopback, planEndpoints, type Endpoint } from './endpoints.js';
import { openFifo } from './fifo-server.js';
import { handleJsonRpc, parseDocument, type CallInfo } from './jsonrpc.js';
import { Reloader, type ReloadReport } from './reload.js';
import { serFifoHandler } from './ser-fifo.js';
import { listenTcp, listenUdp, listenUnix, type Closable, type ServeOptions } from './socket-server.js';
import { ControlState, type ControlServer } from './state.js';
import type { ParamChange } from './config-diff.js';
import type { RpcParams } from '../core/module-api.js';

export interface ControlOptions {
  defines: Map<string, string | true>;
  dialect: Dialect | null;
  /** unix control socket path; default $TSER_CTL_SOCKET, else ctl's binrpc, else <runDir>/tser_ctl */
  socketPath?: string;
  /** where the default socket and relative FIFO/socket names go; default $TSER_RUN_DIR, /run/tser, else the temp dir */
  runDir?: string;
  /** close control clients that send nothing for this long (default $TSER_CTL_IDLE_MS, else 10 s) */
  idleTimeoutMs?: number;
  /** what core.kill and the FIFO kill command do (default: SIGTERM to this process) */
  kill?: () => void;
}

export interface Listening {
  endpoint: Endpoint;
  where: string;
  /** bound port of tcp/udp endpoints */
  port?: number;
}

export interface ControlHandle {
  stop(): Promise<void>;
  /** reload and log the outcome (SIGHUP); never throws */
  reload(reason: string): Promise<void>;
  /** reload and return the report; throws RpcError on failure or when one is running */
  reloadNow(reason: string): Promise<ReloadReport>;
  /** call an RPC method in-process */
  call(method: string, params?: RpcParams): Promise<unknown>;
  readonly listening: readonly Listening[];
}

/** /run/tser when it can be created and written, else the temp dir */
export function defaultRunDir(): string {
  const env = process.env.TSER_RUN_DIR;
  for (const dir of env ? [env] : ['/run/tser']) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      accessSync(dir, fsc.W_OK);
      return dir;
    } catch {
      // not ours to write
    }
  }
  return tmpdir();
}

/** every modparam("ctl", "binrpc", …) of a config, in order (Kamailio: one socket each) */
function ctlBinrpc(cfg: LoadedConfig): string[] | undefined {
  const items = cfg.parsed?.ast.items ?? [];
  const out: string[] = [];
  for (const it of items) if (it.kind === 'modparam' && it.module === 'ctl' && it.param === 'binrpc' && it.value.type === 'str') out.push(it.value.value);
  return out.length ? out : undefined;
}

function moduleParams(plans: readonly { def: { name: string }; params: Record<string, unknown> }[]): Map<string, Record<string, unknown>> {
  return new Map(plans.map((p) => [p.def.name, p.params]));
}

export async function startControl(server: ControlServer, cfg: LoadedConfig, opts: ControlOptions): Promise<ControlHandle> {
  const log = server.log.child({ part: 'control' });
  const state = new ControlState(server, cfg.globals);
  const runDir = opts.runDir ?? defaultRunDir();
  const socketOverride = opts.socketPath ?? (process.env.TSER_CTL_SOCKET || undefined);
  const kill = opts.kill ?? (() => process.kill(process.pid, 'SIGTERM'));
  const plan = planEndpoints({
    globals: cfg.globals,
    modules: new Map([...server.modules].map(([k, v]) => [k, v.params])),
    runDir,
    socketOverride,
    ctlBinrpc: ctlBinrpc(cfg),
  });
  const planText = JSON.stringify(plan.endpoints.map(describeEndpoint));

  const restartNotes = (next: LoadedConfig): ParamChange[] => {
    const p = planEndpoints({ globals: next.globals, modules: moduleParams(next.modules), runDir, socketOverride, ctlBinrpc: ctlBinrpc(next) });
    const text = JSON.stringify(p.endpoints.map(describeEndpoint));
    if (text === planText) return [];
    return [{ scope: 'control', name: 'endpoints', running: JSON.parse(planText), configured: JSON.parse(text), why: 'restart required' }];
  };
  const reloader = new Reloader(server, state, { file: cfg.file, defines: opts.defines, dialect: opts.dialect, restartNotes });

  const own = new Map<string, ControlMethod>();
  const dispatcher = new Dispatcher(server, own, log);
  for (const [k, v] of coreMethods({
    server,
    state,
    reloader,
    names: () => dispatcher.names(),
    help: (n) => dispatcher.find(n)?.help,
    file: cfg.file,
    kill,
  }))
    own.set(k, v);

  const handleDoc = async (doc: string, transport: string): Promise<string | null> => {
    const p = parseDocument(doc);
    if (!p.ok) return JSON.stringify(p.response);
    const info: CallInfo = { transport };
    const r = await handleJsonRpc(p.value, dispatcher, info);
    return r === null ? null : JSON.stringify(r);
  };
  const ser = serFifoHandler({ server, dispatcher, kill });
  const serve: ServeOptions = { log, idleTimeoutMs: opts.idleTimeoutMs ?? (Number(process.env.TSER_CTL_IDLE_MS) || 10000), maxRequestBytes: 1 << 20, maxConnections: 64, binrpc: binRpcHandler(dispatcher) };

  for (const note of plan.notes) log.warn(note);
  const open: Closable[] = [];
  const listening: Listening[] = [];
  for (const ep of plan.endpoints) {
    try {
      let c: Closable & { port?: number };
      switch (ep.kind) {
        case 'fifo':
          c = await openFifo(
            { ser, json: (doc) => handleDoc(doc, 'fifo') },
            { path: ep.path, replyDir: ep.replyDir, mode: ep.mode, pretty: ep.pretty, log, idleTimeoutMs: serve.idleTimeoutMs, maxRequestBytes: serve.maxRequestBytes },
          );
          break;
        case 'unix':
          c = await listenUnix(ep.path, ep.mode, handleDoc, serve, { user: ep.user, group: ep.group });
          break;
        case 'tcp':
          c = await listenTcp(ep.host, ep.port, handleDoc, serve);
          break;
        case 'udp':
          c = await listenUdp(ep.host, ep.port, handleDoc, serve);
          break;
      }
      if (ep.kind !== 'fifo' && ep.kind !== 'unix' && !isLoopback(ep.host))
        log.warn({ where: c.where, owner: ep.owner }, 'control endpoint listens on a non-loopback address (as configured)');
      open.push(c);
      listening.push({ endpoint: ep, where: c.where, port: c.port });
    } catch (e) {
      log.error({ endpoint: describeEndpoint(ep), owner: ep.owner, err: (e as Error).message }, 'control endpoint not opened');
    }
  }
  log.info({ endpoints: listening.map((l) => l.where) }, 'control plane ready');

  const reloadNow = (reason: string) => reloader.reload(reason);
  return {
    listening,
    reloadNow,
    call: (method, params = []) => dispatcher.call(method, params, { transport: 'internal' }),
    reload: async (reason) => {
      // the reloader logs the outcome either way
      await reloadNow(reason).catch(() => undefined);
    },
    stop: async () => {
      await Promise.all(open.map((c) => c.close().catch(() => undefined)));
      open.length = 0;
    },
  };
}
