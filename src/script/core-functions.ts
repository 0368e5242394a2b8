// Core script functions every config has without loadmodule: stateless forward, the SER
// R-URI rewrite family, flags, branches, header edits (textops basics) and xlog.
// Declared with the same table shape as a module so the compiler treats them alike.
import { arg, defineModule, fn, optional, REQ_FAIL_BRANCH, ANY_ROUTE, Ret, Route } from '../core/module-api.js';
import { formatUri, parseUri } from '../sip/index.js';
import type { SipUri } from '../sip/types.js';
import type { MsgContext } from './context.js';

const REQ_ANY = REQ_FAIL_BRANCH | Route.ONSEND;

/** apply a change to the R-URI; -1 when the current R-URI does not parse */
function editRuri(ctx: MsgContext, f: (u: SipUri) => void): number {
  const u = parseUri(ctx.ruri);
  if (!u) {
    ctx.log.warn({ ruri: ctx.ruri }, 'cannot rewrite: bad R-URI');
    return Ret.FALSE;
  }
  f(u);
  ctx.newUri = formatUri(u);
  return Ret.OK;
}

function hostPort(s: string): { host: string; port: number | null } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s.trim());
  if (!m) return { host: s, port: null };
  return { host: m[1], port: m[2] ? Number(m[2]) : null };
}

const LEVELS: Record<string, 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  L_DBG: 'debug',
  L_INFO: 'info',
  L_NOTICE: 'info',
  L_WARN: 'warn',
  L_ERR: 'error',
  L_CRIT: 'fatal',
  L_ALERT: 'fatal',
  L_BUG: 'fatal',
};

function levelOf(s: string): 'debug' | 'info' | 'warn' | 'error' | 'fatal' {
  const t = s.trim();
  if (LEVELS[t]) return LEVELS[t];
  const n = Number(t);
  if (!Number.isNaN(n)) return n >= 3 ? 'debug' : n >= 2 ? 'info' : n >= 0 ? 'warn' : 'error';
  return 'info';
}

function log(ctx: MsgContext, level: 'debug' | 'info' | 'warn' | 'error' | 'fatal', text: string): number {
  ctx.log[level]({ script: true }, text.replace(/\n$/, ''));
  return Ret.OK;
}

const levelArg = arg.custom('log level', (s) => levelOf(s));

/** header text as given to append_hf: ensure one header per line, no trailing CRLF */
function headerLine(s: string): string {
  return s.replace(/\r?\n$/, '');
}

function forwardTo(ctx: MsgContext, proto: 'udp' | 'tcp' | null, host?: string, port?: number): number | Promise<number> {
  let target: string | null = null;
  if (host !== undefined) {
    const h = host.startsWith('uri:') ? hostOfRuri(ctx) : host;
    if (!h) return Ret.FALSE;
    target = `sip:${h}${port ? `:${port}` : ''}${proto === 'tcp' ? ';transport=tcp' : ''}`;
  } else if (proto) {
    const base = ctx.dstUri ?? ctx.ruri;
    const u = parseUri(base);
    if (!u) return Ret.FALSE;
    u.params = u.params.filter(([k]) => k.toLowerCase() !== 'transport');
    if (proto === 'tcp') u.params.push(['transport', 'tcp']);
    target = formatUri(u);
  }
  return ctx.core.forward(ctx, target).then((ok) => (ok ? Ret.OK : Ret.FALSE));
}

function hostOfRuri(ctx: MsgContext): string | null {
  const u = parseUri(ctx.ruri);
  return u ? u.host : null;
}

/** xlog([level,] text): without a level Kamailio logs at L_ERR */
const xlogFn = fn({
  args: [arg.str(), optional(arg.str())],
  routes: ANY_ROUTE,
  run: (ctx, _s, a, b) => (b === undefined ? log(ctx, 'error', a) : log(ctx, levelOf(a), b)),
});

