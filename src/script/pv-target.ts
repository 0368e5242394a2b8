// Module parameters that name a variable to write (dispatcher attrs_pvname, permissions
// peer_tag_avp, ...): parsed once at load, written per message like the core setters.
import type { PvValue } from '../core/module-api.js';
import type { MsgContext } from './context.js';

export type PvTarget = { kind: 'avp'; key: string } | { kind: 'var'; name: string };

/** "$avp(s:x)", "$avp(i:707)", "$avp(x)", "$var(x)" or a bare SER AVP name ("s:x", "i:707") */
export function parsePvName(text: string): PvTarget | null {
  const t = text.trim();
  const m = /^\$(avp|var)\(([^()]+)\)$/.exec(t);
  if (m) {
    const inner = m[2].trim();
    if (m[1] === 'var') return { kind: 'var', name: inner };
    return { kind: 'avp', key: inner.startsWith('s:') ? inner.slice(2) : inner };
  }
  if (/^(s:|i:)?[A-Za-z0-9_.]+$/.test(t)) return { kind: 'avp', key: t.startsWith('s:') ? t.slice(2) : t };
  return null;
}

export function checkPvName(text: string): string | null {
  return text === '' || parsePvName(text) ? null : `"${text}" is not an $avp(...) or $var(...) name`;
}

/** AVPs stack (a new value is added, the newest is read first); $var is overwritten */
export function writePv(ctx: MsgContext, t: PvTarget, v: PvValue): void {
  if (t.kind === 'var') {
    const vars = ctx.script.vars;
    vars.values[vars.slot(t.name)] = v === null ? 0 : v;
    return;
  }
  if (v === null) return;
  const m = (ctx.avps ??= new Map<string, PvValue[]>());
  const list = m.get(t.key);
  if (list) list.push(v);
  else m.set(t.key, [v]);
}
