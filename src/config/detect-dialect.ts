// Decide whether a script is SER 0.9 or Kamailio 5.x: the mode line first, then clues in
// the script itself, then the --dialect flag, else Kamailio.
import type * as A from './ast.js';
import type { DialectChoice, Dialect } from '../core/dialect.js';
import { coreParams } from './core-params.js';
import { locText } from './diagnostics.js';

function breakOutsideLoop(stmts: A.Stmt[], inLoop: boolean): A.Stmt | null {
  for (const s of stmts) {
    const found = stmtBreak(s, inLoop);
    if (found) return found;
  }
  return null;
}

function stmtBreak(s: A.Stmt, inLoop: boolean): A.Stmt | null {
  switch (s.kind) {
    case 'break':
      return inLoop ? null : s;
    case 'block':
      return breakOutsideLoop(s.body, inLoop);
    case 'if':
      return stmtBreak(s.then, inLoop) ?? (s.else ? stmtBreak(s.else, inLoop) : null);
    case 'while':
      return stmtBreak(s.body, true);
    case 'switch':
      for (const c of s.cases) {
        const f = breakOutsideLoop(c.body, true);
        if (f) return f;
      }
      return null;
    default:
      return null;
  }
}

export function detectDialect(
  ast: A.ConfigFile,
  mode: string | null,
  override: Dialect | null,
): DialectChoice {
  if (mode === 'SER') return { dialect: 'ser', reason: 'the #!SER mode line' };
  if (mode === 'KAMAILIO' || mode === 'OPENSER')
    return { dialect: 'kamailio', reason: `the #!${mode} mode line` };
  for (const item of ast.items) {
    if (item.kind === 'global_param' && coreParams[item.name]?.ser)
      return { dialect: 'ser', reason: `SER-only parameter "${item.name}" at ${locText(item.loc)}` };
    if (item.kind === 'loadmodule' && /\/ser\/modules\//.test(item.path))
      return { dialect: 'ser', reason: `SER module path "${item.path}" at ${locText(item.loc)}` };
  }
  for (const item of ast.items) {
    if (item.kind === 'route_block') {
      if (item.keyword === 'request_route' || item.routeKind === 'branch' || item.routeKind === 'event')
        return { dialect: 'kamailio', reason: `Kamailio route block "${item.keyword}" at ${locText(item.loc)}` };
      const b = breakOutsideLoop(item.body.body, false);
      if (b) return { dialect: 'ser', reason: `"break" outside a loop at ${locText(b.loc)} (SER 0.9 style)` };
    }
  }
  if (override) return { dialect: override, reason: `--dialect ${override}` };
  return { dialect: 'kamailio', reason: 'default (no mode line, no SER 0.9 clues)' };
}
