// Digest computations (RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760 for SIP): HA1, the -sess
// variant, HA2 with qop auth / auth-int, and the response. Hex is lowercase; -sess follows
// RFC 7616 (the hex HA1 is hashed), not RFC 2617's reference code.
import { createHash, timingSafeEqual } from 'node:crypto';

/** base algorithms; each also exists as "<alg>-sess" */
export const BASE_ALGORITHMS = ['MD5', 'SHA-256', 'SHA-512-256'] as const;
export type BaseAlgorithm = (typeof BASE_ALGORITHMS)[number];

export interface Algorithm {
  /** as written in headers: "MD5", "SHA-256-sess" ... */
  name: string;
  base: BaseAlgorithm;
  sess: boolean;
}

const NODE_HASH: Record<BaseAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };
/** hex length of each base algorithm's digest */
export const HEX_LENGTH: Record<BaseAlgorithm, number> = { MD5: 32, 'SHA-256': 64, 'SHA-512-256': 64 };

/** "md5", "SHA-256-sess" ... (case-insensitive; RFC 7616 §3.3 token) → Algorithm, else null */
export function parseAlgorithm(text: string | null | undefined): Algorithm | null {
  const t = (text ?? 'MD5').trim().toUpperCase();
  const sess = t.endsWith('-SESS');
  const b = sess ? t.slice(0, -5) : t;
  const base = BASE_ALGORITHMS.find((a) => a === b);
  return base ? { name: sess ? `${base}-sess` : base, base, sess } : null;
}

export function hash(base: BaseAlgorithm, text: string): string {
  return createHash(NODE_HASH[base]).update(text, 'utf8').digest('hex');
}

/** H(username ":" realm ":" password) — what subscriber.ha1 stores (for MD5) */
export function computeHa1(base: BaseAlgorithm, username: string, realm: string, password: string): string {
  return hash(base, `${username}:${realm}:${password}`);
}

/** RFC 7616 §3.4.2: HA1 for "-sess" = H(HA1 ":" nonce ":" cnonce) */
export function sessHa1(base: BaseAlgorithm, ha1: string, nonce: string, cnonce: string): string {
  return hash(base, `${ha1}:${nonce}:${cnonce}`);
}

export interface ResponseInput {
  algorithm: Algorithm;
  /** HA1 of the base algorithm (not yet -sess transformed) */
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  qop: 'auth' | 'auth-int' | null;
  nc?: string | null;
  cnonce?: string | null;
  /** message body, for qop=auth-int */
  body?: string;
}

export function computeResponse(i: ResponseInput): string {
  const base = i.algorithm.base;
  const ha1 = i.algorithm.sess ? sessHa1(base, i.ha1, i.nonce, i.cnonce ?? '') : i.ha1;
  const a2 = i.qop === 'auth-int' ? `${i.method}:${i.uri}:${hash(base, i.body ?? '')}` : `${i.method}:${i.uri}`;
  const ha2 = hash(base, a2);
  if (i.qop === null) return hash(base, `${ha1}:${i.nonce}:${ha2}`); // RFC 2069 compatibility
  return hash(base, `${ha1}:${i.nonce}:${i.nc ?? ''}:${i.cnonce ?? ''}:${i.qop}:${ha2}`);
}

/** constant-time comparison of two hex strings (case-insensitive; lengths are public) */
export function hexEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a.toLowerCase(), 'latin1'), Buffer.from(b.toLowerCase(), 'latin1'));
}
