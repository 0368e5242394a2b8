// The textops operations on a message: search, replace, search_append and subst over the
// headers+body text, the body alone, one header name, the R-URI and its user part.
// Return codes as Kamailio textops: 1 when something matched/changed, -1 otherwise.
import { Ret, Route } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { formatUri, parseUri } from '../../src/sip/index.js';
import type { SipMessage } from '../../src/sip/message.js';
import { applyToMessage, currentBody, headerValue, view, wholeText } from './message-text.js';
import { globalOf } from './regex.js';
import { applySplices, substMatches, SubstError, substString, type Splice, type SubstExpr } from './subst.js';

/** the message a text function works on: the reply in reply routes, else the request */
export function target(ctx: MsgContext): SipMessage {
  return ctx.routeType & (Route.ONREPLY | Route.REPLY) ? (ctx.reply ?? ctx.msg) : ctx.msg;
}

function matchesOf(re: RegExp, text: string, all: boolean, repl: (m: RegExpExecArray) => string, insertAfter = false): Splice[] {
  const g = globalOf(re);
  g.lastIndex = 0;
  const out: Splice[] = [];
  let m: RegExpExecArray | null;
  while ((m = g.exec(text)) !== null) {
    if (m[0].length === 0) {
      g.lastIndex++; // an empty match replaces nothing; move on
      continue;
    }
    const end = m.index + m[0].length;
    out.push(insertAfter ? { start: end, end, text: repl(m) } : { start: m.index, end, text: repl(m) });
    if (!all) break;
  }
  return out;
}

export function search(ctx: MsgContext, re: RegExp): number {
  re.lastIndex = 0;
  return re.test(wholeText(target(ctx))) ? Ret.OK : Ret.FALSE;
}

export function searchBody(ctx: MsgContext, re: RegExp): number {
  re.lastIndex = 0;
  return re.test(currentBody(target(ctx))) ? Ret.OK : Ret.FALSE;
}

export function searchHf(ctx: MsgContext, name: string, re: RegExp, flags: string): number {
  const list = target(ctx).headersNamed(name).filter((h) => !h.removed);
  const pick = flags === 'f' ? list.slice(0, 1) : flags === 'l' ? list.slice(-1) : list;
  for (const hf of pick) {
    re.lastIndex = 0;
    if (re.test(headerValue(hf))) return Ret.OK;
  }
  return Ret.FALSE;
}

/** which part of the message a replace/subst covers */
export type Part = 'all' | 'headers' | 'body';

function editText(ctx: MsgContext, part: Part, find: (text: string) => Splice[]): number {
  const msg = target(ctx);
  const v = view(msg);
  if (part === 'body') {
    const sp = find(v.body);
    if (sp.length === 0) return Ret.FALSE;
    msg.setBody(applySplices(v.body, sp));
    return Ret.OK;
  }
  const text = part === 'headers' ? v.text.slice(0, v.hdrEnd) : v.text;
  const sp = find(text);
  if (sp.length === 0) return Ret.FALSE;
  return applyToMessage(msg, v, sp, ctx.log) > 0 ? Ret.OK : Ret.FALSE;
}

export function replace(ctx: MsgContext, part: Part, re: RegExp, txt: string, all: boolean): number {
  return editText(ctx, part, (t) => matchesOf(re, t, all, () => txt));
}

export function replaceStr(ctx: MsgContext, part: Part, match: string, repl: string, mode: string): number {
  if (match === '') return Ret.FALSE;
  const all = mode === 'a';
  return editText(ctx, part, (t) => {
    const out: Splice[] = [];
    let i = t.indexOf(match);
    while (i >= 0) {
      out.push({ start: i, end: i + match.length, text: repl });
      if (!all) break;
      i = t.indexOf(match, i + match.length);
    }
    return out;
  });
}

export function searchAppend(ctx: MsgContext, part: Part, re: RegExp, txt: string): number {
  return editText(ctx, part, (t) => matchesOf(re, t, false, () => txt, true));
}

function substSafe(ctx: MsgContext, se: SubstExpr, input: string): Splice[] {
  try {
    return substMatches(se, input, ctx);
  } catch (e) {
    if (!(e instanceof SubstError)) throw e;
    ctx.log.error({ subst: se.text }, e.message);
    return [];
  }
}

export function subst(ctx: MsgContext, part: Part, se: SubstExpr): number {
  return editText(ctx, part, (t) => substSafe(ctx, se, t));
}

export function substHf(ctx: MsgContext, name: string, se: SubstExpr, flags: string): number {
  const msg = target(ctx);
  const list = msg.headersNamed(name).filter((h) => !h.removed);
  const pick = flags === 'f' ? list.slice(0, 1) : flags === 'l' ? list.slice(-1) : list;
  let n = 0;
  for (const hf of pick) {
    const cur = headerValue(hf);
    const sp = substSafe(ctx, se, cur);
    if (sp.length === 0) continue;
    msg.setHeaderValue(hf, applySplices(cur, sp));
    n++;
  }
  return n > 0 ? Ret.OK : Ret.FALSE;
}

export function substUri(ctx: MsgContext, se: SubstExpr): number {
  if (!ctx.msg.isRequest) return Ret.FALSE;
  let out: string | null;
  try {
    out = substString(se, ctx.ruri, ctx);
  } catch (e) {
    ctx.log.error({ subst: se.text }, (e as Error).message);
    return Ret.FALSE;
  }
  if (out === null) return Ret.FALSE;
  ctx.newUri = out;
  return Ret.OK;
}

export function substUser(ctx: MsgContext, se: SubstExpr): number {
  if (!ctx.msg.isRequest) return Ret.FALSE;
  const u = parseUri(ctx.ruri);
  if (!u) {
    ctx.log.warn({ ruri: ctx.ruri }, 'subst_user: cannot parse the R-URI');
    return Ret.FALSE;
  }
  let out: string | null;
  try {
    out = substString(se, u.user ?? '', ctx);
  } catch (e) {
    ctx.log.error({ subst: se.text }, (e as Error).message);
    return Ret.FALSE;
  }
  if (out === null) return Ret.FALSE;
  u.user = out === '' ? null : out;
  ctx.newUri = formatUri(u);
  return Ret.OK;
}

export function hasBody(ctx: MsgContext, mime?: string): number {
  const msg = target(ctx);
  const body = currentBody(msg);
  if (body.length === 0) return Ret.FALSE;
  if (!mime) return Ret.OK;
  const want = mime.trim().toLowerCase();
  const ct = (msg.newContentType ?? msg.value('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (ct === want) return Ret.OK;
  // multipart bodies: look at the parts' own Content-Type lines
  if (ct.startsWith('multipart/')) {
    const re = /^content-type:\s*([^;\r\n]+)/gim;
    let m: RegExpExecArray | null;
    while ((m = re.exec(body)) !== null) if (m[1].trim().toLowerCase() === want) return Ret.OK;
  }
  return Ret.FALSE;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Date: %a, %d %b %Y %H:%M:%S GMT" (RFC 3261 §20.17) */
export function dateHeader(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `Date: ${DAYS[now.getUTCDay()]}, ${p(now.getUTCDate())} ${MONTHS[now.getUTCMonth()]} ${now.getUTCFullYear()} ` +
    `${p(now.getUTCHours())}:${p(now.getUTCMinutes())}:${p(now.getUTCSeconds())} GMT`
  );
}
