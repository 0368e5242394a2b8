// textops (also loadable as rewrite / textopsx): regex search, replace, sed-like subst on the
// message, the R-URI and its user part, body and header helpers, string comparisons.
// append_hf, insert_hf, remove_hf, is_present_hf, is_method and the SER rewrite family
// (rewriteuser, prefix, strip, ...) are core functions (src/script/core-functions.ts).
import { ANY_ROUTE, arg, ArgError, defineModule, fn, optional, Ret, REQ_FAIL_BRANCH, Route } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import * as ops from './ops.js';
import { reArg } from './regex.js';
import { cmpStr, inList, strFind } from './strings.js';
import { substArg } from './subst.js';

/** routes where Kamailio's textops functions that touch the message are allowed */
const MSG_ROUTES = REQ_FAIL_BRANCH | Route.ONREPLY | Route.REPLY;

const hfFlags = () =>
  arg.custom('header flags', (s) => {
    const f = s.trim() || 'a';
    if (f !== 'a' && f !== 'f' && f !== 'l') throw new ArgError(`flags must be a, f or l, got "${s}"`);
    return f;
  });

const modeArg = () =>
  arg.custom('mode', (s) => {
    const m = s.trim() || 'f';
    if (m !== 'a' && m !== 'f') throw new ArgError(`mode must be f or a, got "${s}"`);
    return m;
  });

function removeHfWhere(ctx: MsgContext, match: (name: string) => boolean): number {
  const msg = ops.target(ctx);
  let n = 0;
  for (const h of msg.headers) {
    if (h.removed || !match(h.name)) continue;
    msg.removeHeader(h);
    n++;
  }
  return n > 0 ? n : Ret.FALSE;
}

function test(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return re.test(s);
}

