// The RPC method table: the control plane's own methods (core.*, stats.*, cfg.*, system.*)
// plus every `rpc` entry of every loaded module, looked up generically in server.modules
// at call time (so modules added by a reload are reachable at once). A handler that
// throws or hangs becomes an error reply; it never takes the proxy down.
import type { Logger } from 'pino';
import { RpcError, type RpcParams } from '../core/module-api.js';
import type { ModuleInstance } from '../core/server.js';
import { JsonRpcCode, type CallInfo, type RpcCaller } from './jsonrpc.js';

export interface ControlMethod {
  help: string;
  run(params: RpcParams, info: CallInfo): unknown;
}

export interface MethodSource {
  readonly modules: ReadonlyMap<string, ModuleInstance>;
}

export class Dispatcher implements RpcCaller {
  constructor(
    private readonly server: MethodSource,
    private readonly own: Map<string, ControlMethod>,
    private readonly log: Logger,
    private readonly callTimeoutMs = 30000,
  ) {}

  find(name: string): ControlMethod | undefined {
    const own = this.own.get(name);
    if (own) return own;
    for (const inst of this.server.modules.values()) {
      const spec = inst.def.rpc?.[name];
      if (spec) return { help: spec.help, run: (params) => spec.run(inst.holder.state, params) };
    }
    return undefined;
  }

  /** every method name, sorted; the control plane's own first when a module repeats one */
  names(): string[] {
    const all = new Set(this.own.keys());
    for (const inst of this.server.modules.values()) for (const k of Object.keys(inst.def.rpc ?? {})) all.add(k);
    return [...all].sort();
  }

  async call(method: string, params: RpcParams, info: CallInfo): Promise<unknown> {
    const m = this.find(method);
    if (!m) throw new RpcError(JsonRpcCode.METHOD_NOT_FOUND, `Method not found: ${method}`);
    this.log.debug({ method, transport: info.transport }, 'rpc call');
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = m.run(params, info);
      if (!isThenable(result)) return result;
      const guarded = Promise.resolve(result);
      guarded.catch(() => undefined); // a late rejection after a timeout is not "unhandled"
      return await Promise.race([
        guarded,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RpcError(500, `${method} timed out after ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
        }),
      ]);
    } catch (e) {
      if (e instanceof RpcError) throw e;
      // modules' own error classes with a numeric code (usrloc's UlRpcError) keep it
      const code = (e as { code?: unknown } | null)?.code;
      if (e instanceof Error && typeof code === 'number' && Number.isInteger(code)) throw new RpcError(code, e.message);
      const err = e instanceof Error ? e : new Error(String(e));
      this.log.error({ method, err: err.message, stack: err.stack }, 'rpc handler failed');
      throw new RpcError(500, err.message || 'internal error');
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
