// Default replay protection (RFC 7616 §5.13 nonce reuse): per nonce id and until the nonce
// expires, the digest responses accepted with it and the request each came in (Call-ID,
// CSeq, top Via branch, source address). The same response again is a retransmission only in
// the same request; in any other request it is a replay. A response covers nc, cnonce, method
// and uri, so a client reusing a nonce with a growing nc gives new responses and passes.
// Bounded: a few responses per nonce (older ones leave an nc floor behind) and a fixed number
// of nonces (evicting a live one leaves an issue-time horizon behind); what was forgotten is
// refused as stale, never let through.

export type ReuseVerdict = 'new' | 'retransmission' | 'replay';

/** the request an accepted response came in; a retransmission repeats all of it */
export interface RequestIdentity {
  callId: string;
  cseq: number;
  branch: string | null;
  ip: string;
  port: number;
}

interface Accepted extends RequestIdentity {
  /** lower-case hex */
  response: string;
  nc: number;
}

interface Entry {
  /** nonce expiry, unix seconds */
  expires: number;
  /** nonce issue time, unix seconds */
  since: number;
  slots: Accepted[];
  /** the highest nc among forgotten slots (-1: none forgotten); unknown responses at or below it are refused */
  floorNc: number;
}

/** responses remembered per nonce before the oldest gives way to the nc floor */
const SLOTS = 4;

function sameHex(stored: string, given: string): boolean {
  return stored.length === given.length && (stored === given || stored === given.toLowerCase());
}

export class AcceptedResponses {
  private readonly byNonce = new Map<string, Entry>();
  /** nonces issued at or before this (unix s) had a live entry evicted: unknown ones are refused */
  private horizon = -1;
  /** the entry the last lookup() found (or null), for remember() without a second Map lookup */
  private found: Entry | null = null;
  /** live entries evicted because the table was full (statistics) */
  evicted = 0;

  constructor(readonly maxEntries = 1 << 20) {}

  get size(): number {
    return this.byNonce.size;
  }

  /**
   * hot path: one Map lookup, no allocation unless the response was seen. 'new' means not
   * seen before; the caller calls remember() once it accepts the request.
   */
  lookup(id: string, since: number, response: string, nc: number, req: () => RequestIdentity): ReuseVerdict {
    const e = this.byNonce.get(id);
    this.found = e ?? null;
    if (e === undefined) return since <= this.horizon ? 'replay' : 'new';
    for (const s of e.slots) {
      if (!sameHex(s.response, response)) continue;
      const r = req();
      return s.callId === r.callId && s.cseq === r.cseq && s.branch === r.branch && s.ip === r.ip && s.port === r.port ? 'retransmission' : 'replay';
    }
    return nc <= e.floorNc ? 'replay' : 'new';
  }

  /** record an accepted response; call right after a lookup() of the same nonce said 'new' */
  remember(id: string, since: number, expires: number, response: string, nc: number, req: RequestIdentity, now: number): void {
    let e = this.found;
    this.found = null;
    if (e === null) {
      this.makeRoom(now);
      e = { expires, since, slots: [], floorNc: -1 };
      this.byNonce.set(id, e);
    }
    if (e.slots.length >= SLOTS) {
      const old = e.slots.shift()!;
      if (old.nc > e.floorNc) e.floorNc = old.nc;
    }
    e.slots.push({ ...req, response: response.toLowerCase(), nc });
  }

  /** entries go in roughly expiry order: drop expired ones from the front, evict the oldest when full */
  private makeRoom(now: number): void {
    let dropped = 0;
    for (const [k, e] of this.byNonce) {
      if (e.expires < now) {
        this.byNonce.delete(k);
        // a few per insert keeps the work bounded and the table drained
        if (++dropped < 8) continue;
      } else if (this.byNonce.size >= this.maxEntries) {
        this.byNonce.delete(k);
        if (e.since > this.horizon) this.horizon = e.since;
        this.evicted++;
        continue;
      }
      break;
    }
  }
}