export default defineModule({
  name: 'textops',
  aliases: ['rewrite', 'textopsx'],
  doc: 'text operations on messages: search, replace, subst, subst_uri, subst_user, body and header helpers',
  params: {},
  init: () => undefined,
  functions: {
    search: fn({ args: [reArg()], routes: MSG_ROUTES, run: (ctx, _s, re) => ops.search(ctx, re) }),
    search_body: fn({ args: [reArg()], routes: MSG_ROUTES, run: (ctx, _s, re) => ops.searchBody(ctx, re) }),
    search_str: fn({
      args: [arg.str(), reArg()],
      routes: ANY_ROUTE,
      run: (_ctx, _s, text, re) => (test(re, text) ? Ret.OK : Ret.FALSE),
    }),
    search_hf: fn({
      args: [arg.str(), reArg(), optional(hfFlags())],
      routes: MSG_ROUTES,
      run: (ctx, _s, hf, re, f) => ops.searchHf(ctx, hf, re, f ?? 'a'),
    }),
    search_append: fn({
      args: [reArg(), arg.str()],
      routes: MSG_ROUTES,
      run: (ctx, _s, re, txt) => ops.searchAppend(ctx, 'all', re, txt),
    }),
    search_append_body: fn({
      args: [reArg(), arg.str()],
      routes: MSG_ROUTES,
      run: (ctx, _s, re, txt) => ops.searchAppend(ctx, 'body', re, txt),
    }),
    replace: fn({ args: [reArg(), arg.str()], routes: MSG_ROUTES, run: (ctx, _s, re, t) => ops.replace(ctx, 'all', re, t, false) }),
    replace_all: fn({ args: [reArg(), arg.str()], routes: MSG_ROUTES, run: (ctx, _s, re, t) => ops.replace(ctx, 'all', re, t, true) }),
    replace_hdrs: fn({ args: [reArg(), arg.str()], routes: ANY_ROUTE, run: (ctx, _s, re, t) => ops.replace(ctx, 'headers', re, t, false) }),
    replace_body: fn({ args: [reArg(), arg.str()], routes: MSG_ROUTES, run: (ctx, _s, re, t) => ops.replace(ctx, 'body', re, t, false) }),
    replace_body_all: fn({ args: [reArg(), arg.str()], routes: MSG_ROUTES, run: (ctx, _s, re, t) => ops.replace(ctx, 'body', re, t, true) }),
    // one match over the whole body: '.' crosses line ends
    replace_body_atonce: fn({
      args: [reArg('is'), arg.str()],
      routes: MSG_ROUTES,
      run: (ctx, _s, re, t) => ops.replace(ctx, 'body', re, t, true),
    }),
    replace_str: fn({
      args: [arg.str(), arg.str(), optional(modeArg())],
      routes: ANY_ROUTE,
      run: (ctx, _s, m, r, mode) => ops.replaceStr(ctx, 'all', m, r, mode ?? 'f'),
    }),
    replace_hdrs_str: fn({
      args: [arg.str(), arg.str(), optional(modeArg())],
      routes: ANY_ROUTE,
      run: (ctx, _s, m, r, mode) => ops.replaceStr(ctx, 'headers', m, r, mode ?? 'f'),
    }),
    replace_body_str: fn({
      args: [arg.str(), arg.str(), optional(modeArg())],
      routes: ANY_ROUTE,
      run: (ctx, _s, m, r, mode) => ops.replaceStr(ctx, 'body', m, r, mode ?? 'f'),
    }),
    subst: fn({ args: [substArg()], routes: MSG_ROUTES, run: (ctx, _s, se) => ops.subst(ctx, 'all', se) }),
    subst_body: fn({ args: [substArg()], routes: MSG_ROUTES, run: (ctx, _s, se) => ops.subst(ctx, 'body', se) }),
    subst_uri: fn({ args: [substArg()], routes: REQ_FAIL_BRANCH, run: (ctx, _s, se) => ops.substUri(ctx, se) }),
    subst_user: fn({ args: [substArg()], routes: REQ_FAIL_BRANCH, run: (ctx, _s, se) => ops.substUser(ctx, se) }),
    subst_hf: fn({
      args: [arg.str(), substArg(), optional(hfFlags())],
      routes: MSG_ROUTES,
      run: (ctx, _s, hf, se, f) => ops.substHf(ctx, hf, se, f ?? 'a'),
    }),
    has_body: fn({ args: [optional(arg.str())], routes: MSG_ROUTES, run: (ctx, _s, mime) => ops.hasBody(ctx, mime) }),
    set_body: fn({
      args: [arg.str(), arg.str()],
      routes: MSG_ROUTES,
      run: (ctx, _s, txt, ct) => {
        ops.target(ctx).setBody(txt, ct);
        return Ret.OK;
      },
    }),
    remove_body: fn({
      args: [],
      routes: ANY_ROUTE,
      run: (ctx) => {
        const msg = ops.target(ctx);
        if ((msg.newBody ?? msg.body).length === 0) return Ret.FALSE;
        msg.setBody('');
        return Ret.OK;
      },
    }),
    is_present_hf_re: fn({
      args: [reArg()],
      routes: MSG_ROUTES,
      run: (ctx, _s, re) => (ops.target(ctx).headers.some((h) => !h.removed && test(re, h.name)) ? Ret.OK : Ret.FALSE),
    }),
    remove_hf_re: fn({ args: [reArg()], routes: ANY_ROUTE, run: (ctx, _s, re) => removeHfWhere(ctx, (n) => test(re, n)) }),
    remove_hf_exp: fn({
      args: [reArg(), reArg()],
      routes: ANY_ROUTE,
      run: (ctx, _s, re, skip) => removeHfWhere(ctx, (n) => test(re, n) && !test(skip, n)),
    }),
    append_urihf: fn({
      args: [arg.str(), arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, prefix, suffix) => {
        if (!ctx.msg.isRequest) return Ret.FALSE;
        ctx.msg.appendHeader((prefix + ctx.msg.ruri + suffix).replace(/\r?\n$/, ''));
        return Ret.OK;
      },
    }),
    append_time: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      run: (ctx) => {
        const list = ctx.getExt<string[]>('core.replyHeaders') ?? [];
        list.push(ops.dateHeader());
        ctx.setExt('core.replyHeaders', list);
        return Ret.OK;
      },
    }),
    append_time_to_request: fn({
      args: [],
      routes: MSG_ROUTES,
      run: (ctx) => {
        ops.target(ctx).appendHeader(ops.dateHeader());
        return Ret.OK;
      },
    }),
    in_list: fn({ args: [arg.str(), arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, l, sep) => inList(a, l, sep, false) }),
    in_list_prefix: fn({ args: [arg.str(), arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, l, sep) => inList(a, l, sep, true) }),
    cmp_str: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => cmpStr(a, b, false) }),
    cmp_istr: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => cmpStr(a, b, true) }),
    starts_with: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => (a.startsWith(b) ? Ret.OK : Ret.FALSE) }),
    ends_with: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => (a.endsWith(b) ? Ret.OK : Ret.FALSE) }),
    str_find: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => strFind(a, b, false) }),
    str_ifind: fn({ args: [arg.str(), arg.str()], routes: ANY_ROUTE, run: (_c, _s, a, b) => strFind(a, b, true) }),
  },
});
