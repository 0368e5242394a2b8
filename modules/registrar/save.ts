// save(): RFC 3261 §10.3 steps 6–8 against a usrloc table (Kamailio save.c). Under the AOR
// lock: `*` removes every binding; otherwise each Contact is matched (URI, or instance +
// reg-id; matching_mode may add Call-ID or Path), its Call-ID/CSeq checked (same Call-ID
// with an older CSeq fails the request, the same CSeq within cseq_delay is a
// retransmission and changes nothing), max_contacts enforced, and only then the bindings
// are inserted, refreshed or removed.
import { isValid } from '../usrloc/contact.js';
import { FL_NAT, type ContactInfo, type UlContact, type UlDomain, type UsrlocApi } from '../usrloc/api.js';
import type { MsgContext } from '../../src/script/context.js';
import type { RegConfig } from './config.js';
import { R, RegError } from './errors.js';
import type { RegContact, RegRequest } from './request.js';

/** save() flags (Kamailio) */
export const SaveFlag = {
  MEMORY: 0x01,
  NO_REPLY: 0x02,
  REPLACE: 0x04,
  NO_VARIATION: 0x08,
  PREPARE_REPLY: 0x10,
} as const;

export interface SaveResult {
  /** K56 codes: 1 inserted, 2 updated, 3 deleted, 4 query only */
  rc: number;
  /** valid bindings after the change, best first (for the 200 OK) */
  bindings: readonly UlContact[];
}

export interface SaveEnv {
  ul: UsrlocApi;
  cfg: RegConfig;
  matchingMode: number;
  cseqDelay: number;
}

type Step = { rc: RegContact; match: UlContact | null; action: 'insert' | 'update' | 'delete' | 'skip' };

/** the contact a REGISTER Contact refers to (Kamailio get_ucontact_by_instance / get_ucontact) */
export function findBinding(list: readonly UlContact[], rc: RegContact, req: RegRequest, matchingMode: number): UlContact | null {
  if (rc.instance) {
    const inst = stripAngle(rc.instance);
    return list.find((c) => c.instance !== null && stripAngle(c.instance) === inst && c.regId === rc.regId) ?? null;
  }
  for (const c of list) {
    if (c.uri !== rc.uri) continue;
    if (matchingMode === 1 && c.callid !== req.callid) continue;
    if (matchingMode === 2 && (c.path ?? '') !== (req.path ?? '')) continue;
    return c;
  }
  return null;
}

function stripAngle(s: string): string {
  return s.length > 2 && s.startsWith('<') && s.endsWith('>') ? s.slice(1, -1) : s;
}

/** RFC 3261 §10.3 step 7: 'ok' to apply, 'retrans' to ignore, 'old' to fail the request */
export function cseqCheck(c: UlContact, req: RegRequest, now: number, cseqDelay: number): 'ok' | 'retrans' | 'old' {
  if (c.callid !== req.callid) return 'ok';
  if (req.cseq > c.cseq) return 'ok';
  if (req.cseq === c.cseq && c.lastModified + cseqDelay > now) return 'retrans';
  return 'old';
}

export async function saveRequest(
  ctx: MsgContext,
  dom: UlDomain,
  req: RegRequest,
  flags: number,
  env: SaveEnv,
): Promise<SaveResult> {
  return dom.lock(req.aor, async () => {
    let existing: readonly UlContact[];
    try {
      existing = [...(await dom.get(req.aor))];
    } catch {
      throw new RegError(R.UL_GET_R);
    }
    let rc = 4;
    if (req.star) {
      await ulOp(R.UL_DEL_R, async () => {
        for (const c of existing) await dom.delete(c);
      });
      rc = 3;
    } else if (req.contacts.length > 0) {
      rc = await apply(ctx, dom, req, existing, flags, env);
    }
    await dom.sync();
    const now = env.ul.now();
    let after: readonly UlContact[];
    try {
      after = await dom.get(req.aor);
    } catch {
      after = [];
    }
    return { rc, bindings: after.filter((c) => isValid(c, now)) };
  });
}

async function ulOp<T>(err: (typeof R)[keyof typeof R], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RegError) throw e;
    throw new RegError(err);
  }
}

async function apply(
  ctx: MsgContext,
  dom: UlDomain,
  req: RegRequest,
  existing: readonly UlContact[],
  flags: number,
  env: SaveEnv,
): Promise<number> {
  const now = env.ul.now();
  const replace = (flags & SaveFlag.REPLACE) !== 0;
  // plan everything first: a request that fails changes nothing
  const steps: Step[] = [];
  for (const rc of req.contacts) {
    const match = findBinding(existing, rc, req, env.matchingMode);
    if (!match) {
      steps.push({ rc, match, action: rc.expires === 0 ? 'skip' : 'insert' });
      continue;
    }
    const cs = cseqCheck(match, req, now, env.cseqDelay);
    if (cs === 'old') throw new RegError(R.INV_CSEQ);
    steps.push({ rc, match, action: cs === 'retrans' ? 'skip' : rc.expires === 0 ? 'delete' : 'update' });
  }
  if (env.cfg.maxContacts > 0 && !replace) {
    let n = existing.filter((c) => isValid(c, now)).length;
    for (const s of steps) {
      if (s.action === 'insert') n++;
      else if (s.action === 'delete' && isValid(s.match!, now)) n--;
    }
    if (n > env.cfg.maxContacts) throw new RegError(R.TOO_MANY);
  }

  const fresh = existing.length === 0;
  let rc = 0;
  const memOnly = (flags & SaveFlag.MEMORY) !== 0;
  let flagsNat = 0;
  if (env.cfg.natFlag !== null && (ctx.flags & (1 << env.cfg.natFlag)) !== 0) flagsNat = FL_NAT;
  for (const s of steps) {
    if (s.action === 'skip') continue;
    if (s.action === 'delete') {
      await ulOp(R.UL_DEL_C, () => dom.delete(s.match!));
      rc = 3;
      continue;
    }
    const ci = contactInfo(ctx, req, s.rc, now, memOnly, flagsNat);
    let saved: UlContact;
    if (s.action === 'insert') {
      saved = await ulOp(R.UL_INS_C, () => dom.insert(req.aor, ci));
      rc = 1;
    } else {
      saved = await ulOp(R.UL_UPD_C, () => dom.update(s.match!, ci));
      rc = 2;
      // a device (instance) that restarted with a new Call-ID: its older bindings go
      if (s.rc.instance && s.match!.callid !== req.callid) {
        for (const c of existing) if (c !== s.match && c.instance === s.match!.instance) await ulOp(R.UL_DEL_C, () => dom.delete(c));
      }
    }
    if (replace) {
      // flag 0x04: this binding replaces every other one of the AOR
      const all = await dom.get(req.aor);
      for (const c of all) if (c.ruid !== saved.ruid) await ulOp(R.UL_DEL_C, () => dom.delete(c));
      break;
    }
  }
  return fresh || rc === 0 ? 1 : rc;
}

function contactInfo(ctx: MsgContext, req: RegRequest, rc: RegContact, now: number, memOnly: boolean, flags: number): ContactInfo {
  return {
    uri: rc.uri,
    expires: now + rc.expires,
    q: rc.q,
    callid: req.callid,
    cseq: req.cseq,
    flags,
    cflags: ctx.bflags,
    userAgent: req.userAgent,
    received: rc.received,
    path: req.path,
    socket: req.socket,
    methods: rc.methods,
    instance: rc.instance,
    regId: rc.regId,
    connectionId: ctx.rcv.proto === 'tcp' ? (ctx.rcv.connId ?? 0) : 0,
    lastModified: now,
    memOnly,
  };
}
