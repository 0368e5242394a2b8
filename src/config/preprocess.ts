// Kamailio-style config preprocessor: #!define family, #!ifdef sections, #!subst/#!substdef,
// #!defenv, mode lines (#!KAMAILIO ...), include_file/import_file. It produces text for the
// grammar in which comments, directives and disabled sections are blanked (newlines kept) and
// define names are replaced by their values; an offset map takes every parser offset back to
// the original file, so diagnostics point at the real file:line:col.
import { dirname, isAbsolute, join } from 'node:path';
import type { Loc, Position } from './ast.js';
import type { DiagnosticBag } from './diagnostics.js';
import type { ErrorCode } from '../core/errors.js';

export type ConfigMode = 'SER' | 'KAMAILIO' | 'OPENSER' | 'MAXCOMPAT';

/** diagnostic codes reported by the config front end */
export const CONFIG_CODES = {
  SYNTAX: 'TSER_E_SYNTAX',
  PREPROC: 'TSER_E_PREPROC',
  /** unbalanced #!ifdef/#!endif: Kamailio only warns (pp_ifdef_level_check) */
  PREPROC_WARN: 'TSER_W_PREPROC',
  INCLUDE: 'TSER_E_INCLUDE',
  READ: 'TSER_E_CONFIG_READ',
} as const satisfies Record<string, ErrorCode>;

interface SubstRule {
  re: RegExp;
  repl: string;
}

export interface PreprocessState {
  defines: Map<string, string | true>;
  substs: SubstRule[];
  mode: ConfigMode | null;
  modeLoc: Loc | null;
  /** every file read, main file first */
  files: string[];
  bag: DiagnosticBag;
  readFile: (path: string) => string;
  env: Record<string, string | undefined>;
  includeStack: string[];
}

export function createPreprocessState(opts: {
  defines?: Map<string, string | true>;
  bag: DiagnosticBag;
  readFile: (path: string) => string;
  env?: Record<string, string | undefined>;
}): PreprocessState {
  return {
    defines: new Map(opts.defines ?? []),
    substs: [],
    mode: null,
    modeLoc: null,
    files: [],
    bag: opts.bag,
    readFile: opts.readFile,
    env: opts.env ?? process.env,
    includeStack: [],
  };
}

/** an include_file/import_file seen at `offset` of the including file's original text */
export interface IncludeSite {
  offset: number;
  loc: Loc;
  /** null when import_file skipped a missing file or the include failed */
  file: PreprocessedFile | null;
}

export interface PreprocessedFile {
  source: string;
  original: string;
  /** parse-ready text */
  text: string;
  includes: IncludeSite[];
  /** spans of unterminated strings: syntax errors right after them are consequences */
  poisoned: Array<[number, number]>;
  /** original offsets of strings that span lines (a missing quote shows up as one) */
  multiline: number[];
  /** location in the original file of the parse-text range [start, end) */
  locate(start: number, end: number): Loc;
}

// ---------------------------------------------------------------- locations

export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(
    readonly source: string,
    private readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  position(offset: number): Position {
    const off = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return { offset: off, line: lo + 1, column: off - this.starts[lo] + 1 };
  }
  loc(start: number, end: number): Loc {
    return { source: this.source, start: this.position(start), end: this.position(Math.max(start, end)) };
  }
}

/** maps offsets of the emitted text back to the original; copied spans map 1:1, replaced
 * spans (define values, rewritten strings) map to the whole original span */
class OffsetMap {
  private readonly outStart: number[] = [];
  private readonly outEnd: number[] = [];
  private readonly origStart: number[] = [];
  private readonly origEnd: number[] = [];
  private readonly exact: boolean[] = [];

  add(outStart: number, outLen: number, origStart: number, origLen: number, exact: boolean): void {
    const k = this.exact.length - 1;
    if (exact && k >= 0 && this.exact[k] && this.outEnd[k] === outStart && this.origEnd[k] === origStart) {
      this.outEnd[k] = outStart + outLen;
      this.origEnd[k] = origStart + origLen;
      return;
    }
    this.outStart.push(outStart);
    this.outEnd.push(outStart + outLen);
    this.origStart.push(origStart);
    this.origEnd.push(origStart + origLen);
    this.exact.push(exact);
  }

  toOrig(out: number, isEnd: boolean): number {
    const n = this.exact.length;
    if (n === 0) return 0;
    // last segment whose start is < out (end) or <= out (start)
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const s = this.outStart[mid];
      if (isEnd ? s < out : s <= out) lo = mid;
      else hi = mid - 1;
    }
    const i = lo;
    if (out >= this.outEnd[i]) return this.origEnd[i];
    if (out <= this.outStart[i]) return this.origStart[i];
    if (this.exact[i]) return this.origStart[i] + (out - this.outStart[i]);
    return isEnd ? this.origEnd[i] : this.origStart[i];
  }
}