export const coreModule = defineModule({
  name: 'core',
  doc: 'core functions available without loadmodule',
  params: {},
  init: () => undefined,
  functions: {
    forward: fn({
      args: [optional(arg.str()), optional(arg.int({ min: 0, max: 65535 }))],
      routes: REQ_FAIL_BRANCH | Route.ONREPLY | Route.REPLY,
      async: true,
      run: (ctx, _s, host, port) => forwardTo(ctx, null, host, port),
    }),
    forward_udp: fn({
      args: [optional(arg.str()), optional(arg.int({ min: 0, max: 65535 }))],
      routes: REQ_FAIL_BRANCH,
      async: true,
      run: (ctx, _s, host, port) => forwardTo(ctx, 'udp', host, port),
    }),
    forward_tcp: fn({
      args: [optional(arg.str()), optional(arg.int({ min: 0, max: 65535 }))],
      routes: REQ_FAIL_BRANCH,
      async: true,
      run: (ctx, _s, host, port) => forwardTo(ctx, 'tcp', host, port),
    }),
    rewriteuser: fn({ args: [arg.str()], routes: REQ_ANY, run: (ctx, _s, user) => editRuri(ctx, (u) => (u.user = user || null)) }),
    rewritehost: fn({ args: [arg.str()], routes: REQ_ANY, run: (ctx, _s, host) => editRuri(ctx, (u) => (u.host = host)) }),
    rewritehostport: fn({
      args: [arg.str()],
      routes: REQ_ANY,
      run: (ctx, _s, hp) =>
        editRuri(ctx, (u) => {
          const { host, port } = hostPort(hp);
          u.host = host;
          u.port = port;
        }),
    }),
    rewriteport: fn({
      args: [arg.str()],
      routes: REQ_ANY,
      run: (ctx, _s, p) => editRuri(ctx, (u) => (u.port = p === '' ? null : Number(p))),
    }),
    rewriteuri: fn({
      args: [arg.str()],
      routes: REQ_ANY,
      run: (ctx, _s, uri) => {
        ctx.newUri = uri;
        return Ret.OK;
      },
    }),
    rewriteuserpass: fn({
      args: [arg.str()],
      routes: REQ_ANY,
      run: (ctx, _s, up) =>
        editRuri(ctx, (u) => {
          const i = up.indexOf(':');
          u.user = i < 0 ? up : up.slice(0, i);
          u.password = i < 0 ? null : up.slice(i + 1);
        }),
    }),
    revert_uri: fn({
      args: [],
      routes: REQ_ANY,
      run: (ctx) => {
        ctx.newUri = null;
        return Ret.OK;
      },
    }),
    prefix: fn({
      args: [arg.str()],
      routes: REQ_ANY,
      run: (ctx, _s, p) => editRuri(ctx, (u) => (u.user = p + (u.user ?? ''))),
    }),
    strip: fn({
      args: [arg.int({ min: 0 })],
      routes: REQ_ANY,
      run: (ctx, _s, n) => editRuri(ctx, (u) => (u.user = (u.user ?? '').slice(n) || null)),
    }),
    strip_tail: fn({
      args: [arg.int({ min: 0 })],
      routes: REQ_ANY,
      run: (ctx, _s, n) =>
        editRuri(ctx, (u) => {
          const user = u.user ?? '';
          u.user = user.slice(0, Math.max(0, user.length - n)) || null;
        }),
    }),
    append_branch: fn({
      args: [optional(arg.str()), optional(arg.str())],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, uri, q) => {
        ctx.branches.push({
          uri: uri ?? ctx.ruri,
          dstUri: uri ? null : ctx.dstUri,
          q: q !== undefined && q !== '' ? Number(q) : null,
          path: null,
          flags: 0,
        });
        return Ret.OK;
      },
    }),
    setflag: fn({
      args: [arg.int({ min: 0, max: 31 })],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => {
        ctx.flags |= 1 << f;
        return Ret.OK;
      },
    }),
    resetflag: fn({
      args: [arg.int({ min: 0, max: 31 })],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => {
        ctx.flags &= ~(1 << f);
        return Ret.OK;
      },
    }),
    isflagset: fn({
      args: [arg.int({ min: 0, max: 31 })],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => (ctx.flags & (1 << f) ? Ret.OK : Ret.FALSE),
    }),
    setbflag: fn({
      args: [arg.int({ min: 0, max: 31 }), optional(arg.int({ min: 0 }))],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => {
        ctx.bflags |= 1 << f;
        return Ret.OK;
      },
    }),
    resetbflag: fn({
      args: [arg.int({ min: 0, max: 31 }), optional(arg.int({ min: 0 }))],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => {
        ctx.bflags &= ~(1 << f);
        return Ret.OK;
      },
    }),
    isbflagset: fn({
      args: [arg.int({ min: 0, max: 31 }), optional(arg.int({ min: 0 }))],
      routes: ANY_ROUTE,
      run: (ctx, _s, f) => (ctx.bflags & (1 << f) ? Ret.OK : Ret.FALSE),
    }),
    force_rport: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx) => {
        ctx.core.forceRport(ctx.msg, ctx.rcv);
        return Ret.OK;
      },
    }),
    log: fn({
      args: [arg.str(), optional(arg.str())],
      routes: ANY_ROUTE,
      run: (ctx, _s, a, b) => (b === undefined ? log(ctx, 'info', a) : log(ctx, levelOf(a), b)),
    }),
    xlog: xlogFn,
    xlogl: xlogFn,
    xdbg: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (ctx, _s, t) => log(ctx, 'debug', t) }),
    xinfo: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (ctx, _s, t) => log(ctx, 'info', t) }),
    xnotice: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (ctx, _s, t) => log(ctx, 'info', t) }),
    xwarn: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (ctx, _s, t) => log(ctx, 'warn', t) }),
    xerr: fn({ args: [arg.str()], routes: ANY_ROUTE, run: (ctx, _s, t) => log(ctx, 'error', t) }),
    xlog_level: fn({ args: [levelArg, arg.str()], routes: ANY_ROUTE, run: (ctx, _s, l, t) => log(ctx, l, t) }),
    append_hf: fn({
      args: [arg.str(), optional(arg.str())],
      routes: ANY_ROUTE,
      run: (ctx, _s, text, after) => {
        const target = ctx.reply ?? ctx.msg;
        // only the order among same-named headers matters in SIP, so "after X" appends
        if (after && !target.hasHeader(after)) return Ret.FALSE;
        target.appendHeader(headerLine(text));
        return Ret.OK;
      },
    }),
    insert_hf: fn({
      args: [arg.str(), optional(arg.str())],
      routes: ANY_ROUTE,
      run: (ctx, _s, text, before) => {
        const target = ctx.reply ?? ctx.msg;
        if (before && !target.hasHeader(before)) return Ret.FALSE;
        target.insertHeaderTop(headerLine(text));
        return Ret.OK;
      },
    }),
    remove_hf: fn({
      args: [arg.str()],
      routes: ANY_ROUTE,
      run: (ctx, _s, name) => {
        const n = (ctx.reply ?? ctx.msg).removeHeaders(name);
        return n > 0 ? n : Ret.FALSE;
      },
    }),
    is_present_hf: fn({
      args: [arg.str()],
      routes: ANY_ROUTE,
      run: (ctx, _s, name) => ((ctx.reply ?? ctx.msg).hasHeader(name) ? Ret.OK : Ret.FALSE),
    }),
    is_method: fn({
      args: [arg.custom('method list', (s) => s.split('|').map((m) => m.trim().toUpperCase()))],
      routes: ANY_ROUTE,
      run: (ctx, _s, methods) => (methods.includes(ctx.msg.method.toUpperCase()) ? Ret.OK : Ret.FALSE),
    }),
    has_totag: fn({
      args: [],
      routes: ANY_ROUTE,
      run: (ctx) => {
        try {
          return ctx.msg.to().tag ? Ret.OK : Ret.FALSE;
        } catch {
          return Ret.FALSE;
        }
      },
    }),
    is_myself: fn({
      args: [arg.str()],
      routes: ANY_ROUTE,
      run: (ctx, _s, uri) => {
        const u = parseUri(uri);
        const host = u ? u.host : uri;
        return ctx.core.isMyself(host, u?.port ?? null) ? Ret.OK : Ret.FALSE;
      },
    }),
    isdsturiset: fn({ args: [], routes: REQ_FAIL_BRANCH, run: (ctx) => (ctx.dstUri ? Ret.OK : Ret.FALSE) }),
    resetdsturi: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx) => {
        ctx.dstUri = null;
        return Ret.OK;
      },
    }),
    setdsturi: fn({
      args: [arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, uri) => {
        if (!/^(sips?|tel):/i.test(uri)) return Ret.FALSE;
        ctx.dstUri = uri;
        return Ret.OK;
      },
    }),
    // TCP connection control (Kamailio core): tser always reuses or opens connections as
    // needed, so these only acknowledge the request
    set_reply_no_connect: fn({ args: [], routes: REQ_FAIL_BRANCH, run: () => Ret.OK }),
    set_forward_no_connect: fn({ args: [], routes: REQ_FAIL_BRANCH, run: () => Ret.OK }),
    set_reply_close: fn({ args: [], routes: REQ_FAIL_BRANCH, run: () => Ret.OK }),
    set_forward_close: fn({ args: [], routes: REQ_FAIL_BRANCH, run: () => Ret.OK }),
    append_to_reply: fn({
      args: [arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, text) => {
        const list = ctx.getExt<string[]>('core.replyHeaders') ?? [];
        list.push(headerLine(text));
        ctx.setExt('core.replyHeaders', list);
        return Ret.OK;
      },
    }),
  },
});
