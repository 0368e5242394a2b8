// The in-memory contact record, ruid generation and contact ordering.
//
// Memory: a registrar holds one Ucontact per binding, so its layout is what 100,000
// registrations cost (about 160 bytes for the object, plus its own strings: AOR, URI,
// Call-ID). Every instance has the same fields in the same order (one hidden class, values
// small integers or strings, no per-contact closures or number boxes); the booleans share
// one bit field; a ruid made here is kept as its counter (the prefix is the process's);
// the fields most contacts leave at their defaults live in an object only a contact that
// sets one has; and the values many contacts share (User-Agent, socket, Path) are interned.
import { randomBytes } from 'node:crypto';
import { ALL_METHODS, FL_PERMANENT, Q_UNSPECIFIED, type ContactInfo, type UlContact } from './api.js';

/**
 * A copy of s that does not point into the received message: V8 keeps substrings as slices
 * of their parent, so a stored Call-ID would otherwise keep the whole REGISTER text alive.
 */
export function own(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

// Interned values: one string for all contacts with the same User-Agent, socket or Path.
// Bounded, so a stream of distinct values cannot grow it without limit (it starts over).
const INTERN_MAX = 4096;
const interned = new Map<string, string>();

export function intern(s: string): string {
  let v = interned.get(s);
  if (v === undefined) {
    if (interned.size >= INTERN_MAX) interned.clear();
    v = own(s);
    interned.set(v, v);
  }
  return v;
}

// change order: 30 bits so it always stays a small integer; compared with wrap-around
let changeSeq = 0;
const SEQ_MASK = 0x3fffffff;
function nextSeq(): number {
  changeSeq = (changeSeq + 1) & SEQ_MASK;
  return changeSeq;
}

/** b changed after a (> 0), before it (< 0); serial-number arithmetic over 30 bits */
export function seqOrder(a: number, b: number): number {
  const d = (b - a) & SEQ_MASK;
  return d === 0 ? 0 : d < 0x20000000 ? 1 : -1;
}

// state bits
const MEM_ONLY = 1;
const DIRTY = 2;
const QUEUED = 4;
const IN_DB = 8;
const REMOVED = 16;

/** the fields most contacts leave at their defaults (Path, outbound, DB-only columns) */
class Extra {
  constructor(
    public path: string | null = null,
    public instance: string | null = null,
    public regId = 0,
    public serverId = 0,
    public connectionId = 0,
    public keepalive = 0,
    public partition = 0,
  ) {}

  get isDefault(): boolean {
    return this.path === null && this.instance === null && this.regId === 0 && this.serverId === 0 && this.connectionId === 0 && this.keepalive === 0 && this.partition === 0;
  }
}

// ruids made here: one prefix and one counter for the process (a contact keeps its counter)
let ruidPrefix: string | null = null;
let ruidCount = 0;

/** write-back state: clean = as in the DB (or nothing to write), dirty = must be written */
export class Ucontact implements UlContact {
  readonly aor: string;
  /** the ruid: its counter when made here (ruidPrefix + r), else the ruid itself */
  private r: number | string;
  uri = '';
  expires = 0;
  q = Q_UNSPECIFIED;
  callid = '';
  cseq = 0;
  flags = 0;
  cflags = 0;
  userAgent = '';
  received: string | null = null;
  socket: string | null = null;
  /** methods as a signed 32-bit value (a small integer, where 0xffffffff would be boxed) */
  private m = ALL_METHODS | 0;
  lastModified = 0;
  /** order of the last change (ties within one second); also the version a flush wrote */
  seq = 0;
  private st = 0;
  /** null while every field of Extra has its default */
  private x: Extra | null = null;

  /** ruid: the ruid, or a counter of RuidGenerator */
  constructor(aor: string, ruid: string | number) {
    this.aor = own(aor);
    this.r = ruid;
  }

  get ruid(): string {
    const r = this.r;
    return typeof r === 'number' ? ruidPrefix! + r : r;
  }
  set ruid(v: string) {
    this.r = v;
  }

  /** same ruid as c, without building the strings when both were made here */
  sameRuid(c: UlContact): boolean {
    if (c instanceof Ucontact && typeof this.r === 'number' && typeof c.r === 'number') return this.r === c.r;
    return this.ruid === c.ruid;
  }

  get methods(): number {
    return this.m >>> 0;
  }
  set methods(v: number) {
    this.m = v | 0;
  }

  private extra(): Extra {
    return (this.x ??= new Extra());
  }
  get path(): string | null {
    return this.x === null ? null : this.x.path;
  }
  set path(v: string | null) {
    if (v !== null || this.x !== null) this.extra().path = v;
  }
  get instance(): string | null {
    return this.x === null ? null : this.x.instance;
  }
  set instance(v: string | null) {
    if (v !== null || this.x !== null) this.extra().instance = v;
  }
  get regId(): number {
    return this.x === null ? 0 : this.x.regId;
  }
  set regId(v: number) {
    if (v !== 0 || this.x !== null) this.extra().regId = v;
  }
  get serverId(): number {
    return this.x === null ? 0 : this.x.serverId;
  }
  set serverId(v: number) {
    if (v !== 0 || this.x !== null) this.extra().serverId = v;
  }
  get connectionId(): number {
    return this.x === null ? 0 : this.x.connectionId;
  }
  set connectionId(v: number) {
    if (v !== 0 || this.x !== null) this.extra().connectionId = v;
  }
  get keepalive(): number {
    return this.x === null ? 0 : this.x.keepalive;
  }
  set keepalive(v: number) {
    if (v !== 0 || this.x !== null) this.extra().keepalive = v;
  }
  get partition(): number {
    return this.x === null ? 0 : this.x.partition;
  }
  set partition(v: number) {
    if (v !== 0 || this.x !== null) this.extra().partition = v;
  }

  get memOnly(): boolean {
    return (this.st & MEM_ONLY) !== 0;
  }
  /** must be written to the DB */
  get dirty(): boolean {
    return (this.st & DIRTY) !== 0;
  }
  set dirty(v: boolean) {
    this.st = v ? this.st | DIRTY : this.st & ~DIRTY;
  }
  /** in its domain's list of contacts to write */
  get queued(): boolean {
    return (this.st & QUEUED) !== 0;
  }
  set queued(v: boolean) {
    this.st = v ? this.st | QUEUED : this.st & ~QUEUED;
  }
  /** an upsert of this ruid was sent to the DB (so a delete must be sent too) */
  get maybeInDb(): boolean {
    return (this.st & IN_DB) !== 0;
  }
  set maybeInDb(v: boolean) {
    this.st = v ? this.st | IN_DB : this.st & ~IN_DB;
  }
  /** no longer in its record (deleted or expired) */
  get removed(): boolean {
    return (this.st & REMOVED) !== 0;
  }
  set removed(v: boolean) {
    this.st = v ? this.st | REMOVED : this.st & ~REMOVED;
  }

  /** the binding's data from a REGISTER (server_id, keepalive and partition are kept) */
  apply(ci: ContactInfo, now: number): void {
    this.uri = own(ci.uri);
    this.expires = ci.expires;
    this.q = ci.q ?? Q_UNSPECIFIED;
    this.callid = own(ci.callid ?? 'Default-Call-ID');
    this.cseq = ci.cseq ?? 1;
    this.flags = ci.flags ?? 0;
    this.cflags = ci.cflags ?? 0;
    this.userAgent = ci.userAgent ? intern(ci.userAgent) : '';
    this.received = ci.received ? own(ci.received) : null;
    this.socket = ci.socket ? intern(ci.socket) : null;
    this.m = (ci.methods ?? ALL_METHODS) | 0;
    this.path = ci.path ? intern(ci.path) : null;
    this.instance = ci.instance ? own(ci.instance) : null;
    this.regId = ci.regId ?? 0;
    this.connectionId = ci.connectionId ?? 0;
    if (this.x !== null && this.x.isDefault) this.x = null;
    this.lastModified = ci.lastModified ?? now;
    this.st = ci.memOnly ? this.st | MEM_ONLY : this.st & ~MEM_ONLY;
    this.seq = nextSeq();
  }
}

/** stamp a contact loaded from the DB (it has no change order yet) */
export function stamp(c: Ucontact): void {
  c.seq = nextSeq();
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
 * within the same second must never reuse a ruid (it is the DB row key). One prefix and
 * counter serve the whole process, so a contact keeps only its counter.
 */
export class RuidGenerator {
  constructor(nowSec: number) {
    ruidPrefix ??= `uloc-${Math.floor(nowSec).toString(16)}-${randomBytes(4).toString('hex')}-`;
  }

  /** a contact with a new ruid */
  contact(aor: string): Ucontact {
    return new Ucontact(aor, ++ruidCount);
  }

  next(): string {
    return ruidPrefix! + String(++ruidCount);
  }
}