// ---------------------------------------------------------------- scanner helpers

const isIdStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

const MODE_WORDS: Record<string, ConfigMode> = {
  KAMAILIO: 'KAMAILIO',
  SER: 'SER',
  OPENSER: 'OPENSER',
  MAXCOMPAT: 'MAXCOMPAT',
  ALL: 'MAXCOMPAT',
};

const DIRECTIVES = new Set([
  'define', 'def', 'trydef', 'redefine', 'redef', 'ifdef', 'ifndef', 'else', 'endif', 'subst',
  'substdef', 'substdefs', 'defenv', 'defenvs', 'trydefenv', 'trydefenvs', 'include_file',
  'import_file',
]);
const CONDITIONALS = new Set(['ifdef', 'ifndef', 'else', 'endif']);

/** end of a `$(...)`/`$name(...)` pseudo-variable starting at `i` (the `$`) */
export function pvEnd(s: string, i: number): number {
  let j = i + 1;
  if (s[j] === '(') return balancedEnd(s, j);
  while (j < s.length && /[A-Za-z0-9_.?$]/.test(s[j])) {
    if (s[j] === '$' || s[j] === '?') return j + 1;
    j++;
  }
  if (s[j] === '(') return balancedEnd(s, j);
  return j;
}

/** position after the `)` matching the `(` at `j`; stops at a newline when unbalanced */
function balancedEnd(s: string, j: number): number {
  let depth = 0;
  for (let k = j; k < s.length; k++) {
    const c = s[k];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return k + 1;
    } else if (c === '\n') return k;
  }
  return s.length;
}

/** end of a quoted string starting at `i` (strings may span lines); `closed` false at EOF */
export function stringEnd(s: string, i: number): { end: number; closed: boolean } {
  const q = s[i];
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (q === '"' && c === '\\') {
      j += 2;
      continue;
    }
    if (c === q) return { end: j + 1, closed: true };
    j++;
  }
  return { end: s.length, closed: false };
}

function lineEnd(s: string, i: number): number {
  const e = s.indexOf('\n', i);
  return e < 0 ? s.length : e;
}

