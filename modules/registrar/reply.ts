// The REGISTER reply (RFC 3261 §10.3 step 8, Kamailio reply.c): 200 OK listing every current
// binding with its remaining expires, or the error with P-Registrar-Error, Min-Expires (423)
// and Retry-After (5xx, when configured).
import { Q_UNSPECIFIED, type UlContact } from '../usrloc/api.js';
import { remaining } from '../usrloc/contact.js';
import type { MsgContext } from '../../src/script/context.js';
import type { RegConfig } from './config.js';
import { reasonOf, type RegErrorInfo } from './errors.js';

function qText(q: number): string {
  if (q >= 1000) return '1';
  if (q <= 0) return '0';
  return `0.${String(q).padStart(3, '0').replace(/0+$/, '')}`;
}

/** `Contact: <uri>;q=0.5;expires=3600;received="sip:…", …` or null without bindings */
export function contactHeader(bindings: readonly UlContact[], now: number, cfg: RegConfig): string | null {
  if (bindings.length === 0) return null;
  const parts = bindings.map((c) => {
    let s = `<${c.uri}>`;
    if (c.q !== Q_UNSPECIFIED) s += `;q=${qText(c.q)}`;
    s += `;expires=${remaining(c, now)}`;
    if (cfg.receivedParam && c.received) s += `;${cfg.receivedParam}="${c.received}"`;
    if (c.instance) s += `;+sip.instance="${c.instance}"`;
    if (c.regId > 0) s += `;reg-id=${c.regId}`;
    return s;
  });
  return `Contact: ${parts.join(', ')}`;
}

/** headers of the reply for this outcome (error null = success) */
export function replyHeaders(
  cfg: RegConfig,
  err: RegErrorInfo | null,
  contact: string | null,
  path: string | null,
): { code: number; reason: string; headers: string[] } {
  const code = err ? err.code : 200;
  const headers: string[] = [];
  if (contact) headers.push(contact);
  if (!err && path && cfg.usePath && cfg.pathMode !== 0) headers.push(`Path: ${path}`);
  if (err) headers.push(`P-Registrar-Error: ${err.text}`);
  if (code === 423) headers.push(`Min-Expires: ${cfg.minExpires}`);
  if (code >= 500 && code < 600 && cfg.retryAfter > 0) headers.push(`Retry-After: ${cfg.retryAfter}`);
  return { code, reason: reasonOf(code), headers };
}

/** send it statelessly (plus headers the script added with append_to_reply); false on failure */
export async function sendRegReply(ctx: MsgContext, code: number, reason: string, headers: string[]): Promise<boolean> {
  const scriptHeaders = ctx.getExt<string[]>('core.replyHeaders') ?? [];
  const ok = await ctx.core.sendReply(ctx.msg, ctx.rcv, code, reason, { headers: [...scriptHeaders, ...headers] });
  if (ok) ctx.replied = true;
  return ok;
}
