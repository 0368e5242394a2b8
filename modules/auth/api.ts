// What auth offers other modules (auth_db, and any credential source): verify the digest
// credentials of a request against a secret the caller looks up, map the outcome to the
// script's return code for its dialect, and send challenges. Bind with
// `env.bindApi<AuthApi>('auth')`.
import type { HeaderField } from '../../src/sip/index.js';
import type { MsgContext } from '../../src/script/context.js';
import type { Algorithm, BaseAlgorithm } from './digest.js';

export type AuthKind = 'www' | 'proxy';

/** why verification ended (Kamailio auth_result_t, plus the SER-only distinctions) */
export type AuthCode =
  | 'ok'
  | 'no_credentials'
  | 'malformed'
  /** not authenticated for another reason: forged nonce, unknown algorithm, URI mismatch */
  | 'rejected'
  | 'stale'
  | 'user_unknown'
  | 'invalid_password'
  | 'nonce_reused'
  | 'user_mismatch'
  /** the source or the user is blocked after failed guesses: refused before any lookup */
  | 'blocked'
  | 'error';

/** Kamailio 5.6 script return codes (auth/api.h auth_cfg_result_t) */
export const KAM_CODES: Record<AuthCode, number> = {
  ok: 1,
  error: -1,
  malformed: -1,
  rejected: -1,
  invalid_password: -2,
  user_unknown: -3,
  stale: -4,
  no_credentials: -5,
  nonce_reused: -6,
  user_mismatch: -8,
  // tser: the reply (403, or none with guess_block_reply 0) is sent; 0 ends the script
  blocked: 0,
};

/** the credentials that passed verification, kept in ctx ext `auth.authorized` */
export interface AuthorizedCredentials {
  kind: AuthKind;
  /** digest username as sent */
  username: string;
  /** user part of the digest username (before '@' when it has one) */
  user: string;
  /** domain part of a "user@domain" digest username, else null */
  domain: string | null;
  realm: string;
  algorithm: string;
  /** the Authorization / Proxy-Authorization header, for consume_credentials() */
  hf: HeaderField;
  /** extra data the secret lookup returned (auth_db: loaded columns) */
  data?: Record<string, unknown>;
}

export const AUTHORIZED_KEY = 'auth.authorized';
export const STALE_KEY = 'auth.stale';

/** what the secret lookup is asked */
export interface SecretQuery {
  /** digest username as sent */
  username: string;
  user: string;
  domain: string | null;
  realm: string;
  /** the algorithm the client answered with (a stored HA1 must be of this base) */
  algorithm: BaseAlgorithm;
}

export type Secret =
  | { type: 'password'; value: string }
  /** a stored H(user:realm:password); `algorithm` null = guess from its length */
  | { type: 'ha1'; value: string; algorithm: BaseAlgorithm | null };

export type SecretResult =
  | { status: 'found'; secrets: Secret[]; data?: Record<string, unknown> }
  | { status: 'unknown' }
  | { status: 'error'; message: string };

export type SecretLookup = (q: SecretQuery) => Promise<SecretResult> | SecretResult;

export interface AuthOutcome {
  code: AuthCode;
  /** set when code is 'ok' and credentials were really checked (not ACK/CANCEL) */
  authorized?: AuthorizedCredentials;
  /** short reason for logs ("nonce expired", "response mismatch" ...) */
  reason?: string;
}

export interface VerifyOptions {
  /** method used in HA2 instead of the request's (Kamailio www_authenticate 3rd arg) */
  method?: string;
}

export interface ChallengeOptions {
  /** Kamailio flags bitmask (1 auth, 2 auth-int, 4 no 500, 16 stale) or SER's qop flag */
  flags: number;
}

export interface AuthApi {
  /** the realm for this request: the given one, or (SER dialect, empty) derived from To/From */
  realmFor(ctx: MsgContext, realm: string, kind: AuthKind): string | null;
  /** verify the request's credentials for `realm`; never throws, never replies */
  verifyCredentials(ctx: MsgContext, realm: string, kind: AuthKind, lookup: SecretLookup, opts?: VerifyOptions): Promise<AuthOutcome>;
  /**
   * The script return code for an outcome in the script's dialect, with the dialect's side
   * effects (SER 0.9: 400 for malformed credentials, 500 for a DB error, both returning 0).
   */
  scriptCode(ctx: MsgContext, outcome: AuthOutcome): Promise<number>;
  /** send a 401/407 challenge; returns the script code of www_challenge in the dialect */
  challenge(ctx: MsgContext, realm: string, kind: AuthKind, opts: ChallengeOptions): Promise<number>;
  /** the WWW-/Proxy-Authenticate header lines a challenge would carry */
  challengeHeaders(ctx: MsgContext, realm: string, kind: AuthKind, opts: ChallengeOptions): string[];
  /** credentials authorized earlier in this message, or null */
  authorized(ctx: MsgContext): AuthorizedCredentials | null;
  /**
   * Kamailio auth_check flag 1: the authorized user must be the From user (and, for REGISTER
   * and PUBLISH, the To user; PUBLISH also the R-URI) with the realm as host. Flag 2 skips
   * the check for INVITE, BYE, PRACK, UPDATE and MESSAGE.
   */
  identityMatches(ctx: MsgContext, cred: AuthorizedCredentials, flags: number): boolean;
}

export type { Algorithm };
