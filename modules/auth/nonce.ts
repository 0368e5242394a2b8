// Stateless signed nonces. Layout (base64url): version(1) expires(4) since(4) id(8) mac(16)
// [mac2(8)]. mac = HMAC-SHA256(secret, first 17 bytes) truncated; the optional mac2 also
// covers request properties (auth_checks_*: R-URI, Call-ID, From-tag, source IP), and a
// mismatch there makes the nonce stale, as Kamailio does. Any instance sharing `secret`
// verifies another's nonces.
import { createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const BODY = 17;
const MAC = 16;
const MAC2 = 8;

export type NonceStatus = 'ok' | 'stale' | 'invalid';

export interface NonceCheck {
  status: NonceStatus;
  /** hex id, for nonce_count / one_time_nonce tracking */
  id: string;
  /** absolute expiry, unix seconds */
  expires: number;
  /** issue time, unix seconds */
  since: number;
  /** past its expiry (status 'stale', or 'ok' when the caller decides staleness later) */
  expired: boolean;
}

// random ids come from a pooled buffer: one CSPRNG call per 512 nonces instead of one each
const POOL = 4096;
const pool = Buffer.alloc(POOL);
let poolAt = POOL;

function nextRandom(into: Buffer, at: number): void {
  if (poolAt + 8 > POOL) {
    randomFillSync(pool);
    poolAt = 0;
  }
  pool.copy(into, at, poolAt, poolAt + 8);
  poolAt += 8;
}

export class NonceSigner {
  constructor(private readonly secret: Buffer) {}

  private mac(body: Buffer, extra: string | null, len: number): Buffer {
    const h = createHmac('sha256', this.secret).update(body);
    if (extra !== null) h.update('\0').update(extra, 'utf8');
    return h.digest().subarray(0, len);
  }

  /** a new nonce valid for `ttl` seconds from `now` (unix seconds) */
  create(now: number, ttl: number, extra: string | null = null): string {
    const body = Buffer.alloc(BODY);
    body.writeUInt8(VERSION, 0);
    body.writeUInt32BE((now + ttl) >>> 0, 1);
    body.writeUInt32BE(now >>> 0, 5);
    nextRandom(body, 9);
    const parts = [body, this.mac(body, null, MAC)];
    if (extra !== null) parts.push(this.mac(body, extra, MAC2));
    return Buffer.concat(parts).toString('base64url');
  }

  /**
   * Check MAC, issue time and expiry. 'invalid': not ours (forged, other secret, garbled,
   * issued in the future beyond `maxDrift`); 'stale': ours but expired or extra mismatch.
   */
  verify(nonce: string, now: number, maxDrift: number, extra: string | null = null): NonceCheck {
    const bad: NonceCheck = { status: 'invalid', id: '', expires: 0, since: 0, expired: false };
    if (nonce.length > 64 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return bad;
    const buf = Buffer.from(nonce, 'base64url');
    const want = BODY + MAC + (extra !== null ? MAC2 : 0);
    if (buf.length !== BODY + MAC && buf.length !== BODY + MAC + MAC2) return bad;
    const body = buf.subarray(0, BODY);
    if (body.readUInt8(0) !== VERSION) return bad;
    if (!timingSafeEqual(buf.subarray(BODY, BODY + MAC), this.mac(body, null, MAC))) return bad;
    const expires = body.readUInt32BE(1);
    const since = body.readUInt32BE(5);
    const id = body.subarray(9, 17).toString('hex');
    if (since > now + maxDrift || expires < since) return bad;
    const expired = now > expires;
    let status: NonceStatus = expired ? 'stale' : 'ok';
    if (extra !== null && status === 'ok') {
      // issued without (or with other) request checks: ask the client for a fresh one
      if (buf.length !== want || !timingSafeEqual(buf.subarray(BODY + MAC), this.mac(body, extra, MAC2))) status = 'stale';
    }
    return { status, id, expires, since, expired };
  }
}

/** the module secret: the configured string, or random bytes (nonces die with the process) */
export function secretFrom(param: string): Buffer {
  return param.length > 0 ? Buffer.from(param, 'utf8') : randomBytes(32);
}
