// auth: digest authentication core (SER 0.9 / Kamailio 5.6 auth module): challenges,
// stateless signed nonces, replay protection, consume_credentials, and the pv_* functions
// that take the password from the script. Credential sources (auth_db) use its API.
import { arg, defineModule, fn, optional, param, Route, type ArgSpec } from '../../src/core/module-api.js';
import { ArgError } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { KAM_CODES, type AuthKind, type SecretLookup } from './api.js';
import { AuthCore, type AuthSettings } from './core.js';
import { BASE_ALGORITHMS, parseAlgorithm, type BaseAlgorithm } from './digest.js';
import { NonceSigner, secretFrom } from './nonce.js';

export type { AuthApi, AuthorizedCredentials, AuthOutcome, AuthCode, SecretLookup, SecretResult, Secret } from './api.js';
export { AUTHORIZED_KEY, STALE_KEY, KAM_CODES } from './api.js';

/** "SHA-256, MD5" → ['SHA-256', 'MD5']; throws with a message naming the bad entry */
export function parseAlgorithmList(text: string): BaseAlgorithm[] {
  const out: BaseAlgorithm[] = [];
  for (const item of text.split(/[\s,;]+/).filter(Boolean)) {
    const a = parseAlgorithm(item);
    if (!a || a.sess) throw new Error(`unknown algorithm "${item}" (use ${BASE_ALGORITHMS.join(', ')})`);
    if (!out.includes(a.base)) out.push(a.base);
  }
  return out;
}

