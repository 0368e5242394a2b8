// registrar: REGISTER processing and location lookup (Kamailio 5.6 / SER 0.9 registrar) on
// top of usrloc. save() answers the REGISTER itself; lookup() rewrites the R-URI and adds
// branches for parallel forking.
import { arg, defineModule, fnFor, optional, Route, staticArg } from '../../src/core/module-api.js';
import type { Logger } from 'pino';
import type { Counter } from '../../src/core/stats.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import { noteTableUse, type UlContact, type UlDomain, type UsrlocApi } from '../usrloc/api.js';
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
  bind: () => UsrlocApi | undefined;
  cfg: RegConfig | null;
  /** lookup()'s settings, built once per (re)configuration */
  lookup: { dom: (t: string) => UlDomain; env: LookupEnv } | null;
  accepted: Counter;
  rejected: Counter;
}

const fn = fnFor<RegState>();

/** usrloc table name: a constant, known at load so usrloc can preload it */
const tableArg = () =>
  staticArg(
    arg.custom('usrloc table', (s) => {
      const t = s.trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new Error(`bad usrloc table name "${s}"`);
      noteTableUse(t);
      return t;
    }),
  );

function usrloc(st: RegState): { ul: UsrlocApi; cfg: RegConfig } {
  const ul = st.bind();
  if (!ul) throw new Error('registrar needs the usrloc module (loadmodule "usrloc.so")');
  if (!st.cfg) {
    st.cfg = resolveConfig(st.params, st.dialect, ul.useDomain);
    if (st.params.use_domain !== -1 && st.cfg.aor.useDomain !== ul.useDomain) {
      st.log.warn('registrar use_domain differs from usrloc use_domain; AORs will not match what usrloc stores');
    }
  }
  return { ul, cfg: st.cfg };
}

function lookupEnv(st: RegState): { dom: (t: string) => UlDomain; env: LookupEnv } {
  if (st.lookup && st.cfg) return st.lookup;
  const { ul, cfg } = usrloc(st);
  return (st.lookup = { dom: (t) => ul.getDomain(t), env: { cfg, now: () => ul.now() } });
}

async function save(ctx: MsgContext, st: RegState, table: string, flags: number, uri: string | undefined): Promise<number> {
  const { ul, cfg } = usrloc(st);
  const dom = ul.getDomain(table);
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
    let ul: UsrlocApi | undefined;
    const s = env.core.stats;
    s.counter('registrar', 'max_expires').value = env.params.max_expires;
    s.counter('registrar', 'max_contacts').value = env.params.max_contacts;
    s.counter('registrar', 'default_expire').value = env.params.default_expires;
    return {
      params: env.params,
      dialect: env.dialect,
      log: env.log,
      bind: () => (ul ??= env.bindApi<UsrlocApi>('usrloc')),
      cfg: null,
      lookup: null,
      accepted: s.counter('registrar', 'accepted_regs'),
      rejected: s.counter('registrar', 'rejected_regs'),
    };
  },
  reconfigure: (st, params) => {
    st.params = params;
    st.cfg = null;
    st.lookup = null;
  },
  functions: {
    save: fn({
      args: [tableArg(), optional(arg.int({ min: 0, max: 0xff })), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, table, flags, uri) => save(ctx, st, table, flags ?? 0, uri),
    }),
    save_noreply: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, table) => save(ctx, st, table, SaveFlag.NO_REPLY, undefined),
    }),
    save_memory: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, table) => save(ctx, st, table, SaveFlag.MEMORY, undefined),
    }),
    lookup: fn({
      args: [tableArg(), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH,
      async: true,
      run: (ctx, st, table, uri) => {
        const { dom, env } = lookupEnv(st);
        return lookup(ctx, dom(table), env, uri);
      },
    }),
    lookup_branches: fn({
      args: [tableArg()],
      routes: Route.REQUEST | Route.FAILURE,
      async: true,
      run: (ctx, st, table) => {
        const { dom, env } = lookupEnv(st);
        return lookupBranches(ctx, dom(table), env);
      },
    }),
    registered: fn({
      args: [tableArg(), optional(arg.str()), optional(arg.int()), optional(arg.int())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH | Route.ONREPLY,
      async: true,
      run: (ctx, st, table, uri) => {
        const { dom, env } = lookupEnv(st);
        return registered(ctx, dom(table), env, uri);
      },
    }),
    unregister: fn({
      args: [tableArg(), arg.str(), optional(arg.str())],
      routes: Route.REQUEST | Route.FAILURE | Route.BRANCH | Route.ONREPLY,
      async: true,
      run: (ctx, st, table, uri, ruid) => {
        const { dom, env } = lookupEnv(st);
        return unregister(ctx, dom(table), env, uri, ruid);
      },
    }),
  },
});
