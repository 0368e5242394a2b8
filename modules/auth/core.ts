// The digest engine behind the auth module and its API: credential selection (RFC 2617
// §3.2.2, RFC 3261 §22.4: only the header whose realm is ours), field checks, nonce checks,
// secret lookup, response comparison, replay checks, and the dialect's return codes.
import type { Logger } from 'pino';
import type { MsgContext } from '../../src/script/context.js';
import type { Counter, Stats } from '../../src/core/stats.js';
import { parseUri, SipParseError, type Credential, type DigestCredentials } from '../../src/sip/index.js';
import {
  AUTHORIZED_KEY,
  KAM_CODES,
  STALE_KEY,
  type AuthApi,
  type AuthCode,
  type AuthKind,
  type AuthOutcome,
  type AuthorizedCredentials,
  type ChallengeOptions,
  type Secret,
  type SecretLookup,
  type VerifyOptions,
} from './api.js';
import { computeHa1, computeResponse, hexEqual, HEX_LENGTH, parseAlgorithm, type Algorithm, type BaseAlgorithm } from './digest.js';
import { NonceSigner } from './nonce.js';
import { ReplayTracker } from './replay.js';
import { AcceptedResponses, type RequestIdentity } from './accepted-responses.js';
import { GuessGuard, type GuessLimits } from './guess-guard.js';
import { LogLimiter } from '../../src/core/log-limiter.js';

export interface AuthSettings {
  nonceExpire: number;
  maxDrift: number;
  /** offered algorithms in preference order (base names; -sess of each is accepted too) */
  algorithms: BaseAlgorithm[];
  /** write `algorithm=` in challenges (off for the plain-MD5 default, like SER/Kamailio) */
  emitAlgorithm: boolean;
  /** module-level qop for Kamailio challenges whose flags name none */
  qop: 'auth' | 'auth-int' | 'auth,auth-int' | null;
  nonceCount: boolean;
  oneTimeNonce: boolean;
  /** refuse an accepted response seen again in another request (tser default) */
  replayProtection: boolean;
  /** nonces tracked by nonce_count / one_time_nonce and by replay protection */
  replayTableSize: number;
  /** password-guessing throttle; null = off */
  guessLimits: GuessLimits | null;
  /** reply to a blocked source/user: 403, or 0 = drop silently */
  blockReply: number;
  /** auth_checks_register / _no_dlg / _in_dlg bitmasks */
  checksRegister: number;
  checksNoDlg: number;
  checksInDlg: number;
  realmPrefix: string;
  addAuthInfo: boolean;
  /** compare the digest uri with the Request-URI (scheme, user, host, port) */
  uriCheck: boolean;
}

