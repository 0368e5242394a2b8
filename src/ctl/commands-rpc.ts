// tserctl commands that talk to a running tser over its control socket (JSON-RPC):
// reload, ps, uptime, version, stats, ul show|rm|add, methods, rpc METHOD [PARAMS...].
// Output is readable text, or pretty JSON with --json (and always for `rpc`).
// Errors print one line "tserctl: ..." (a failed reload adds its file:line:col list) and exit 1.
import { describeReload, renderText } from '../control/render-text.js';
import { CtlError, readRc, resolveSocket, rpcCall } from './rpc-client.js';

export interface CtlContext {
  /** -s PATH (unix path, or tcp:HOST:PORT / udp:HOST:PORT) */
  socket?: string;
  /** --json: print results as pretty JSON */
  json?: boolean;
  /** tserctl.rc values (read by tserctl; read here when absent) */
  rc?: Record<string, string>;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

export interface CtlCommand {
  name: string;
  usage: string;
  help: string;
  run(args: string[], ctx: CtlContext): Promise<number>;
}

/** "12" → 12, "s:12" → "12", "i:7" → 7, "true"/"false" stay strings (as kamctl rpc) */
export function rpcParam(text: string): string | number {
  if (text.startsWith('s:')) return text.slice(2);
  if (text.startsWith('i:')) {
    const n = Number(text.slice(2));
    return Number.isFinite(n) ? n : text.slice(2);
  }
  return /^[-+]?\d+(\.\d+)?$/.test(text) && Number.isFinite(Number(text)) ? Number(text) : text;
}

interface Io {
  out: (t: string) => void;
  err: (t: string) => void;
  call: (method: string, params?: readonly unknown[]) => Promise<unknown>;
  json: boolean;
  rc: Record<string, string>;
}

function io(ctx: CtlContext): Io {
  const rc = ctx.rc ?? readRc();
  const socket = resolveSocket(ctx.socket, rc);
  const timeout = Number(process.env.TSER_CTL_TIMEOUT ?? rc.CTL_TIMEOUT ?? 60000);
  return {
    out: ctx.out ?? ((t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)),
    err: ctx.err ?? ((t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`)),
    call: (m, p = []) => rpcCall(socket, m, p, Number.isFinite(timeout) && timeout > 0 ? timeout : 60000),
    json: ctx.json === true,
    rc,
  };
}

/** run a command body; CtlError → one line on stderr and exit code 1 */
async function guarded(ctx: CtlContext, body: (o: Io) => Promise<number>): Promise<number> {
  const o = io(ctx);
  try {
    return await body(o);
  } catch (e) {
    if (e instanceof CtlError) {
      o.err(`tserctl: ${e.rpcCode !== null ? `error ${e.rpcCode}: ` : ''}${e.message.replace(/\n/g, ' ')}`);
      const d = e.data as { errors?: unknown } | undefined;
      if (Array.isArray(d?.errors)) for (const line of d.errors) o.err(String(line));
      return 1;
    }
    o.err(`tserctl: ${(e as Error).message}`);
    return 1;
  }
}

function show(o: Io, result: unknown, text: (r: unknown) => string): number {
  o.out(o.json ? JSON.stringify(result, null, 2) : text(result));
  return 0;
}

function usageError(ctx: CtlContext, usage: string): number {
  (ctx.err ?? ((t: string) => process.stderr.write(`${t}\n`)))(`tserctl: usage: tserctl ${usage}`);
  return 1;
}

const table = (o: Io) => o.rc.UL_TABLE || 'location';

export const rpcCommands: CtlCommand[] = [
  {
    name: 'reload',
    usage: 'reload',
    help: 'check the routing script again and swap it in; prints what changed (errors: file:line:col)',
    run: (_a, ctx) => guarded(ctx, async (o) => show(o, await o.call('cfg.reload'), (r) => describeReload(r as Parameters<typeof describeReload>[0]))),
  },
  {
    name: 'ps',
    usage: 'ps',
    help: 'processes of the running tser',
    run: (_a, ctx) =>
      guarded(ctx, async (o) =>
        show(o, await o.call('core.psx'), (r) =>
          ['IDX\tPID\tDESCRIPTION', ...(r as { IDX: number; PID: number; DSC: string }[]).map((p) => `${p.IDX}\t${p.PID}\t${p.DSC}`)].join('\n'),
        ),
      ),
  },
  {
    name: 'uptime',
    usage: 'uptime',
    help: 'current time, start time and uptime',
    run: (_a, ctx) =>
      guarded(ctx, async (o) =>
        show(o, await o.call('core.uptime'), (r) => {
          const u = r as { now: string; up_since: string; uptime: number };
          return `Now: ${u.now}\nUp Since: ${u.up_since}\nUp time: ${u.uptime} [sec]`;
        }),
      ),
  },
  {
    name: 'version',
    usage: 'version',
    help: 'version of the running tser',
    run: (_a, ctx) => guarded(ctx, async (o) => show(o, await o.call('core.version'), (r) => String(r))),
  },
  {
    name: 'stats',
    usage: 'stats [GROUP|GROUP:NAME ...]',
    help: 'statistics counters (all, or the given groups / counters)',
    run: (a, ctx) =>
      guarded(ctx, async (o) => show(o, await o.call('stats.get_statistics', a.length ? a : ['all']), (r) => (r as string[]).join('\n'))),
  },
  {
    name: 'ul',
    usage: 'ul show [AOR] | ul rm AOR [CONTACT] | ul add AOR CONTACT [EXPIRES]',
    help: 'user location: show all or one AOR, remove an AOR (or one contact), add a contact (table from UL_TABLE, default location)',
    run: async (a, ctx) => {
      const [sub, ...rest] = a;
      if (sub === 'show' && rest.length <= 1)
        return guarded(ctx, async (o) => show(o, await (rest[0] ? o.call('ul.lookup', [table(o), rest[0]]) : o.call('ul.dump')), (r) => renderText(r)));
      if (sub === 'rm' && (rest.length === 1 || rest.length === 2))
        return guarded(ctx, async (o) =>
          show(o, await (rest.length === 1 ? o.call('ul.rm', [table(o), rest[0]]) : o.call('ul.rm_contact', [table(o), rest[0], rest[1]])), (r) => renderText(r)),
        );
      if (sub === 'add' && (rest.length === 2 || rest.length === 3))
        return guarded(ctx, async (o) =>
          show(o, await o.call('ul.add', [table(o), rest[0], rest[1], rest[2] !== undefined ? rpcParam(rest[2]) : 0]), (r) => renderText(r)),
        );
      return usageError(ctx, 'ul show [AOR] | ul rm AOR [CONTACT] | ul add AOR CONTACT [EXPIRES]');
    },
  },
  {
    name: 'methods',
    usage: 'methods',
    help: 'RPC methods the running tser offers',
    run: (_a, ctx) => guarded(ctx, async (o) => show(o, await o.call('system.listMethods'), (r) => (r as string[]).join('\n'))),
  },
  {
    name: 'rpc',
    usage: 'rpc METHOD [PARAMS...]',
    help: 'call any RPC method; numeric params are sent as numbers (force with s:/i: prefixes)',
    run: async (a, ctx) => {
      if (a.length === 0) return usageError(ctx, 'rpc METHOD [PARAMS...]');
      const [method, ...params] = a;
      return guarded(ctx, async (o) => {
        const r = await o.call(method, params.map(rpcParam));
        o.out(JSON.stringify(r, null, 2));
        return 0;
      });
    },
  },
];
