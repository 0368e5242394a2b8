// siputils: SIP helper checks (Kamailio siputils). has_totag is a core function in tser.
import { arg, defineModule, fn, optional, param, ANY_ROUTE, REQ_FAIL_BRANCH } from '../../src/core/module-api.js';
import { parseUri } from '../../src/sip/index.js';

export default defineModule({
  name: 'siputils',
  doc: 'SIP utility checks',
  params: {
    rpid_prefix: param.ignored('str'),
    rpid_suffix: param.ignored('str'),
    rpid_avp: param.ignored('str'),
    options_accept: param.ignored('str'),
    options_accept_encoding: param.ignored('str'),
    options_accept_language: param.ignored('str'),
    options_support: param.ignored('str'),
    e164_max_len: param.ignored('int'),
  },
  init: () => undefined,
  functions: {
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