/** what makes a retransmission the same request: Call-ID, CSeq, top Via branch, source */
function requestIdentity(ctx: MsgContext): RequestIdentity {
  const m = ctx.msg;
  let callId = '';
  let cseq = -1;
  let branch: string | null = null;
  try {
    callId = m.callId();
    cseq = m.cseq().seq;
    branch = m.topVia().branch;
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
  return { callId, cseq, branch, ip: ctx.rcv.srcIp, port: ctx.rcv.srcPort };
}

// limits on credential fields: anything longer is malformed, not a reason to hash megabytes
const MAX_FIELD = 512;
const MAX_URI = 4096;

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

interface Counters {
  successful: Counter;
  failed: Counter;
  challenges: Counter;
  stale: Counter;
  replays: Counter;
  malformed: Counter;
  errors: Counter;
  blocked: Counter;
}

/** the per-user key of the guessing throttle */
function userKeyOf(d: DigestCredentials): string {
  return `${d.username}@${d.realm}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AuthCore implements AuthApi {
  readonly replay: ReplayTracker;
  readonly accepted: AcceptedResponses;
  readonly guard: GuessGuard | null;
  private readonly c: Counters;
  /** 'digest authentication failed' at info: a guessing flood logs a few lines, then counts */
  private readonly failLog: LogLimiter;

  constructor(
    readonly settings: AuthSettings,
    private readonly signer: NonceSigner,
    private readonly log: Logger,
    stats: Stats,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.replay = new ReplayTracker(settings.replayTableSize);
    this.accepted = new AcceptedResponses(settings.replayTableSize);
    this.guard = settings.guessLimits ? new GuessGuard(settings.guessLimits, log) : null;
    this.failLog = new LogLimiter(log, 'digest authentication failed', undefined, 'info');
    this.c = {
      successful: stats.counter('auth', 'successful'),
      failed: stats.counter('auth', 'failed'),
      challenges: stats.counter('auth', 'challenges'),
      stale: stats.counter('auth', 'stale_nonces'),
      replays: stats.counter('auth', 'nonce_replays'),
      malformed: stats.counter('auth', 'malformed_credentials'),
      errors: stats.counter('auth', 'errors'),
      blocked: stats.counter('auth', 'blocked_requests'),
    };
  }

  // ---------------- realm ----------------

  realmFor(ctx: MsgContext, realm: string, kind: AuthKind): string | null {
    let r = realm;
    if (r === '') {
      // SER 0.9 get_realm(): To host for REGISTER with Authorization, else From host
      if (ctx.script.dialect !== 'ser') return null;
      try {
        const m = ctx.msg;
        const na = m.method === 'REGISTER' && kind === 'www' ? m.to() : m.from();
        r = na.parsedUri?.host ?? '';
      } catch (e) {
        if (e instanceof SipParseError) return null;
        throw e;
      }
      if (r === '') return null;
    }
    const p = this.settings.realmPrefix;
    if (p && r.length > p.length && r.startsWith(p)) r = r.slice(p.length);
    return r;
  }

  // ---------------- nonce extras (auth_checks_*) ----------------

  private checksFor(ctx: MsgContext): number {
    const s = this.settings;
    if (ctx.msg.method === 'REGISTER') return s.checksRegister;
    let inDialog = false;
    try {
      inDialog = ctx.msg.to().tag !== null;
    } catch {
      inDialog = false;
    }
    return inDialog ? s.checksInDlg : s.checksNoDlg;
  }

  /** the request properties a nonce is bound to, or null when no checks are configured */
  private nonceExtra(ctx: MsgContext): string | null {
    const f = this.checksFor(ctx);
    if (f === 0) return null;
    const parts: string[] = [];
    try {
      if (f & 1) parts.push(ctx.msg.ruri);
      if (f & 2) parts.push(ctx.msg.callId());
      if (f & 4) parts.push(ctx.msg.from().tag ?? '');
    } catch {
      parts.push('');
    }
    if (f & 8) parts.push(ctx.rcv.srcIp);
    return parts.join('\n');
  }

  // ---------------- challenges ----------------

  private qopFor(ctx: MsgContext, flags: number): string | null {
    if (ctx.script.dialect === 'ser') return flags !== 0 ? 'auth' : null;
    if (flags & 1 && flags & 2) return 'auth,auth-int';
    if (flags & 2) return 'auth-int';
    if (flags & 1) return 'auth';
    return this.settings.qop;
  }

  challengeHeaders(ctx: MsgContext, realm: string, kind: AuthKind, opts: ChallengeOptions): string[] {
    const s = this.settings;
    const qop = this.qopFor(ctx, opts.flags);
    const stale = ctx.getExt<boolean>(STALE_KEY) === true || (ctx.script.dialect !== 'ser' && (opts.flags & 16) !== 0);
    const nonce = this.signer.create(this.now(), s.nonceExpire, this.nonceExtra(ctx));
    const name = kind === 'www' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    let common = `Digest realm=${quote(realm)}, nonce="${nonce}"`;
    if (qop) common += `, qop="${qop}"`;
    if (stale) common += ', stale=true';
    // RFC 8760 §2.4: one header per algorithm, most preferred first
    return s.algorithms.map((a) => (s.emitAlgorithm ? `${name}: ${common}, algorithm=${a}` : `${name}: ${common}`));
  }

  async challenge(ctx: MsgContext, realmArg: string, kind: AuthKind, opts: ChallengeOptions): Promise<number> {
    const ser = ctx.script.dialect === 'ser';
    if (!ctx.msg.isRequest || ctx.msg.method === 'ACK' || ctx.msg.method === 'CANCEL') return -1;
    const realm = this.realmFor(ctx, realmArg, kind);
    if (realm === null) {
      this.log.error({ fn: kind === 'www' ? 'www_challenge' : 'proxy_challenge' }, realmArg === '' ? 'empty realm' : 'cannot derive realm');
      return -1;
    }
    const headers = [...(ctx.getExt<string[]>('core.replyHeaders') ?? []), ...this.challengeHeaders(ctx, realm, kind, opts)];
    const code = kind === 'www' ? 401 : 407;
    const reason = kind === 'www' ? 'Unauthorized' : 'Proxy Authentication Required';
    const ok = await ctx.core.sendReply(ctx.msg, ctx.rcv, code, reason, { headers });
    if (!ok) return ser ? -1 : -3;
    ctx.replied = true;
    this.c.challenges.value++;
    // SER 0.9 challenge functions return 0: the script stops after the reply
    return ser ? 0 : 1;
  }

  // ---------------- verification ----------------

  authorized(ctx: MsgContext): AuthorizedCredentials | null {
    return ctx.getExt<AuthorizedCredentials>(AUTHORIZED_KEY) ?? null;
  }

  private select(ctx: MsgContext, realm: string, kind: AuthKind): Credential | 'malformed' | null {
    let list: Credential[];
    try {
      list = ctx.msg.credentials(kind);
    } catch (e) {
      if (e instanceof SipParseError) return 'malformed';
      throw e;
    }
    const want = realm.toLowerCase();
    for (const c of list) {
      if (c.cred.scheme.toLowerCase() !== 'digest') continue;
      if (c.cred.realm !== null && c.cred.realm.toLowerCase() === want) return c;
    }
    return null;
  }

  /** the field checks of SER check_dig_cred / Kamailio check_dig_cred; null when fine */
  private fieldProblem(d: DigestCredentials): string | null {
    if (!d.username || !d.nonce || !d.uri || !d.response) return 'missing username, nonce, uri or response';
    if (d.username.length > MAX_FIELD || d.nonce.length > MAX_FIELD || (d.cnonce?.length ?? 0) > MAX_FIELD) return 'field too long';
    if (d.uri.length > MAX_URI || (d.opaque?.length ?? 0) > MAX_FIELD) return 'field too long';
    if (!/^[0-9a-fA-F]+$/.test(d.response)) return 'response is not hex';
    if (d.qop !== null) {
      const q = d.qop.toLowerCase();
      if (q !== 'auth' && q !== 'auth-int') return 'unknown qop';
      if (!d.nc || !/^[0-9a-fA-F]{8}$/.test(d.nc)) return 'bad nc';
      if (!d.cnonce) return 'qop without cnonce';
    }
    return null;
  }

  private uriMatches(ctx: MsgContext, digestUri: string): boolean {
    if (!this.settings.uriCheck) return true;
    const a = parseUri(digestUri);
    const b = ctx.msg.ruri === ctx.ruri ? ctx.ruriUri() : parseUri(ctx.msg.ruri);
    if (!a || !b) return digestUri === ctx.msg.ruri;
    const port = (u: { scheme: string; port: number | null }) => u.port ?? (u.scheme.toLowerCase() === 'sips' ? 5061 : 5060);
    return (
      a.scheme.toLowerCase() === b.scheme.toLowerCase() &&
      // a digest uri without a user (SIPp's default "sip:host:port") names the same server
      (a.user === null || b.user === null || a.user === b.user) &&
      a.host.toLowerCase() === b.host.toLowerCase() &&
      port(a) === port(b)
    );
  }

  private outcome(ctx: MsgContext, code: AuthCode, reason: string, d?: DigestCredentials): AuthOutcome {
    const c = this.c;
    if (code === 'stale' || code === 'nonce_reused') ctx.setExt(STALE_KEY, true);
    if (code === 'stale') c.stale.value++;
    else if (code === 'nonce_reused') c.replays.value++;
    if (code === 'malformed') c.malformed.value++;
    if (code === 'error') c.errors.value++;
    if (code !== 'ok' && code !== 'no_credentials' && code !== 'stale' && code !== 'error') c.failed.value++;
    // never log the response, HA1s or the header; the user name and source help fail2ban
    if (code === 'invalid_password' || code === 'user_unknown' || code === 'nonce_reused') {
      if (this.failLog.allow()) this.log.info({ code, reason, user: d?.username ?? undefined, realm: d?.realm ?? undefined, src: ctx.rcv.srcIp }, 'digest authentication failed');
    } else if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ code, reason, user: d?.username ?? undefined, realm: d?.realm ?? undefined, src: ctx.rcv.srcIp }, 'digest authentication failed');
    }
    return { code, reason };
  }

  /** secrets usable for a response in `base`: passwords always, HA1s of the same algorithm */
  private ha1s(secrets: Secret[], base: BaseAlgorithm, d: DigestCredentials): string[] {
    const out: string[] = [];
    for (const s of secrets) {
      if (s.type === 'password') out.push(computeHa1(base, d.username!, d.realm!, s.value));
      else {
        const v = s.value.trim();
        // without a stated algorithm, the length tells MD5 (32) from the SHA-2 family (64)
        if (s.algorithm !== null ? s.algorithm === base : v.length === HEX_LENGTH[base]) out.push(v.toLowerCase());
      }
    }
    return out;
  }

  async verifyCredentials(ctx: MsgContext, realmArg: string, kind: AuthKind, lookup: SecretLookup, opts: VerifyOptions = {}): Promise<AuthOutcome> {
    const msg = ctx.msg;
    const ser = ctx.script.dialect === 'ser';
    if (!msg.isRequest) return { code: 'error', reason: 'not a request' };
    const method = msg.method;
    // auth/api.c pre_auth: these are never challenged (PRACK only in Kamailio)
    if (method === 'ACK' || method === 'CANCEL' || (!ser && method === 'PRACK')) return { code: 'ok' };
    const realm = this.realmFor(ctx, realmArg, kind);
    if (realm === null) return this.outcome(ctx, 'error', realmArg === '' ? 'empty realm' : 'cannot derive realm');

    const sel = this.select(ctx, realm, kind);
    if (sel === 'malformed') return this.outcome(ctx, 'malformed', 'unparsable credentials');
    if (sel === null) return this.outcome(ctx, 'no_credentials', `no credentials for realm ${realm}`);
    const d = sel.cred;
    const problem = this.fieldProblem(d);
    if (problem) return this.outcome(ctx, 'malformed', problem, d);
    const now = this.now();
    // a blocked source or user: refused before the nonce check and the secret lookup
    const g = this.guard;
    if (g !== null && !g.idle) {
      const a = g.admit(ctx.rcv.srcIp, userKeyOf(d), now);
      if (a === 'held') {
        try {
          return await this.check(ctx, kind, sel, lookup, opts, now);
        } finally {
          g.release(ctx.rcv.srcIp);
        }
      }
      if (a !== null) {
        this.c.blocked.value++;
        return { code: 'blocked', reason: a === 'busy' ? 'one check at a time after failed authentications' : `${a} blocked after failed authentications` };
      }
    }
    return this.check(ctx, kind, sel, lookup, opts, now);
  }

  /** verification past the credential selection and the throttle's admission */
  private async check(ctx: MsgContext, kind: AuthKind, sel: Credential, lookup: SecretLookup, opts: VerifyOptions, now: number): Promise<AuthOutcome> {
    const msg = ctx.msg;
    const ser = ctx.script.dialect === 'ser';
    const method = msg.method;
    const d = sel.cred;
    const alg = parseAlgorithm(d.algorithm);
    if (!alg || !this.settings.algorithms.includes(alg.base)) return this.outcome(ctx, 'rejected', `algorithm ${d.algorithm} not offered`, d);
    if (d.response!.length !== HEX_LENGTH[alg.base]) return this.outcome(ctx, 'malformed', 'response length', d);
    if (!this.uriMatches(ctx, d.uri!)) return this.outcome(ctx, 'rejected', 'digest uri does not match the Request-URI', d);

    const nc = this.signer.verify(d.nonce!, now, this.settings.maxDrift, this.nonceExtra(ctx));
    if (nc.status === 'invalid') return this.outcome(ctx, 'rejected', 'invalid nonce', d);
    // Kamailio reports a stale nonce before looking at the password; SER 0.9 only after a
    // correct response (so a stale flag is never a password oracle there)
    if (nc.status === 'stale' && !ser) return this.outcome(ctx, 'stale', 'nonce expired', d);

    const username = d.username!;
    const at = username.indexOf('@');
    const user = at >= 0 ? username.slice(0, at) : username;
    const domain = at >= 0 ? username.slice(at + 1) : null;
    let found;
    try {
      found = await lookup({ username, user, domain, realm: d.realm!, algorithm: alg.base });
    } catch (e) {
      found = { status: 'error' as const, message: (e as Error).message };
    }
    if (found.status === 'error') return this.outcome(ctx, 'error', `credentials lookup failed: ${found.message}`, d);
    if (found.status === 'unknown') return this.throttle(ctx, this.outcome(ctx, 'user_unknown', 'no such user', d), null, now);

    const qop = d.qop === null ? null : (d.qop.toLowerCase() as 'auth' | 'auth-int');
    const input = { algorithm: alg, nonce: d.nonce!, method: opts.method ?? method, uri: d.uri!, qop, nc: d.nc, cnonce: d.cnonce, body: msg.body };
    const candidates = this.ha1s(found.secrets, alg.base, d);
    let match: string | null = null;
    for (const ha1 of candidates) {
      if (hexEqual(computeResponse({ ...input, ha1 }), d.response!)) {
        match = ha1;
        break;
      }
    }
    if (match === null) {
      return this.throttle(ctx, this.outcome(ctx, 'invalid_password', candidates.length ? 'response mismatch' : `no ${alg.base} secret stored`, d), d, now);
    }
    if (nc.status === 'stale') return this.outcome(ctx, 'stale', 'nonce expired', d);
    const s = this.settings;
    const ncValue = d.nc ? Number.parseInt(d.nc, 16) : 0;
    const reuse = s.replayProtection ? this.accepted.lookup(nc.id, nc.since, d.response!, ncValue, () => requestIdentity(ctx)) : 'new';
    if (reuse === 'replay') return this.outcome(ctx, 'nonce_reused', 'response already accepted in another request', d);
    // a retransmission of the accepted request passes again (lossy UDP), whatever nc/OTN say
    if (reuse === 'new') {
      if (!this.replayOk(nc.id, nc.expires, d, now)) return this.outcome(ctx, 'nonce_reused', 'nonce or nc reused', d);
      if (s.replayProtection) this.accepted.remember(nc.id, nc.since, nc.expires, d.response!, ncValue, requestIdentity(ctx), now);
    }

    const authorized: AuthorizedCredentials = {
      kind,
      username,
      user,
      domain,
      realm: d.realm!,
      algorithm: alg.name,
      hf: sel.hf,
      data: found.data,
    };
    ctx.setExt(AUTHORIZED_KEY, authorized);
    this.c.successful.value++;
    if (this.settings.addAuthInfo && qop) this.addAuthInfo(ctx, alg, match, d, qop);
    return { code: 'ok', authorized };
  }

  /** count a failed guess (per source, and per user when `d` is given) and answer it after the throttle's delay */
  private async throttle(ctx: MsgContext, o: AuthOutcome, d: DigestCredentials | null, now: number): Promise<AuthOutcome> {
    const g = this.guard;
    if (g === null) return o;
    const delay = g.failed(ctx.rcv.srcIp, d === null ? null : userKeyOf(d), now);
    if (delay > 0) await sleep(delay);
    return o;
  }

  private replayOk(id: string, expires: number, d: DigestCredentials, now: number): boolean {
    const s = this.settings;
    if (s.oneTimeNonce) return this.replay.useOnce(id, expires, now);
    if (!s.nonceCount) return true;
    // without qop there is no nc: the nonce can only be used once
    if (d.qop === null || !d.nc) return this.replay.useOnce(id, expires, now);
    return this.replay.acceptNc(id, Number.parseInt(d.nc, 16), expires, now);
  }

  /** RFC 2617 §3.2.3 Authentication-Info with rspauth, for replies built from this request */
  private addAuthInfo(ctx: MsgContext, alg: Algorithm, ha1: string, d: DigestCredentials, qop: 'auth' | 'auth-int'): void {
    const rsp = computeResponse({ algorithm: alg, ha1, nonce: d.nonce!, method: '', uri: d.uri!, qop, nc: d.nc, cnonce: d.cnonce, body: '' });
    const line = `Authentication-Info: qop=${qop}, rspauth="${rsp}", cnonce=${quote(d.cnonce ?? '')}, nc=${d.nc}`;
    const list = ctx.getExt<string[]>('core.replyHeaders') ?? [];
    ctx.setExt('core.replyHeaders', [...list, line]);
  }

  async scriptCode(ctx: MsgContext, o: AuthOutcome): Promise<number> {
    if (o.code === 'blocked') {
      // stateless and cheap; 0 ends the script in both dialects (no challenge goes out)
      const code = this.settings.blockReply;
      if (code > 0 && (await ctx.core.sendReply(ctx.msg, ctx.rcv, code, code === 403 ? 'Forbidden' : 'Blocked'))) ctx.replied = true;
      return 0;
    }
    if (ctx.script.dialect !== 'ser') return KAM_CODES[o.code];
    switch (o.code) {
      case 'ok':
        return 1;
      case 'malformed':
        // SER 0.9 pre_auth: 400 and stop the script
        if (await ctx.core.sendReply(ctx.msg, ctx.rcv, 400, 'Bad Request - Malformed Credentials')) ctx.replied = true;
        return 0;
      case 'error':
        // SER 0.9 auth_db: "500 Server Internal Error" on DB failure, script stops
        ctx.setError(500, 'Server Internal Error');
        if (await ctx.core.sendReply(ctx.msg, ctx.rcv, 500, 'Server Internal Error')) ctx.replied = true;
        return 0;
      default:
        return -1;
    }
  }

  identityMatches(ctx: MsgContext, cred: AuthorizedCredentials, flags: number): boolean {
    if ((flags & 1) === 0) return true;
    const m = ctx.msg;
    const method = m.method;
    if (flags & 2 && ['INVITE', 'BYE', 'PRACK', 'UPDATE', 'MESSAGE'].includes(method)) return true;
    const same = (uri: string | null): boolean => {
      const u = uri === null ? null : parseUri(uri);
      if (!u || u.user === null) return false;
      return u.user.toLowerCase() === cred.user.toLowerCase() && u.host.toLowerCase() === cred.realm.toLowerCase();
    };
    try {
      if (!same(m.from().uri)) return false;
      if (method === 'REGISTER' || method === 'PUBLISH') {
        if (!same(m.to().uri)) return false;
        if (method === 'PUBLISH' && !same(m.ruri)) return false;
      }
      return true;
    } catch (e) {
      if (e instanceof SipParseError) return false;
      throw e;
    }
  }
}

