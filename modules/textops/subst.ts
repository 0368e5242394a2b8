// sed-like substitution expressions '/re/repl/flags' (Kamailio core re.c subst_parser):
// any separator but '\', flags i (icase), g (all matches), s ('.' matches newlines, ^/$ only
// at the ends). The replacement may use \0-\9, \n \r \t \\, \u (the current R-URI) and
// pseudo-variables, which are resolved against the running script's variables per message.
import { ArgError, arg, type ArgSpec } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { compileTransform, resolveCorePv, VarStore, type PvAccess, type PvRefSpec } from '../../src/script/pv.js';
import type { Script } from '../../src/script/script.js';
import { readPv } from '../../src/script/template.js';
import { compileRegex } from './regex.js';
import type { ErrorCode } from '../../src/core/errors.js';

type ReplPart = string | { ref: number } | { uri: true } | { pv: PvRefSpec };

export interface SubstExpr {
  readonly text: string;
  /** always compiled with 'g' so matches can be iterated; `all` says whether to use them all */
  readonly re: RegExp;
  readonly all: boolean;
  readonly repl: readonly ReplPart[];
}

/** a match list entry: where in the input, how long, and the text to put instead */
export interface Splice {
  start: number;
  end: number;
  text: string;
}

export class SubstError extends Error {
  readonly code: ErrorCode = 'TSER_E_BAD_SUBST';
}

export function parseSubst(s: string): SubstExpr {
  if (s.length < 3) throw new ArgError(`substitution "${s}" is too short (expected /re/repl/flags)`);
  const sep = s[0];
  if (sep === '\\') throw new ArgError(`invalid separator "\\" in "${s}"`);
  // the regex ends at the first separator not preceded by '\' (as Kamailio does)
  let i = 1;
  while (i < s.length && !(s[i] === sep && s[i - 1] !== '\\')) i++;
  if (i >= s.length) throw new ArgError(`no separator "${sep}" after the regular expression in "${s}"`);
  // an escaped separator stays escaped: `\/` and `\|` are literal in JS regexes too
  const reSrc = s.slice(1, i);
  const { parts, end } = parseRepl(s, i + 1, sep);
  let all = false;
  let flags = 'm';
  for (const f of s.slice(end + 1)) {
    if (f === 'i') flags += flags.includes('i') ? '' : 'i';
    else if (f === 'g') all = true;
    else if (f === 's') flags = flags.replace('m', '') + (flags.includes('s') ? '' : 's');
    else throw new ArgError(`unknown flag "${f}" in "${s}" (expected i, g or s)`);
  }
  const re = compileRegex(reSrc, flags + 'g');
  return { text: s, re, all, repl: parts };
}

function parseRepl(s: string, start: number, sep: string): { parts: ReplPart[]; end: number } {
  const parts: ReplPart[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push(lit);
    lit = '';
  };
  let i = start;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) throw new ArgError(`dangling "\\" in the replacement of "${s}"`);
      if (n >= '0' && n <= '9') {
        flush();
        parts.push({ ref: n.charCodeAt(0) - 48 });
      } else if (n === 'u') {
        flush();
        parts.push({ uri: true });
      } else if (n === 'n') lit += '\n';
      else if (n === 'r') lit += '\r';
      else if (n === 't') lit += '\t';
      else lit += n; // \\, \$, \<sep> and unknown escapes: the character itself
      i += 2;
      continue;
    }
    if (c === '$') {
      const pv = readPv(s, i);
      if (!pv) throw new ArgError(`bad pseudo-variable in the replacement of "${s}" at "${s.slice(i, i + 12)}"`);
      checkPv(pv.spec, s);
      flush();
      parts.push({ pv: pv.spec });
      i = pv.end;
      continue;
    }
    if (c === sep) {
      flush();
      return { parts, end: i };
    }
    lit += c;
    i++;
  }
  throw new ArgError(`missing closing separator "${sep}" in "${s}"`);
}

/** reject PVs the core cannot resolve, at load time */
function checkPv(spec: PvRefSpec, s: string): void {
  let ok: PvAccess | null;
  try {
    ok = resolveCorePv(spec, new VarStore());
    for (const t of spec.transforms) compileTransform(t);
  } catch (e) {
    throw new ArgError(`${(e as Error).message} (in "${s}")`);
  }
  if (!ok) throw new ArgError(`pseudo-variable ${spec.text} cannot be used in a substitution (only core variables can)`);
}

/** argument kind for subst-style expressions; 'regex' kind keeps `$` unexpanded */
export function substArg(): ArgSpec<SubstExpr> {
  return arg.custom<SubstExpr>('regex', (s) => parseSubst(s));
}

// PV getters are per script (a $var slot belongs to one script's VarStore)
const pvCache = new WeakMap<Script, Map<string, (ctx: MsgContext) => unknown>>();

function pvValue(ctx: MsgContext, spec: PvRefSpec): string {
  let m = pvCache.get(ctx.script);
  if (!m) pvCache.set(ctx.script, (m = new Map<string, (ctx: MsgContext) => unknown>()));
  let get = m.get(spec.text);
  if (!get) {
    const acc = resolveCorePv(spec, ctx.script.vars);
    const trs = spec.transforms.map(compileTransform);
    get = (c) => {
      let v = acc ? acc.get(c) : null;
      for (const t of trs) v = t(v);
      return v;
    };
    m.set(spec.text, get);
  }
  let v: unknown;
  try {
    v = get(ctx);
  } catch {
    v = null;
  }
  return v === null || v === undefined ? '' : String(v);
}

function build(se: SubstExpr, m: RegExpExecArray, ctx: MsgContext | null): string {
  let out = '';
  for (const p of se.repl) {
    if (typeof p === 'string') out += p;
    else if ('ref' in p) out += m[p.ref] ?? '';
    else if ('uri' in p) out += ctx && ctx.msg.isRequest ? ctx.ruri : '';
    else out += ctx ? pvValue(ctx, p.pv) : '';
  }
  return out;
}

/**
 * The matches of se in input with their replacements (first only unless 'g'). An empty
 * match is an error, as in Kamailio ("Matched string is empty, invalid regexp?").
 */
export function substMatches(se: SubstExpr, input: string, ctx: MsgContext | null): Splice[] {
  const re = se.re;
  re.lastIndex = 0;
  const out: Splice[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(input)) !== null) {
    if (m[0].length === 0) throw new SubstError(`substitution ${se.text} matched an empty string`);
    out.push({ start: m.index, end: m.index + m[0].length, text: build(se, m, ctx) });
    if (!se.all) break;
  }
  return out;
}

export function applySplices(input: string, splices: readonly Splice[]): string {
  let out = '';
  let pos = 0;
  for (const s of splices) {
    out += input.slice(pos, s.start) + s.text;
    pos = s.end;
  }
  return out + input.slice(pos);
}

/** substituted string, or null when nothing matched */
export function substString(se: SubstExpr, input: string, ctx: MsgContext | null): string | null {
  const sp = substMatches(se, input, ctx);
  return sp.length === 0 ? null : applySplices(input, sp);
}