/** `"/re/repl/flags"` with any delimiter; backslash escapes the delimiter */
function parseSubst(spec: string): { re: string; repl: string; flags: string } | null {
  if (spec.length < 2) return null;
  const d = spec[0];
  const parts: string[] = [];
  let cur = '';
  for (let i = 1; i < spec.length; i++) {
    const c = spec[i];
    if (c === '\\' && spec[i + 1] === d) {
      cur += d;
      i++;
    } else if (c === d) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  if (parts.length < 3) return null;
  return { re: parts[0], repl: parts[1], flags: parts[2] };
}

function applySubsts(text: string, rules: SubstRule[]): string {
  let t = text;
  for (const r of rules) {
    r.re.lastIndex = 0;
    // replacement uses POSIX-style \N back-references
    t = t.replace(r.re, (...m: unknown[]) =>
      r.repl.replace(/\\([0-9])/g, (_x, d: string) => {
        const g = m[Number(d)];
        return typeof g === 'string' ? g : '';
      }),
    );
  }
  return t;
}

// ---------------------------------------------------------------- the scanner

interface IfFrame {
  cond: boolean;
  elseSeen: boolean;
  loc: Loc;
}

class FileScanner {
  private readonly out: string[] = [];
  private outLen = 0;
  private readonly map = new OffsetMap();
  private pending = 0;
  private readonly ifs: IfFrame[] = [];
  private readonly includes: IncludeSite[] = [];
  private readonly poisoned: Array<[number, number]> = [];
  private readonly multiline: number[] = [];
  private readonly lines: LineIndex;

  constructor(
    private readonly src: string,
    private readonly source: string,
    private readonly st: PreprocessState,
  ) {
    this.lines = new LineIndex(source, src);
  }

  run(): PreprocessedFile {
    const s = this.src;
    let i = 0;
    if (s.charCodeAt(0) === 0xfeff) {
      this.blank(0, 1); // byte order mark
      i = 1;
    }
    while (i < s.length) {
      i = this.active() ? this.step(i) : this.skipLine(i);
    }
    this.flush(s.length);
    for (const f of this.ifs) this.st.bag.warning(CONFIG_CODES.PREPROC_WARN, 'missing #!endif for this #!ifdef', f.loc);
    const text = this.out.join('');
    const map = this.map;
    const lines = this.lines;
    return {
      source: this.source,
      original: s,
      text,
      includes: this.includes,
      poisoned: this.poisoned,
      multiline: this.multiline,
      locate: (start, end) => lines.loc(map.toOrig(start, false), map.toOrig(end, true)),
    };
  }

  // ---- emitting

  private flush(upTo: number): void {
    if (upTo > this.pending) this.emitCopy(this.pending, upTo);
    this.pending = Math.max(this.pending, upTo);
  }
  private emitCopy(a: number, b: number): void {
    this.out.push(this.src.slice(a, b));
    this.map.add(this.outLen, b - a, a, b - a, true);
    this.outLen += b - a;
  }
  private blank(a: number, b: number): void {
    this.flush(a);
    const t = this.src.slice(a, b).replace(/[^\n]/g, ' ');
    this.out.push(t);
    this.map.add(this.outLen, t.length, a, b - a, true);
    this.outLen += t.length;
    this.pending = b;
  }
  private replace(a: number, b: number, text: string): void {
    this.flush(a);
    this.out.push(text);
    this.map.add(this.outLen, text.length, a, b - a, false);
    this.outLen += text.length;
    this.pending = b;
  }

  private error(code: ErrorCode, message: string, loc: Loc): void {
    this.st.bag.error(code, message, loc);
  }
  private active(): boolean {
    return this.ifs.every((f) => f.cond);
  }

  // ---- normal text

  private step(i: number): number {
    const s = this.src;
    const c = s[i];
    const next = s[i + 1];
    if (c === '"' || c === "'") return this.string(i);
    if (c === '/' && next === '*') return this.blockComment(i);
    if (c === '/' && next === '/') {
      const e = lineEnd(s, i);
      this.blank(i, e);
      return e;
    }
    if (c === '#') {
      if (next === '!') return this.directive(i, i + 2);
      const e = lineEnd(s, i);
      this.blank(i, e);
      return e;
    }
    if (c === '!' && next === '!' && isIdStart(s[i + 2])) {
      const word = /^[A-Za-z_]+/.exec(s.slice(i + 2, i + 40))?.[0] ?? '';
      if (DIRECTIVES.has(word) || Object.hasOwn(MODE_WORDS, word)) return this.directive(i, i + 2);
    }
    if (c === '$') return pvEnd(s, i);
    if (c === '@' && isIdStart(next)) {
      let j = i + 1;
      while (j < s.length && /[A-Za-z0-9_.[\]]/.test(s[j])) j++;
      return j;
    }
    if (isIdStart(c) && !isIdChar(s[i - 1])) return this.ident(i);
    return i + 1;
  }

  private string(i: number): number {
    const s = this.src;
    const { end, closed } = stringEnd(s, i);
    if (!closed) {
      const eol = lineEnd(s, i);
      this.error(CONFIG_CODES.SYNTAX, 'unterminated string', this.lines.loc(i, eol));
      // the string ran to the end of the file; keep parsing the lines after it as code and
      // hide the error its stump causes
      const after = /\S/.exec(s.slice(eol))?.index;
      this.poisoned.push([i, after === undefined ? s.length : eol + after]);
      this.blank(i, eol);
      return eol;
    }
    if (s.slice(i, end).includes('\n')) this.multiline.push(i);
    if (this.st.substs.length > 0) {
      const q = s[i];
      const body = s.slice(i + 1, end - 1);
      const sub = applySubsts(body, this.st.substs);
      if (sub !== body) this.replace(i, end, q + sub + q);
    }
    return end;
  }

  private blockComment(i: number): number {
    const s = this.src;
    let depth = 0;
    let j = i;
    while (j < s.length) {
      if (s[j] === '/' && s[j + 1] === '*') {
        depth++;
        j += 2;
      } else if (s[j] === '*' && s[j + 1] === '/') {
        depth--;
        j += 2;
        if (depth === 0) break;
      } else j++;
    }
    if (depth > 0) this.error(CONFIG_CODES.SYNTAX, "unterminated comment: missing '*/'", this.lines.loc(i, i + 2));
    this.blank(i, j);
    return j;
  }

  private ident(i: number): number {
    const s = this.src;
    let j = i;
    while (isIdChar(s[j])) j++;
    const name = s.slice(i, j);
    if (name === 'include_file' || name === 'import_file') {
      const r = this.include(i, j, name === 'import_file');
      if (r !== null) return r;
    }
    const v = this.st.defines.get(name);
    if (typeof v === 'string') this.replace(i, j, expandValue(v, new Set([name]), this.st));
    return j;
  }

  // ---- directives

  /** `#!word` / `!!word` at `i`; `w` is where the word starts */
  private directive(i: number, w: number): number {
    const s = this.src;
    let j = w;
    while (isIdChar(s[j])) j++;
    const word = s.slice(w, j);
    const end = lineEnd(s, i);
    const rest = s.slice(j, end);
    if (Object.hasOwn(MODE_WORDS, word) && /^\s*$/.test(rest)) {
      if (this.st.mode === null) {
        this.st.mode = MODE_WORDS[word]!;
        this.st.modeLoc = this.lines.loc(i, j);
      }
      this.blank(i, end);
      return end;
    }
    if (CONDITIONALS.has(word)) {
      this.conditional(word, rest, i, j);
      this.blank(i, end);
      return end;
    }
    if (word === 'include_file' || word === 'import_file') {
      const r = this.include(i, j, word === 'import_file');
      if (r !== null) return r;
    }
    if (!DIRECTIVES.has(word)) {
      // Kamailio treats an unknown `#!word` as a comment
      this.blank(i, end);
      return end;
    }
    if (/^(define|def|trydef|redefine|redef)$/.test(word)) return this.define(word, i, j);
    const arg = rest.trim();
    const loc = this.lines.loc(i, end);
    if (word === 'subst' || word === 'substdef' || word === 'substdefs') this.subst(word, arg, loc);
    else this.defenv(word, arg, loc);
    this.blank(i, end);
    return end;
  }

  private conditional(word: string, rest: string, i: number, j: number): void {
    const loc = this.lines.loc(i, j);
    if (word === 'ifdef' || word === 'ifndef') {
      const name = /^\s+([A-Za-z0-9_]+)/.exec(rest)?.[1];
      if (name === undefined) this.error(CONFIG_CODES.PREPROC, `#!${word} needs a name`, loc);
      const defined = name !== undefined && this.st.defines.has(name);
      this.ifs.push({ cond: word === 'ifdef' ? defined : !defined, elseSeen: false, loc });
      return;
    }
    const top = this.ifs[this.ifs.length - 1];
    if (top === undefined) {
      this.st.bag.warning(CONFIG_CODES.PREPROC_WARN, `#!${word} without #!ifdef`, loc);
      return;
    }
    if (word === 'endif') {
      this.ifs.pop();
      return;
    }
    if (top.elseSeen) this.error(CONFIG_CODES.PREPROC, 'second #!else for the same #!ifdef', loc);
    top.elseSeen = true;
    top.cond = !top.cond;
  }

  private define(word: string, i: number, j: number): number {
    const s = this.src;
    // value runs to the end of line; a backslash before the newline continues it
    let k = j;
    let value = '';
    for (;;) {
      const e = lineEnd(s, k);
      const line = s.slice(k, e).replace(/\r$/, '');
      if (line.endsWith('\\') && e < s.length) {
        value += line.slice(0, -1) + '\n';
        k = e + 1;
        continue;
      }
      value += line;
      k = e;
      break;
    }
    const m = /^\s+([A-Za-z0-9_]+)(?:\s+([\s\S]*))?$/.exec(value);
    const loc = this.lines.loc(i, k);
    if (!m) {
      this.error(CONFIG_CODES.PREPROC, `#!${word} needs a name`, loc);
    } else {
      const name = m[1];
      const v = m[2]?.trim() ? m[2].trim() : true;
      const old = this.st.defines.get(name);
      if (old !== undefined && (word === 'trydef')) {
        // keep the first value
      } else if (old !== undefined && (word === 'define' || word === 'def') && old !== v) {
        this.error(CONFIG_CODES.PREPROC, `"${name}" is already defined; use #!redefine to change it`, loc);
      } else {
        this.st.defines.set(name, v);
      }
    }
    this.blank(i, k);
    return k;
  }

  private subst(word: string, arg: string, loc: Loc): void {
    const q = /^(["'])(.*)\1$/.exec(arg);
    const spec = q ? parseSubst(q[2]) : null;
    if (!spec) {
      this.error(CONFIG_CODES.PREPROC, `#!${word} expects "/regex/replacement/flags"`, loc);
      return;
    }
    let re: RegExp;
    try {
      re = new RegExp(spec.re, (spec.flags.includes('g') ? 'g' : '') + (spec.flags.includes('i') ? 'i' : ''));
    } catch (e) {
      this.error(CONFIG_CODES.PREPROC, `bad regular expression in #!${word}: ${(e as Error).message}`, loc);
      return;
    }
    this.st.substs.push({ re, repl: spec.repl });
    if (word === 'substdef') this.st.defines.set(spec.re, spec.repl);
    if (word === 'substdefs') this.st.defines.set(spec.re, `"${spec.repl}"`);
  }

  private defenv(word: string, arg: string, loc: Loc): void {
    const m = /^([A-Za-z0-9_]+)(?:\s*=\s*([A-Za-z0-9_]+))?$/.exec(arg);
    if (!m) {
      this.error(CONFIG_CODES.PREPROC, `#!${word} expects NAME or NAME=ENVVAR`, loc);
      return;
    }
    const name = m[1];
    const envName = m[2] ?? name;
    const v = this.st.env[envName];
    if (v === undefined) {
      if (!word.startsWith('try')) {
        this.error(CONFIG_CODES.PREPROC, `environment variable ${envName} is not set (#!${word})`, loc);
      }
      return;
    }
    this.st.defines.set(name, word.endsWith('s') ? `"${v}"` : v);
  }

  // ---- includes

  /** `include_file "path"` from `i`; the keyword ends at `j`. null when no path follows */
  private include(i: number, j: number, optional: boolean): number | null {
    const s = this.src;
    let k = j;
    while (s[k] === ' ' || s[k] === '\t') k++;
    if (s[k] !== '"' && s[k] !== "'") return null;
    const { end, closed } = stringEnd(s, k);
    if (!closed) return null;
    const rel = s.slice(k + 1, end - 1);
    const loc = this.lines.loc(i, end);
    const path = isAbsolute(rel) ? rel : join(dirname(this.source), rel);
    const site: IncludeSite = { offset: i, loc, file: null };
    this.includes.push(site);
    this.blank(i, end);
    if (this.st.includeStack.includes(path)) {
      this.error(CONFIG_CODES.INCLUDE, `include cycle: "${path}" includes itself`, loc);
      return end;
    }
    let text: string;
    try {
      text = this.st.readFile(path);
    } catch (e) {
      if (!optional) {
        const why = e instanceof Error ? e.message : String(e);
        this.error(CONFIG_CODES.INCLUDE, `cannot read included file "${rel}": ${why}`, loc);
      }
      return end;
    }
    site.file = preprocessText(text, path, this.st);
    return end;
  }

  // ---- disabled sections: only the conditionals matter

  private skipLine(i: number): number {
    const s = this.src;
    const e = lineEnd(s, i);
    const m = /^[ \t]*(#!|!!)([A-Za-z_]+)/.exec(s.slice(i, e));
    if (m && CONDITIONALS.has(m[2])) {
      const at = i + m[0].length - m[2].length - 2;
      const wEnd = at + 2 + m[2].length;
      this.conditional(m[2], s.slice(wEnd, e), at, wEnd);
    }
    this.blank(i, e);
    return e < s.length ? e + 1 : e;
  }
}

/** expands a define value: nested defines, subst rules on strings, comments dropped */
function expandValue(value: string, expanding: Set<string>, st: PreprocessState): string {
  let out = '';
  let i = 0;
  const s = value;
  while (i < s.length) {
    const c = s[i];
    if (c === '"' || c === "'") {
      const { end } = stringEnd(s, i);
      const body = s.slice(i + 1, end - 1);
      out += st.substs.length > 0 ? c + applySubsts(body, st.substs) + c : s.slice(i, end);
      i = end;
    } else if ((c === '/' && s[i + 1] === '/') || c === '#') {
      i = lineEnd(s, i);
    } else if (c === '/' && s[i + 1] === '*') {
      const e = s.indexOf('*/', i + 2);
      i = e < 0 ? s.length : e + 2;
      out += ' ';
    } else if (c === '$') {
      const e = pvEnd(s, i);
      out += s.slice(i, e);
      i = e;
    } else if (isIdStart(c) && !isIdChar(s[i - 1])) {
      let j = i;
      while (isIdChar(s[j])) j++;
      const name = s.slice(i, j);
      const v = st.defines.get(name);
      if (typeof v === 'string' && !expanding.has(name)) {
        out += expandValue(v, new Set([...expanding, name]), st);
      } else out += name;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** preprocesses one file's text with the shared state (defines flow on into includes and back) */
export function preprocessText(text: string, source: string, st: PreprocessState): PreprocessedFile {
  st.bag.sources.set(source, text);
  if (!st.files.includes(source)) st.files.push(source);
  st.includeStack.push(source);
  try {
    return new FileScanner(text, source, st).run();
  } finally {
    st.includeStack.pop();
  }
}
