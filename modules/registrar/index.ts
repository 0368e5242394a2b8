// registrar: REGISTER processing and location lookup (Kamailio 5.6 / SER 0.9 registrar) on
// top of usrloc. save() answers the REGISTER itself; lookup() rewrites the R-URI and adds
// branches for parallel forking.
import { arg, defineModule, fixup, fnFor, optional, Route, staticArg } from '../../src/core/module-api.js';
import type { Logger } from 'pino';
import type { Counter } from '../../src/core/stats.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import type { UlContact, UlDomain, UsrlocApi } from '../usrloc/api.js';
import { isValid } from '../usrloc/contact.js';
import { resolveConfig, type RegConfig } from './config.js';
import { R, RegError, type RegErrorInfo } from './errors.js';
import { lookup, lookupBranches, registered, unregister, type LookupEnv } from './lookup.js';
import { registrarParams, type RegistrarParams } from './params.js';
import { contactHeader, replyHeaders, sendRegReply } from './reply.js';
import { parseRegister, type RegRequest } from './request.js';
import { SaveFlag, saveRequest } from './save.js';

interface RegState {
  params: RegistrarParams;
  dialect: Dialect;
  log: Logger;
  ul: UsrlocApi;
  cfg: RegConfig;
  /** lookup()'s settings, built once per (re)configuration */
  lookup: LookupEnv;
  accepted: Counter;
  rejected: Counter;
}

const fn = fnFor<RegState>();

/**
 * usrloc table name: a constant, resolved to the usrloc table itself when the script
 * compiles against the started modules (usrloc then loads it before traffic, as Kamailio's
 * registrar fixup registers the udomain)
 */
const tableArg = () =>
  fixup(
    staticArg(
      arg.custom('usrloc table', (s) => {
        const t = s.trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new Error(`bad usrloc table name "${s}"`);
        return t;
      }),
    ),
    (table: string, st: RegState): UlDomain => st.ul.getDomain(table),
  );

function configure(st: Omit<RegState, 'cfg' | 'lookup'>): Pick<RegState, 'cfg' | 'lookup'> {
  const cfg = resolveConfig(st.params, st.dialect, st.ul.useDomain);
  if (st.params.use_domain !== -1 && cfg.aor.useDomain !== st.ul.useDomain) {
    st.log.warn('registrar use_domain differs from usrloc use_domain; AORs will not match what usrloc stores');
  }
  const ul = st.ul;
  return { cfg, lookup: { cfg, now: () => ul.now() } };
}

async function save(ctx: MsgContext, st: RegState, dom: UlDomain, flags: number, uri: string | undefined): Promise<number> {
  const { ul, cfg } = st;
  let req: RegRequest | null = null;
  let err: RegErrorInfo | null = null;
  let rc = 1;
  let bindings: readonly UlContact[] = [];
  try {
    req = parseRegister(ctx, cfg, uri, (flags & SaveFlag.NO_VARIATION) !== 0);
    const res = await saveRequest(ctx, dom, req, flags, { ul, cfg, matchingMode: ul.matchingMode, cseqDelay: ul.cseqDelay });
    rc = res.rc;
    bindings = res.bindings;
  } catch (e) {
    if (e instanceof RegError) err = e.info;
    else {
      st.log.error({ err: (e as Error).message }, 'save: usrloc failed');
      err = R.UL_GET_R;
    }
    // like Kamailio, an error reply still lists the bindings the AOR has
    if (req && err.code !== 500) {
      const now = ul.now();
      bindings = (await Promise.resolve(dom.get(req.aor)).catch(() => [] as const)).filter((c) => isValid(c, now));
    }
  }
  const contact = contactHeader(bindings, ul.now(), cfg);
  const reply = replyHeaders(cfg, err, contact, req?.path ?? null);
  if (err) {
    st.rejected.value++;
    ctx.setError(reply.code, reply.reason);
    st.log.debug({ aor: req?.aor, code: reply.code, why: err.text }, 'REGISTER rejected');
  } else st.accepted.value++;

  const noReply = (flags & SaveFlag.NO_REPLY) !== 0;
  // Kamailio replies on success in request and failure routes, on error only in request routes
  const mayReply = ctx.routeType === Route.REQUEST || (ctx.routeType === Route.FAILURE && !err);
  if (!noReply && mayReply) {
    if (!(await sendRegReply(ctx, reply.code, reply.reason, reply.headers))) {
      ctx.setError(500, 'Server Internal Error');
      return -1;
    }
  } else if (noReply && (err || (flags & SaveFlag.PREPARE_REPLY) !== 0)) {
    // for a later sl_send_reply()/sl_reply_error()
    ctx.setExt('core.replyHeaders', [...(ctx.getExt<string[]>('core.replyHeaders') ?? []), ...reply.headers]);
  }
  if (!err) return st.dialect === 'ser' ? 1 : rc;
  // SER 0.9 save() returns 0 after sending the error reply: the script stops there
  if (st.dialect === 'ser') return noReply ? -1 : 0;
  return err === R.TOO_MANY ? -2 : -1;
}

export default defineModule({
  name: 'registrar',
  doc: 'REGISTER processing (save) and location lookup',
  deps: [{ module: 'usrloc' }, { module: 'sl', optional: true }],
  params: registrarParams,
  init: (env): RegState => {
    const ul = env.bindApi<UsrlocApi>('usrloc');
    if (!ul) throw new Error('registrar needs the usrloc module (loadmodule "usrloc.so")');
    const s = env.core.stats;
    s.counter('registrar', 'max_expires').value = env.params.max_expires;
    s.counter('registrar', 'max_contacts').value = env.params.max_contacts;
    s.counter('registrar', 'default_expire').value = env.params.default_expires;
    const base = {
      params: env.params,
      dialect: env.dialect,
      log: env.log,
      ul,
      accepted: s.counter('registrar', 'accepted_regs'),
      rejected: s.counter('registrar', 'rejected_regs'),
    };
    return { ...base, ...configure(base) };
  },
  reconfigure: (st, params) => {
    st.params = params;
    Object.assign(st, configure(st));
  },
  functions: {
    save: fn({
      args: [tableArg(), optional(arg.int({ min: 0, max: 0xff })), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, dom, flags, uri) => save(ctx, st, dom, flags ?? 0, uri),
    }),
    save_noreply: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, dom) => save(ctx, st, dom, SaveFlag.NO_REPLY, undefined),
    }),
    save_memory: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, dom) => save(ctx, st, dom, SaveFlag.MEMORY, undefined),
    }),
    lookup: fn({
      args: [tableArg(), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH,
      async: true,
      run: (ctx, st, dom, uri) => lookup(ctx, dom, st.lookup, uri),
    }),
    lookup_branches: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, dom) => lookupBranches(ctx, dom, st.lookup),
    }),
    registered: fn({
      args: [tableArg(), optional(arg.str()), optional(arg.int()), optional(arg.int())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH | Route.ONREPLY,
      async: true,
      run: (ctx, st, dom, uri) => registered(ctx, dom, st.lookup, uri),
    }),
    unregister: fn({
      args: [tableArg(), arg.str(), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH | Route.ONREPLY,
      async: true,
      run: (ctx, st, dom, uri, ruid) => unregister(ctx, dom, st.lookup, uri, ruid),
    }),
  },
});
