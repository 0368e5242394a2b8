// siputils: SIP helper checks (Kamailio siputils). has_totag is a core function in tser.
import { arg, defineModule, fn, fnFor, optional, param, ANY_ROUTE, REQ_FAIL_BRANCH, Route } from '../../src/core/module-api.js';
import { parseUri } from '../../src/sip/index.js';

interface SiputilsState {
  optionsHeaders: string[];
}

const withState = fnFor<SiputilsState>();

function optionsHeaders(p: { options_accept: string; options_accept_encoding: string; options_accept_language: string; options_support: string }): string[] {
  return [
    `Accept: ${p.options_accept}`,
    `Accept-Encoding: ${p.options_accept_encoding}`,
    `Accept-Language: ${p.options_accept_language}`,
    `Supported: ${p.options_support}`,
  ];
}

export default defineModule({
  name: 'siputils',
  doc: 'SIP utility checks',
  params: {
    rpid_prefix: param.ignored('str'),
    rpid_suffix: param.ignored('str'),
    rpid_avp: param.ignored('str'),
    // options_reply()'s headers, Kamailio's defaults
    options_accept: param.str('*/*', { live: true }),
    options_accept_encoding: param.str('', { live: true }),
    options_accept_language: param.str('en', { live: true }),
    options_support: param.str('', { live: true }),
    e164_max_len: param.ignored('int'),
  },
  init: (env): SiputilsState => ({ optionsHeaders: optionsHeaders(env.params) }),
  reconfigure: (st: SiputilsState, params) => {
    st.optionsHeaders = optionsHeaders(params);
  },
  functions: {
    /**
     * Answer an OPTIONS to the proxy itself (no user in the R-URI) with 200 and what it
     * accepts, as Kamailio: -1 for another method or a user part; the script goes on.
     */
    options_reply: withState({
      args: [],
      routes: Route.REQUEST,
      run: (ctx, st) => {
        if (!ctx.msg.isRequest || ctx.msg.method !== 'OPTIONS') return -1;
        const uri = ctx.ruriUri();
        if (uri === null || uri.user) return -1;
        if (!ctx.core.replyNow(ctx.msg, ctx.rcv, 200, 'OK', { headers: st.optionsHeaders })) return -1;
        ctx.replied = true;
        return 1;
      },
    }),
    is_user: fn({
      args: [arg.str()],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, user) => {
        const cred = [...ctx.msg.credentials('www'), ...ctx.msg.credentials('proxy')][0]?.cred;
        return cred?.username === user ? 1 : -1;
      },
    }),
    uri_param: fn({
      args: [arg.str(), optional(arg.str())],
      routes: REQ_FAIL_BRANCH,
      run: (ctx, _s, name, value) => {
        const u = parseUri(ctx.ruri);
        const p = u?.params.find(([k]) => k.toLowerCase() === name.toLowerCase());
        if (!p) return -1;
        return value === undefined || p[1] === value ? 1 : -1;
      },
    }),
    is_e164: fn({
      args: [arg.str()],
      routes: ANY_ROUTE,
      run: (_c, _s, s) => (/^(sip:|tel:)?\+[1-9][0-9]{1,14}(@|$)/.test(s) ? 1 : -1),
    }),
    is_uri_user_e164: fn({
      args: [arg.str()],
      routes: ANY_ROUTE,
      run: (_c, _s, s) => (/^\+[1-9][0-9]{1,14}$/.test(parseUri(s)?.user ?? '') ? 1 : -1),
    }),
    // the request came straight from the UA: only one Via
    is_first_hop: fn({
      args: [],
      routes: ANY_ROUTE,
      run: (ctx) => {
        try {
          return ctx.msg.vias().length === 1 ? 1 : -1;
        } catch {
          return -1;
        }
      },
    }),
    is_request: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.msg.isRequest ? 1 : -1) }),
    is_reply: fn({ args: [], routes: ANY_ROUTE, run: (ctx) => (ctx.msg.isRequest && !ctx.reply ? -1 : 1) }),
  },
});
