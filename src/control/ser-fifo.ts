// SER 0.9 FIFO commands (fifo_server.c): print, uptime, version, which, ps, arg, pwd, kill,
// plus reload/reload_routes, and every RPC method under its own name or with "_" for the
// first "." (ul_rm → ul.rm, ul_dump → ul.dump); modules may also declare SER names such
// as ul_show_contact directly in their rpc table. Replies are "<code> <text>" + body lines.
import { RpcError } from '../core/module-api.js';
import { ctime, processList, versionText } from './core-methods.js';
import type { Dispatcher } from './dispatcher.js';
import { describeReload, renderText } from './render-text.js';
import type { ControlServer } from './state.js';

export interface SerReply {
  code: number;
  reason: string;
  body?: string;
}

export interface SerFifoDeps {
  server: ControlServer;
  dispatcher: Dispatcher;
  kill: () => void;
}

/** old MI/FIFO names of core RPC methods */
const ALIASES: Record<string, string> = {
  reload: 'cfg.reload',
  reload_routes: 'cfg.reload',
  get_statistics: 'stats.get_statistics',
  reset_statistics: 'stats.reset_statistics',
  clear_statistics: 'stats.clear_statistics',
  list_methods: 'system.listMethods',
};

const BUILTIN = ['print', 'uptime', 'version', 'which', 'ps', 'arg', 'pwd', 'kill'];

/** an RPC error code as a SER FIFO reply code */
export function serCode(code: number): number {
  if (code >= 100 && code <= 699) return code;
  if (code === -32602 || code === -32600) return 400;
  return 500;
}

export function serFifoHandler(d: SerFifoDeps): (cmd: string, args: string[]) => Promise<SerReply> {
  const builtin: Record<string, (args: string[]) => SerReply> = {
    print: (a) => ({ code: 200, reason: 'ok', body: a[0] ?? '' }),
    uptime: () => {
      const now = Date.now();
      const up = Math.floor((now - d.server.startTime) / 1000);
      return { code: 200, reason: 'ok', body: `Now: ${ctime(now)}\nUp Since: ${ctime(d.server.startTime)}\nUp time: ${up} [sec]` };
    },
    version: () => ({ code: 200, reason: 'ok', body: `Server: ${versionText()}` }),
    which: () => ({ code: 200, reason: 'ok', body: [...BUILTIN, ...Object.keys(ALIASES), ...d.dispatcher.names()].join('\n') }),
    ps: () => ({ code: 200, reason: 'ok', body: processList().map((p) => `${p.IDX}\t${p.PID}\t${p.DSC}`).join('\n') }),
    arg: () => ({ code: 200, reason: 'ok', body: process.argv.join('\n') }),
    pwd: () => ({ code: 200, reason: 'ok', body: process.cwd() }),
    kill: () => {
      setTimeout(d.kill, 50).unref();
      return { code: 200, reason: 'killing now...' };
    },
  };

  const methodFor = (cmd: string): string | null => {
    if (ALIASES[cmd]) return ALIASES[cmd];
    if (d.dispatcher.find(cmd)) return cmd;
    const dotted = cmd.replace('_', '.');
    if (dotted !== cmd && d.dispatcher.find(dotted)) return dotted;
    return null;
  };

  return async (cmd, args) => {
    const b = builtin[cmd];
    if (b) return b(args);
    const method = methodFor(cmd);
    if (!method) return { code: 500, reason: `command '${cmd}' not available` };
    try {
      const result = await d.dispatcher.call(method, args, { transport: 'fifo' });
      if (method === 'cfg.reload') return { code: 200, reason: 'ok', body: describeReload(result as Parameters<typeof describeReload>[0]) };
      // a one-line text answer is the reply text itself, as SER's "200 Added to table"
      if (typeof result === 'string' && !result.includes('\n') && result !== '') return { code: 200, reason: result };
      return { code: 200, reason: 'ok', body: renderText(result) };
    } catch (e) {
      if (!(e instanceof RpcError)) return { code: 500, reason: (e as Error).message };
      const data = e.data as { errors?: unknown[]; diagnostics?: unknown } | undefined;
      const body = typeof data?.diagnostics === 'string' ? data.diagnostics : Array.isArray(data?.errors) ? data.errors.join('\n') : undefined;
      return { code: serCode(e.rpcCode), reason: e.message.replace(/\n/g, ' '), body };
    }
  };
}

export function formatSerReply(r: SerReply): string {
  const head = `${r.code} ${r.reason}\n`;
  if (!r.body) return head;
  return head + (r.body.endsWith('\n') ? r.body : `${r.body}\n`);
}
