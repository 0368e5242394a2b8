// The in-memory contact record, ruid generation and contact ordering.
import { randomBytes } from 'node:crypto';
import { ALL_METHODS, FL_PERMANENT, Q_UNSPECIFIED, type ContactInfo, type UlContact } from './api.js';

let changeSeq = 0;

/**
 * A copy of s that does not point into the received message: V8 keeps substrings as slices
 * of their parent, so a stored Call-ID would otherwise keep the whole REGISTER text alive.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** write-back state: clean = as in the DB (or nothing to write), dirty = must be written */
export class Ucontact implements UlContact {
  ruid: string;
  uri = '';
  expires = 0;
  q = Q_UNSPECIFIED;
  callid = '';
  cseq = 0;
  flags = 0;
  cflags = 0;
  userAgent = '';
  received: string | null = null;
  path: string | null = null;
  socket: string | null = null;
  methods = ALL_METHODS;
  instance: string | null = null;
  regId = 0;
  serverId = 0;
  connectionId = 0;
  keepalive = 0;
  partition = 0;
  lastModified = 0;
  memOnly = false;
  /** bumped on every change: a flush that wrote an older version leaves the contact dirty */
  version = 0;
  dirty = false;
  /** an upsert of this ruid was sent to the DB (so a delete must be sent too) */
  maybeInDb = false;
  /** no longer in its record (deleted or expired) */
  removed = false;
  /** order of the last change, to break ties between changes within one second */
  seq = 0;

  readonly aor: string;

  constructor(aor: string, ruid: string) {
    this.aor = own(aor);
    this.ruid = ruid;
  }

  apply(ci: ContactInfo, now: number): void {
    this.uri = own(ci.uri);
    this.expires = ci.expires;
    this.q = ci.q ?? Q_UNSPECIFIED;
    this.callid = own(ci.callid ?? 'Default-Call-ID');
    this.cseq = ci.cseq ?? 1;
    this.flags = ci.flags ?? 0;
    this.cflags = ci.cflags ?? 0;
    this.userAgent = own(ci.userAgent ?? '');
    this.received = ci.received ? own(ci.received) : null;
    this.path = ci.path ? own(ci.path) : null;
    this.socket = ci.socket ?? null;
    this.methods = ci.methods ?? ALL_METHODS;
    this.instance = ci.instance ? own(ci.instance) : null;
    this.regId = ci.regId ?? 0;
    this.connectionId = ci.connectionId ?? 0;
    this.lastModified = ci.lastModified ?? now;
    this.memOnly = ci.memOnly ?? false;
    this.version++;
    this.seq = ++changeSeq;
  }
}

/** stamp a contact loaded from the DB (it has no change order yet) */
export function stamp(c: Ucontact): void {
  c.seq = ++changeSeq;
}

/** a contact never expires when its expires is 0 (Kamailio) or it has SER's FL_PERMANENT */
export function isPermanent(c: UlContact): boolean {
  return c.expires === 0 || (c.flags & FL_PERMANENT) !== 0;
}

/** Kamailio VALID_CONTACT: unexpired or permanent */
export function isValid(c: UlContact, now: number): boolean {
  return isPermanent(c) || c.expires > now;
}

/** seconds left, for replies and dumps; permanent contacts report a large constant */
export function remaining(c: UlContact, now: number): number {
  return isPermanent(c) ? PERMANENT_REMAINING : Math.max(0, c.expires - now);
}

export const PERMANENT_REMAINING = 0x7fffffff;

/** best first: highest q, then most recent (desc_time_order: most recent only) */
export function contactOrder(descTimeOrder: boolean): (a: UlContact, b: UlContact) => number {
  if (descTimeOrder) return (a, b) => b.lastModified - a.lastModified;
  return (a, b) => b.q - a.q || b.lastModified - a.lastModified;
}

/**
 * ruids as Kamailio's sruid makes them (`uloc-<time hex>-<id hex>-<counter>`). The middle
 * part is random rather than the pid: tser in a container is often pid 1, and a restart
 * within the same second must never reuse a ruid (it is the DB row key).
 */
export class RuidGenerator {
  private n = 0;
  private readonly prefix: string;
  constructor(nowSec: number) {
    this.prefix = `uloc-${Math.floor(nowSec).toString(16)}-${randomBytes(4).toString('hex')}-`;
  }
  next(): string {
    return this.prefix + String(++this.n);
  }
}
