// lookup() / registered() / unregister() (Kamailio lookup.c, SER 0.9 lookup.c): the R-URI
// becomes the best binding (highest q, then most recent); the others become branches for
// parallel forking; $du comes from the binding's Path (first hop) or received address.
import { parseNameAddrList } from '../../src/sip/index.js';
import type { Branch, MsgContext } from '../../src/script/context.js';
import { FL_NAT, type UlContact, type UlDomain } from '../usrloc/api.js';
import { isValid } from '../usrloc/contact.js';
import { aorOfUri, extractAor } from './aor.js';
import type { RegConfig } from './config.js';
import { methodBit } from './methods.js';

export interface LookupEnv {
  cfg: RegConfig;
  now: () => number;
}

/** return codes per dialect (modules.md §6) */
const CODES = {
  kamailio: { found: 1, badAor: -3, notFound: -1, noValid: -1, method: -2, ulError: -3 },
  ser: { found: 1, badAor: -1, notFound: -3, noValid: -5, method: -5, ulError: -2 },
} as const;

function aorOf(ctx: MsgContext, cfg: RegConfig, uri: string | undefined): string | null {
  try {
    return uri ? extractAor(uri, cfg.aor) : aorOfUri(ctx.ruriUri(), cfg.aor);
  } catch {
    return null;
  }
}

/** next hop for a binding: first Path URI, else the received address, else none */
function dstOf(c: UlContact): string | null {
  if (c.path) {
    try {
      const first = parseNameAddrList(c.path)[0];
      if (first) return first.uri;
    } catch {
      // a broken stored Path: fall back to received
    }
  }
  return c.received || null;
}

/** the usable bindings of an AOR (valid, method allowed), or the dialect's failure code */
function usable(ctx: MsgContext, dom: UlDomain, env: LookupEnv, uri: string | undefined): UlContact[] | number | Promise<UlContact[] | number> {
  const codes = CODES[env.cfg.dialect];
  const aor = aorOf(ctx, env.cfg, uri);
  if (aor === null) return codes.badAor;
  if (aor === '') return codes.notFound;
  let list: readonly UlContact[] | Promise<readonly UlContact[]>;
  try {
    list = dom.get(aor);
  } catch (e) {
    return ulFailed(ctx, dom, aor, e, codes.ulError);
  }
  if (!isPromiseLike(list)) return usableOf(ctx, env, list);
  return list.then(
    (l) => usableOf(ctx, env, l),
    (e: unknown) => ulFailed(ctx, dom, aor, e, codes.ulError),
  );
}

function ulFailed(ctx: MsgContext, dom: UlDomain, aor: string, e: unknown, code: number): number {
  ctx.log.error({ table: dom.name, aor, err: (e as Error).message }, 'lookup: usrloc failed');
  return code;
}

function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown }).then === 'function';
}

function usableOf(ctx: MsgContext, env: LookupEnv, list: readonly UlContact[]): UlContact[] | number {
  const cfg = env.cfg;
  const codes = CODES[cfg.dialect];
  if (list.length === 0) return codes.notFound;
  const now = env.now();
  const valid = list.filter((c) => isValid(c, now));
  if (valid.length === 0) return codes.noValid;
  // method_filtering: in-dialog requests are never filtered (Kamailio allowed_method)
  if (cfg.methodFiltering && !ctx.msg.to().tag) {
    const bit = methodBit(ctx.msg.method);
    const ok = valid.filter((c) => (c.methods & bit) !== 0);
    return ok.length > 0 ? ok : codes.method;
  }
  return valid;
}

function branchOf(c: UlContact): Branch {
  return {
    uri: c.uri,
    dstUri: dstOf(c),
    q: c.q < 0 ? null : c.q / 1000,
    path: c.path,
    flags: c.cflags,
    attrs: { ruid: c.ruid, ...(c.instance ? { instance: c.instance } : {}), ua: c.userAgent },
  };
}

/** synchronous when the domain is in memory: no promise on the call path */
export function lookup(ctx: MsgContext, dom: UlDomain, env: LookupEnv, uri: string | undefined): number | Promise<number> {
  const found = usable(ctx, dom, env, uri);
  return isPromiseLike(found) ? found.then((f) => applyFound(ctx, env, f)) : applyFound(ctx, env, found);
}

function applyFound(ctx: MsgContext, env: LookupEnv, found: UlContact[] | number): number {
  if (typeof found === 'number') return found;
  const cfg = env.cfg;
  const main = found[0];
  ctx.newUri = main.uri;
  ctx.dstUri = dstOf(main);
  ctx.ruriQ = main.q < 0 ? null : main.q / 1000;
  ctx.ruriPath = main.path;
  ctx.bflags |= main.cflags;
  if (cfg.natFlag !== null && (main.flags & FL_NAT) !== 0) ctx.flags |= 1 << cfg.natFlag;
  if (cfg.appendBranches) for (let i = 1; i < found.length; i++) ctx.branches.push(branchOf(found[i]));
  return CODES[cfg.dialect].found;
}

/**
 * K56 lookup_branches(): lookup() for the R-URI and for every branch that is still a plain
 * URI (no next hop, path or flags); such a branch is replaced by the bindings it resolves to.
 */
export async function lookupBranches(ctx: MsgContext, dom: UlDomain, env: LookupEnv): Promise<number> {
  const before = ctx.branches;
  ctx.branches = [];
  let rc = await lookup(ctx, dom, env, undefined);
  const out = ctx.branches;
  for (const b of before) {
    if (b.dstUri !== null || b.path !== null || b.flags !== 0) {
      out.push(b);
      continue;
    }
    const found = await usable(ctx, dom, env, b.uri);
    if (typeof found === 'number') {
      out.push(b);
      continue;
    }
    for (const c of found) out.push(branchOf(c));
    if (rc < 0) rc = 1;
  }
  ctx.branches = out;
  return rc;
}

/** true when the AOR has at least one valid binding; the message is not changed */
export async function registered(ctx: MsgContext, dom: UlDomain, env: LookupEnv, uri: string | undefined): Promise<number> {
  const aor = aorOf(ctx, env.cfg, uri);
  if (!aor) return -1;
  try {
    const now = env.now();
    return (await dom.get(aor)).some((c) => isValid(c, now)) ? 1 : -1;
  } catch {
    return -1;
  }
}

/** K56 unregister(): 1 done, -1 bad AOR, -2 usrloc error, -3 nothing to remove */
export async function unregister(ctx: MsgContext, dom: UlDomain, env: LookupEnv, uri: string, ruid: string | undefined): Promise<number> {
  const aor = aorOf(ctx, env.cfg, uri);
  if (!aor) return -1;
  try {
    return await dom.lock(aor, async () => {
      if (!ruid) {
        await dom.remove(aor);
        await dom.sync();
        return 1;
      }
      const c = (await dom.get(aor)).find((x) => x.ruid === ruid);
      if (!c) return -3;
      await dom.delete(c);
      await dom.sync();
      return 1;
    });
  } catch {
    return -2;
  }
}
