// Call-load bookkeeping for algorithm 10 (Kamailio ds_ht): which destination (duid) each
// Call-ID was sent to, so BYE/CANCEL/failures give the slot back. Entries expire after
// ds_hash_initexpire (not confirmed) or ds_hash_expire (confirmed by a 2xx).
import type { DsDest, DsSet } from './list.js';

interface Cell {
  setid: number;
  duid: string;
  confirmed: boolean;
  expires: number;
}

export class CallLoad {
  private readonly cells = new Map<string, Cell>();

  constructor(
    private readonly sets: () => Map<number, DsSet>,
    private readonly expire: number,
    private readonly initExpire: number,
  ) {}

  get size(): number {
    return this.cells.size;
  }

  private dest(setid: number, duid: string): DsDest | undefined {
    return this.sets().get(setid)?.dests.find((d) => d.attrs.duid.toLowerCase() === duid.toLowerCase());
  }

  private release(c: Cell): void {
    const d = this.dest(c.setid, c.duid);
    if (d && d.dload > 0) d.dload--;
  }

  /** count a new call on d; a Call-ID already counted is moved */
  add(callId: string, d: DsDest): boolean {
    if (!d.attrs.duid) return false;
    const old = this.cells.get(callId);
    if (old) this.release(old);
    this.cells.set(callId, { setid: d.setid, duid: d.attrs.duid, confirmed: false, expires: Date.now() + this.initExpire * 1000 });
    d.dload++;
    return true;
  }

  /** failover: the call now goes to the destination with this duid (ds_load_replace) */
  replace(callId: string, duid: string): boolean {
    const c = this.cells.get(callId);
    if (!c) return false;
    const next = this.dest(c.setid, duid);
    if (!next) return false;
    this.release(c);
    c.duid = next.attrs.duid;
    next.dload++;
    return true;
  }

  remove(callId: string): boolean {
    const c = this.cells.get(callId);
    if (!c) return false;
    this.release(c);
    this.cells.delete(callId);
    return true;
  }

  confirm(callId: string): boolean {
    const c = this.cells.get(callId);
    if (!c) return false;
    c.confirmed = true;
    c.expires = Date.now() + this.expire * 1000;
    return true;
  }

  has(callId: string): boolean {
    return this.cells.has(callId);
  }

  /** drop expired entries (calls whose BYE never came) */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const [id, c] of this.cells) {
      if (c.expires > now) continue;
      this.release(c);
      this.cells.delete(id);
      n++;
    }
    return n;
  }
}