const algoValidate = (v: string): string | null => {
  try {
    parseAlgorithmList(v);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

const params = {
  secret: param.str(''),
  nonce_expire: param.int(300, { min: 1 }),
  nonce_auth_max_drift: param.int(3, { min: 0 }),
  qop: param.str('', { validate: (v) => (/^(|auth|auth-int|auth,\s*auth-int)$/i.test(v) ? null : 'qop is "auth" or "auth-int"') }),
  /** Kamailio: one algorithm for every challenge ("" = MD5 without algorithm=) */
  algorithm: param.str('', { validate: algoValidate }),
  /** tser: several algorithms, one challenge header each, in this order (RFC 8760 §2.4) */
  algorithms: param.str('', { validate: algoValidate }),
  nonce_count: param.bool(false),
  one_time_nonce: param.bool(false),
  /** tser: refuse a response already accepted when it comes in another request (0 = Kamailio's default) */
  replay_protection: param.bool(true),
  /** Kamailio: nonces tracked for nonce_count (tser: also for replay_protection); nc_array_order wins when set */
  nc_array_size: param.int(1 << 20, { min: 16 }),
  nc_array_order: param.int(0, { min: 0, max: 26 }),
  /** Kamailio: nonces tracked for one_time_nonce; otn_in_flight_order wins when set */
  otn_in_flight_no: param.int(1 << 20, { min: 16 }),
  otn_in_flight_order: param.int(0, { min: 0, max: 26 }),
  auth_checks_register: param.int(0, { min: 0, max: 15 }),
  auth_checks_no_dlg: param.int(0, { min: 0, max: 15 }),
  auth_checks_in_dlg: param.int(0, { min: 0, max: 15 }),
  realm_prefix: param.str(''),
  add_authinfo_hdr: param.bool(false),
  use_domain: param.bool(false),
  /** tser: refuse credentials whose digest uri names another Request-URI */
  digest_uri_check: param.bool(true),
  /** tser: password-guessing throttle (see README); 0 in a *_after parameter turns that part off */
  guess_window: param.int(300, { min: 1 }),
  guess_delay_after: param.int(5, { min: 0 }),
  guess_delay_step: param.int(100, { min: 0 }),
  guess_delay_max: param.int(2000, { min: 0 }),
  guess_block_after: param.int(20, { min: 0 }),
  guess_user_block_after: param.int(100, { min: 0 }),
  guess_block_time: param.int(300, { min: 1 }),
  guess_block_reply: param.int(403, { validate: (v) => (v === 0 || (v >= 400 && v <= 699) ? null : 'guess_block_reply is 0 (drop) or a 4xx-6xx code') }),
  // accepted for compatibility; one event loop needs no nonce pools, replies are stateless
  nid_pool_no: param.ignored('int'),
  force_stateless_reply: param.ignored('int'),
  rpid_prefix: param.ignored('str'),
  rpid_suffix: param.ignored('str'),
  rpid_avp: param.ignored('str'),
};

/** flags argument: SER's "0"/"1" qop switch or Kamailio's bitmask; "" is 0 */
export const flagsArg = (): ArgSpec<number> =>
  arg.custom('flags', (s) => {
    const t = s.trim();
    if (t === '') return 0;
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new ArgError(`flags must be a number, got "${s}"`);
    return Number.parseInt(t, t.toLowerCase().startsWith('0x') ? 16 : 10);
  });

function passwordLookup(passwd: string, isHa1: boolean): SecretLookup {
  return () => ({ status: 'found', secrets: [isHa1 ? { type: 'ha1', value: passwd, algorithm: null } : { type: 'password', value: passwd }] });
}

async function pvAuthenticate(
  ctx: MsgContext,
  core: AuthCore,
  realm: string,
  passwd: string,
  flags: number,
  kind: AuthKind,
  method?: string,
): Promise<number> {
  const o = await core.verifyCredentials(ctx, realm, kind, passwordLookup(passwd, (flags & 1) !== 0), { method });
  return core.scriptCode(ctx, o);
}

function kindOf(ctx: MsgContext): AuthKind {
  return ctx.msg.method === 'REGISTER' ? 'www' : 'proxy';
}

export default defineModule({
  name: 'auth',
  doc: 'digest authentication: challenges, nonces, credential verification',
  params,
  init: (env): AuthCore => {
    const p = env.params;
    const list = p.algorithms ? parseAlgorithmList(p.algorithms) : p.algorithm ? parseAlgorithmList(p.algorithm) : ['MD5' as const];
    const settings: AuthSettings = {
      nonceExpire: p.nonce_expire,
      maxDrift: p.nonce_auth_max_drift,
      algorithms: list,
      emitAlgorithm: p.algorithms !== '' || p.algorithm !== '',
      qop: p.qop === '' ? null : (p.qop.replace(/\s+/g, '').toLowerCase() as AuthSettings['qop']),
      nonceCount: p.nonce_count,
      oneTimeNonce: p.one_time_nonce,
      replayProtection: p.replay_protection,
      guessLimits:
        p.guess_block_after === 0 && p.guess_user_block_after === 0 && p.guess_delay_step === 0
          ? null
          : {
              windowS: p.guess_window,
              delayAfter: p.guess_delay_after,
              delayStepMs: p.guess_delay_step,
              delayMaxMs: p.guess_delay_max,
              sourceBlockAfter: p.guess_block_after,
              userBlockAfter: p.guess_user_block_after,
              blockTimeS: p.guess_block_time,
            },
      blockReply: p.guess_block_reply,
      replayTableSize: p.one_time_nonce
        ? p.otn_in_flight_order > 0 ? 2 ** p.otn_in_flight_order : p.otn_in_flight_no
        : p.nc_array_order > 0 ? 2 ** p.nc_array_order : p.nc_array_size,
      checksRegister: p.auth_checks_register,
      checksNoDlg: p.auth_checks_no_dlg,
      checksInDlg: p.auth_checks_in_dlg,
      realmPrefix: p.realm_prefix,
      addAuthInfo: p.add_authinfo_hdr,
      uriCheck: p.digest_uri_check,
    };
    if (!p.secret) env.log.info('no auth secret set: nonces will not survive a restart or verify on other instances');
    return new AuthCore(settings, new NonceSigner(secretFrom(p.secret)), env.log, env.core.stats);
  },
  api: (core) => core,
  rpc: {
    'auth.blocked': {
      help: 'sources and users blocked after failed authentications: kind, key, expires (s left), blocks',
      run: (core: AuthCore) => core.guard?.list(Math.floor(Date.now() / 1000)) ?? [],
    },
    'auth.unblock': {
      help: 'lift the block of an address or user@realm (no parameter: all); returns how many were lifted',
      run: (core: AuthCore, p) => ({ unblocked: core.guard?.unblock(p[0] === undefined || p[0] === null || String(p[0]) === '' ? null : String(p[0]), Math.floor(Date.now() / 1000)) ?? 0 }),
    },
  },
  functions: {
    www_challenge: fn({
      args: [arg.str(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, core: AuthCore, realm, flags) => core.challenge(ctx, realm, 'www', { flags }),
    }),
    proxy_challenge: fn({
      args: [arg.str(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, core: AuthCore, realm, flags) => core.challenge(ctx, realm, 'proxy', { flags }),
    }),
    auth_challenge: fn({
      args: [arg.str(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, core: AuthCore, realm, flags) => core.challenge(ctx, realm, kindOf(ctx), { flags }),
    }),
    consume_credentials: fn({
      args: [],
      routes: Route.REQUEST,
      run: (ctx, core: AuthCore) => {
        const a = core.authorized(ctx);
        if (!a) {
          if (ctx.msg.method !== 'ACK' && ctx.msg.method !== 'CANCEL') ctx.log.debug('consume_credentials: no authorized credentials');
          return -1;
        }
        ctx.msg.removeHeader(a.hf);
        return 1;
      },
    }),
    has_credentials: fn({
      args: [arg.str()],
      routes: Route.REQUEST,
      run: (ctx, core: AuthCore, realm) => {
        const r = core.realmFor(ctx, realm, 'www');
        if (r === null) return -1;
        try {
          const all = [...ctx.msg.credentials('www'), ...ctx.msg.credentials('proxy')];
          return all.some((c) => c.cred.realm !== null && c.cred.realm.toLowerCase() === r.toLowerCase()) ? 1 : -1;
        } catch {
          return -1;
        }
      },
    }),
    pv_www_authenticate: fn({
      args: [arg.str(), arg.str(), flagsArg(), optional(arg.str())],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, core: AuthCore, realm, pw, flags, method) => pvAuthenticate(ctx, core, realm, pw, flags, 'www', method),
    }),
    pv_proxy_authenticate: fn({
      args: [arg.str(), arg.str(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, core: AuthCore, realm, pw, flags) => pvAuthenticate(ctx, core, realm, pw, flags, 'proxy'),
    }),
    pv_auth_check: fn({
      args: [arg.str(), arg.str(), flagsArg(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: async (ctx, core: AuthCore, realm, pw, flags, checks) => {
        const o = await core.verifyCredentials(ctx, realm, kindOf(ctx), passwordLookup(pw, (flags & 1) !== 0));
        if (o.code === 'ok' && o.authorized && !core.identityMatches(ctx, o.authorized, checks)) return KAM_CODES.user_mismatch;
        return core.scriptCode(ctx, o);
      },
    }),
  },
});
