// sanity: request sanity checks (Kamailio sanity module). Bits of the first argument pick
// the message checks, bits of the second the URIs to parse; a failed check sends the
// matching error reply and (autodrop=1, the default) stops the script.
import { arg, defineModule, fnFor, optional, param, Route } from '../../src/core/module-api.js';
import { parseUri } from '../../src/sip/index.js';
import type { MsgContext } from '../../src/script/context.js';
import type { ParamValues } from '../../src/core/module-api.js';

const params = {
  default_checks: param.int(999),
  uri_checks: param.int(7),
  autodrop: param.int(1, { min: 0, max: 1, live: true }),
  noreply: param.int(0, { min: 0, max: 1, live: true }),
  proxy_require: param.str(''),
};

interface SanityState {
  params: ParamValues<typeof params>;
}

const fn = fnFor<SanityState>();

type Failure = [number, string];

const MSG = {
  RURI_SIP_VERSION: 1,
  RURI_SCHEME: 2,
  REQUIRED_HEADERS: 4,
  VIA_SIP_VERSION: 8,
  VIA_PROTOCOL: 16,
  CSEQ_METHOD: 32,
  CSEQ_VALUE: 64,
  CL: 128,
  EXPIRES_VALUE: 256,
  PROXY_REQUIRE: 512,
  PARSE_URIS: 1024,
  DIGEST: 2048,
  DUPLICATE: 4096,
} as const;

function check(ctx: MsgContext, checks: number, uriChecks: number, supported: Set<string>): Failure | null {
  const m = ctx.msg;
  try {
    if (!m.isRequest) {
      // replies: the headers a reply is routed and matched by must parse
      m.vias();
      m.cseq();
      m.callId();
      m.from();
      m.to();
      return null;
    }
    if (checks & MSG.RURI_SIP_VERSION && !/ SIP\/2\.0$/i.test(m.startLine)) return [505, 'Version Not Supported'];
    if (checks & MSG.RURI_SCHEME) {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(m.ruri)?.[1]?.toLowerCase();
      if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return [416, 'Unsupported URI Scheme in Request URI'];
    }
    if (checks & MSG.REQUIRED_HEADERS) {
      const why = m.checkRequired();
      if (why) return [400, `Missing Required Header in Request`];
    }
    if (checks & (MSG.VIA_SIP_VERSION | MSG.VIA_PROTOCOL)) {
      const via = m.topVia();
      if (checks & MSG.VIA_SIP_VERSION && via.protocol.toUpperCase() !== 'SIP/2.0') return [505, 'Version Not Supported (Via)'];
      if (checks & MSG.VIA_PROTOCOL && !['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'].includes(via.transport)) return [400, 'Unsupported Transport in Topmost Via'];
    }
    if (checks & (MSG.CSEQ_METHOD | MSG.CSEQ_VALUE)) {
      const cseq = m.cseq();
      if (checks & MSG.CSEQ_METHOD && cseq.method.toUpperCase() !== m.method.toUpperCase()) return [400, 'CSeq method does not match request method'];
      if (checks & MSG.CSEQ_VALUE && !(cseq.seq >= 0 && cseq.seq < 2 ** 32)) return [400, 'CSeq number is illegal'];
    }
    if (checks & MSG.EXPIRES_VALUE && m.hasHeader('expires') && m.expires() === -1) return [400, 'Expires value is illegal'];
    if (checks & MSG.PROXY_REQUIRE) {
      for (const h of m.headersNamed('proxy-require')) {
        for (const opt of h.value.split(',').map((s) => s.trim().toLowerCase()))
          if (opt && !supported.has(opt)) return [420, 'Bad Extension'];
      }
    }
    if (checks & MSG.PARSE_URIS) {
      if (uriChecks & 1 && !parseUri(m.ruri)) return [400, 'Bad Request URI'];
      if (uriChecks & 2 && !parseUri(m.from().uri)) return [400, 'Bad From URI'];
      if (uriChecks & 4 && !parseUri(m.to().uri)) return [400, 'Bad To URI'];
      if (uriChecks & 8 && m.hasHeader('contact')) {
        const c = m.contacts();
        if (c !== '*' && c.some((x) => !parseUri(x.uri))) return [400, 'Bad Contact URI'];
      }
    }
    if (checks & MSG.DIGEST) {
      m.credentials('www');
      m.credentials('proxy');
    }
    if (checks & MSG.DUPLICATE && (m.headersNamed('from').length > 1 || m.headersNamed('to').length > 1))
      return [400, 'Duplicate From/To header'];
  } catch (e) {
    return [400, `Bad Request - ${(e as Error).message}`.slice(0, 80)];
  }
  return null;
}

export default defineModule({
  name: 'sanity',
  doc: 'request sanity checks',
  params,
  init: (env): SanityState => ({ params: env.params }),
  reconfigure: (st, p) => {
    st.params = p;
  },
  functions: {
    sanity_check: fn({
      args: [optional(arg.int({ min: 0 })), optional(arg.int({ min: 0 }))],
      routes: Route.REQUEST | Route.REPLY | Route.ONREPLY,
      run: (ctx, st, msgChecks, uriChecks) => {
        const p = st.params;
        const supported = new Set(p.proxy_require.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
        const fail = check(ctx, msgChecks ?? p.default_checks, uriChecks ?? p.uri_checks, supported);
        if (!fail) return 1;
        ctx.log.info({ code: fail[0], reason: fail[1], src: ctx.rcv.srcIp }, 'sanity check failed');
        if (!p.noreply && ctx.msg.isRequest && ctx.msg.method !== 'ACK') {
          const extra = fail[0] === 420 ? { headers: ['Unsupported: ' + ctx.msg.headersNamed('proxy-require').map((h) => h.value).join(', ')] } : undefined;
          ctx.core.replyNow(ctx.msg, ctx.rcv, fail[0], fail[1], extra);
          ctx.replied = true;
        }
        return p.autodrop ? 0 : -1;
      },
    }),
  },
});
