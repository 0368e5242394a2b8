// loose_route(): RFC 3261 §16.4 (Route processing) and §16.12 (strict-router interop).
import type { MsgContext } from '../../src/script/context.js';
import { parseUri, splitHeaderValues } from '../../src/sip/index.js';
import type { SipUri } from '../../src/sip/types.js';

function uriOfRoute(entry: string): string {
  const lt = entry.indexOf('<');
  const gt = entry.indexOf('>', lt + 1);
  return lt >= 0 && gt > lt ? entry.slice(lt + 1, gt) : entry.trim().split(';')[0];
}

function hasLr(u: SipUri | null): boolean {
  return !!u && u.params.some(([k]) => k.toLowerCase() === 'lr');
}

function isMine(ctx: MsgContext, u: SipUri | null): boolean {
  return !!u && ctx.core.isMyself(u.host, u.port);
}

/** all Route entries in order, each as its header text */
function routeEntries(ctx: MsgContext): string[] {
  return ctx.msg.headersNamed('route').flatMap((h) => splitHeaderValues(h.newValue ?? h.value));
}

/** rewrite the Route set: one header with the remaining entries (or none) */
function setRoutes(ctx: MsgContext, entries: string[]): void {
  const hfs = ctx.msg.headersNamed('route');
  const first = hfs[0];
  hfs.forEach((h, i) => {
    if (i > 0) ctx.msg.removeHeader(h);
  });
  if (!first) {
    if (entries.length) ctx.msg.appendHeader(`Route: ${entries.join(', ')}`);
    return;
  }
  if (entries.length === 0) ctx.msg.removeHeader(first);
  else ctx.msg.setHeaderValue(first, entries.join(', '));
}

export function looseRoute(ctx: MsgContext): number {
  let entries = routeEntries(ctx);
  const ruri = ctx.ruriUri();
  // §16.4: the R-URI is a value we put into Record-Route: the previous hop was a strict
  // router. The real target is the last Route entry.
  if (entries.length > 0 && ruri && isMine(ctx, ruri) && (hasLr(ruri) || ruri.user === null)) {
    const last = entries[entries.length - 1];
    ctx.newUri = uriOfRoute(last);
    entries = entries.slice(0, -1);
    setRoutes(ctx, entries);
    ctx.setExt('rr.ftag', ruri.params.find(([k]) => k === 'ftag')?.[1] ?? null);
    if (entries.length === 0) return 1;
  }
  if (entries.length === 0) return -1;
  const firstUri = parseUri(uriOfRoute(entries[0]));
  if (!isMine(ctx, firstUri)) {
    // preloaded route to someone else: next hop is that route
    ctx.dstUri = uriOfRoute(entries[0]);
    return hasToTag(ctx) ? 1 : -3;
  }
  ctx.setExt('rr.ftag', firstUri!.params.find(([k]) => k === 'ftag')?.[1] ?? null);
  entries = entries.slice(1);
  // double Record-Route: our second entry (other transport/interface) follows
  if (entries.length > 0 && isMine(ctx, parseUri(uriOfRoute(entries[0])))) entries = entries.slice(1);
  setRoutes(ctx, entries);
  ctx.setExt('rr.routeParams', firstUri!.params);
  if (entries.length === 0) {
    // only our own Route: an out-of-dialog request "preloaded" to us is not loose-routed
    return hasToTag(ctx) ? 1 : -1;
  }
  const nextUriText = uriOfRoute(entries[0]);
  const next = parseUri(nextUriText);
  if (hasLr(next)) {
    ctx.dstUri = nextUriText;
    return 1;
  }
  // §16.12: next hop is a strict router: it goes into the R-URI, the old R-URI last
  const oldRuri = ctx.ruri;
  ctx.newUri = nextUriText;
  setRoutes(ctx, [...entries.slice(1), `<${oldRuri}>`]);
  return 1;
}

function hasToTag(ctx: MsgContext): boolean {
  try {
    return !!ctx.msg.to().tag;
  } catch {
    return false;
  }
}
