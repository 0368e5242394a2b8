// Config front end: file -> preprocessed text -> AST, with syntax errors as diagnostics.
// The text is cut into top-level chunks (one item each, normally) that are parsed on their own,
// and a chunk with an error is repaired in place (insert a missing ';' or '}', blank the broken
// statement) and parsed again, so one file reports several independent mistakes.
import { readFileSync } from 'node:fs';
import type { ConfigFile, Loc, TopLevel } from './ast.js';
import { closest, type DiagnosticBag } from './diagnostics.js';
import { parse as peggyParse, SyntaxError as PeggySyntaxError, type Expectation } from './parser.generated.js';
import {
  CONFIG_CODES,
  LineIndex,
  createPreprocessState,
  preprocessText,
  pvEnd,
  stringEnd,
  type ConfigMode,
  type PreprocessState,
  type PreprocessedFile,
} from './preprocess.js';

export { CONFIG_CODES };

export interface ParseOptions {
  defines?: Map<string, string | true>;
  bag: DiagnosticBag;
  readFile?: (path: string) => string;
}

export interface ParsedConfig {
  ast: ConfigFile;
  mode: ConfigMode | null;
  modeLoc: Loc | null;
  /** every file read, main file first */
  files: string[];
  /** defines after preprocessing (command line + #!define) */
  defines: Map<string, string | true>;
}

const readUtf8 = (path: string): string => readFileSync(path, 'utf8');

/** null only if the file cannot be read (reported in the bag) */
export function parseConfigFile(path: string, opts: ParseOptions): ParsedConfig | null {
  const read = opts.readFile ?? readUtf8;
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    opts.bag.error(CONFIG_CODES.READ, `cannot read config file "${path}": ${why}`, null);
    return null;
  }
  return parseConfigText(text, path, opts);
}

export function parseConfigText(text: string, source: string, opts: ParseOptions): ParsedConfig | null {
  const st = createPreprocessState({ defines: opts.defines, bag: opts.bag, readFile: opts.readFile ?? readUtf8 });
  const pre = preprocessText(text, source, st);
  const items = parseFile(pre, st);
  const whole = new LineIndex(source, text).loc(0, text.length);
  return {
    ast: { kind: 'config', items, loc: whole },
    mode: st.mode,
    modeLoc: st.modeLoc,
    files: st.files,
    defines: st.defines,
  };
}

// ---------------------------------------------------------------- files and includes

function parseFile(pre: PreprocessedFile, st: PreprocessState): TopLevel[] {
  const own: Array<{ at: number; items: TopLevel[] }> = [];
  for (const [a, b] of splitChunks(pre.text)) {
    for (const item of parseChunk(pre, a, b, st.bag)) own.push({ at: item.loc.start.offset, items: [item] });
  }
  for (const site of pre.includes) {
    if (site.file === null) continue;
    const inside = own.find(
      ({ items: [it] }) => it && it.loc.source === pre.source && it.loc.start.offset < site.offset && site.offset < it.loc.end.offset,
    );
    if (inside) {
      st.bag.error(CONFIG_CODES.INCLUDE, 'include_file is only supported between top-level items, not inside a block', site.loc);
      continue;
    }
    own.push({ at: site.offset, items: parseFile(site.file, st) });
  }
  own.sort((x, y) => x.at - y.at);
  return own.flatMap((x) => x.items);
}

// ---------------------------------------------------------------- chunking

const ROUTE_START = /^(?:request_route|reply_route|onreply_route|failure_route|branch_route|onsend_route|event_route|route)\s*[[{]/;
const CONTINUATION_WORD = /^(?:advertise|name|virtual|desc)\b(?!\s*[=.])/;

/**
 * Cuts text into top-level chunks: a new chunk starts at a line opening a route block (even
 * inside an unclosed block, so a missing '}' stays local) or, at depth 0, at any line that does
 * not continue the previous item (so a junk line is a chunk of its own).
 */
function splitChunks(text: string): Array<[number, number]> {
  const starts = [0];
  let depth = 0;
  let paren = 0;
  let lastSig = '';
  let lineStart = true;
  // SER-2 `flags A : 1,\n B : 2;` runs over several lines up to its ';'
  let inDecl = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (lineStart) {
      lineStart = false;
      const rest = text.slice(i, i + 200);
      if (ROUTE_START.test(rest)) {
        if (i > 0) starts.push(i);
        depth = 0;
        paren = 0;
      } else if (
        depth === 0 && paren === 0 && !inDecl && !/[{,"'();=]/.test(c) &&
        !(lastSig !== '' && ',=(\\'.includes(lastSig)) && !CONTINUATION_WORD.test(rest)
      ) {
        if (i > 0) starts.push(i);
        inDecl = /^(?:flags|avpflags)\b(?!\s*=)/.test(rest);
      }
    }
    if (c === '"' || c === "'") {
      i = stringEnd(text, i).end;
      lastSig = '"';
      continue;
    }
    if (c === '$') {
      i = Math.max(i + 1, pvEnd(text, i));
      lastSig = ')';
      continue;
    }
    if (c === ';' && depth === 0) inDecl = false;
    if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
    else if (c === '(') paren++;
    else if (c === ')') paren = Math.max(0, paren - 1);
    lastSig = c;
    i++;
  }
  const out: Array<[number, number]> = [];
  for (let k = 0; k < starts.length; k++) {
    const a = starts[k];
    const b = k + 1 < starts.length ? starts[k + 1] : text.length;
    if (/\S/.test(text.slice(a, b))) out.push([a, b]);
  }
  return out;
}

// ---------------------------------------------------------------- parse + repair

const MAX_REPAIRS = 25;

function parseChunk(pre: PreprocessedFile, start: number, end: number, bag: DiagnosticBag): TopLevel[] {
  let buf = pre.text.slice(start, end);
  const locate = (a: number, b: number): Loc => pre.locate(start + a, start + b);
  let lastP = -1;
  for (let attempt = 0; attempt < MAX_REPAIRS; attempt++) {
    try {
      return peggyParse(buf, { grammarSource: pre.source, mapLoc: locate }).items;
    } catch (e) {
      if (e instanceof RangeError) {
        // the parser recurses per nesting level: hundreds of parentheses exhaust the stack
        const at = deepestParen(buf);
        bag.error(CONFIG_CODES.SYNTAX, 'expression nested too deeply', locate(at, at + 1), {
          help: 'split it into several conditions or use $var() for parts of it',
        });
        return [];
      }
      if (!(e instanceof PeggySyntaxError)) throw e;
      const p = e.location.start.offset;
      if (p <= lastP) return []; // a repair made no progress: drop the chunk quietly
      lastP = p;
      const r = repair(buf, p, e.expected ?? [], pre.text.slice(end, end + 60), locate);
      const at = pre.locate(start + p, start + p).start.offset;
      const poisoned = pre.poisoned.some(([a, b]) => at >= a && at <= b);
      if (!poisoned) bag.error(CONFIG_CODES.SYNTAX, r.message, r.loc, withQuoteHint(pre, start, at, r.extra));
      buf = r.buf;
    }
  }
  return [];
}

/** offset of the '(' that opens the deepest nesting level (quoted strings skipped) */
function deepestParen(text: string): number {
  let depth = 0;
  let max = 0;
  let at = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' && ++depth > max) {
      max = depth;
      at = i;
    } else if (c === ')') depth = Math.max(0, depth - 1);
  }
  return at;
}

/** a string spanning lines before the error is the usual sign of a missing closing quote */
function withQuoteHint(pre: PreprocessedFile, chunkStart: number, at: number, extra: Repair['extra']): Repair['extra'] {
  const from = pre.locate(chunkStart, chunkStart).start.offset;
  const q = pre.multiline.filter((o) => o >= from && o < at).pop();
  if (q === undefined || extra?.help !== undefined) return extra;
  const line = pre.original.slice(0, q).split('\n').length;
  return { ...extra, help: `the string opened at ${pre.source}:${line} runs over several lines; is a closing quote missing?` };
}

interface Repair {
  message: string;
  loc: Loc;
  extra?: { help?: string; notes?: { message: string; loc: Loc | null }[] };
  buf: string;
}

interface Structure {
  /** `;`, `{`, `}` outside strings and pseudo-variables */
  marks: Array<{ pos: number; ch: string }>;
  /** position of the `{` matching each `}` and vice versa */
  match: Map<number, number>;
}

function structure(buf: string): Structure {
  const marks: Structure['marks'] = [];
  const match = new Map<number, number>();
  const stack: number[] = [];
  let i = 0;
  while (i < buf.length) {
    const c = buf[i];
    if (c === '"' || c === "'") {
      i = stringEnd(buf, i).end;
      continue;
    }
    if (c === '$') {
      i = Math.max(i + 1, pvEnd(buf, i));
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      marks.push({ pos: i, ch: c });
      if (c === '{') stack.push(i);
      else if (c === '}') {
        const o = stack.pop();
        if (o !== undefined) {
          match.set(o, i);
          match.set(i, o);
        }
      }
    }
    i++;
  }
  return { marks, match };
}

function depthAt(s: Structure, p: number): { depth: number; open: number[] } {
  const open: number[] = [];
  for (const m of s.marks) {
    if (m.pos >= p) break;
    if (m.ch === '{') open.push(m.pos);
    else if (m.ch === '}') open.pop();
  }
  return { depth: open.length, open };
}

const blankRange = (buf: string, a: number, b: number): string =>
  buf.slice(0, a) + buf.slice(a, b).replace(/[^\n]/g, ' ') + buf.slice(b);
const putChar = (buf: string, at: number, ch: string): string => buf.slice(0, at) + ch + buf.slice(at + 1);

const ROUTE_KEYWORDS = [
  'route', 'request_route', 'reply_route', 'onreply_route', 'failure_route', 'branch_route',
  'onsend_route', 'event_route',
];

/** describes the error at `p` and returns the buffer changed so parsing can go on */
function repair(buf: string, p: number, expected: Expectation[], after: string, locate: (a: number, b: number) => Loc): Repair {
  const s = structure(buf);
  const { depth, open } = depthAt(s, p);
  let prevEnd = p;
  while (prevEnd > 0 && /\s/.test(buf[prevEnd - 1])) prevEnd--;
  const atEnd = !/\S/.test(buf.slice(p));
  const found = atEnd ? foundText(after) : foundText(buf.slice(p, p + 60));
  const labels = expectationLabels(expected);
  const gapHasNewline = buf.slice(prevEnd, p).includes('\n') || atEnd;

  // a '}' with no open block (a run of them is one mistake)
  if (buf[p] === '}' && depth === 0) {
    const run = /^[}\s]*\}/.exec(buf.slice(p))![0].length;
    return { message: "unexpected '}': no block is open here", loc: locate(p, p + 1), buf: blankRange(buf, p, p + run) };
  }

  // missing ';' at the end of a line
  const afterStmt = prevEnd > 0 && '{};'.includes(buf[prevEnd - 1]);
  if (labels.includes("';'") && prevEnd < p && gapHasNewline && depth > 0 && !afterStmt) {
    const what = buf[prevEnd - 1] === ')' ? 'function call' : 'statement';
    return {
      message: `expected ';' after ${what}, found ${found}`,
      loc: locate(prevEnd, prevEnd),
      extra: { help: "missing ';'? every statement ends with ';'" },
      buf: putChar(buf, prevEnd, ';'),
    };
  }

  // a block left open before the next route block / end of file
  if (atEnd && open.length > 0 && labels.includes("'}'")) {
    const o = open[0];
    const fixed = prevEnd < buf.length ? putChar(buf, prevEnd, '}') : buf + '}';
    return {
      message: `missing '}': this block is not closed before ${found}`,
      loc: locate(o, o + 1),
      extra: { notes: [{ message: "'}' expected here", loc: locate(prevEnd, prevEnd) }] },
      buf: fixed,
    };
  }

  // `foo_route[1] { ... }` at top level
  const head = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(buf.slice(0, p));
  if (depth === 0 && head && (buf[p] === '[' || buf[p] === '{')) {
    const name = head[1];
    const a = buf.indexOf(name);
    const guess = closest(name, ROUTE_KEYWORDS);
    return {
      message: `unknown route block keyword "${name}"`,
      loc: locate(a, a + name.length),
      extra: guess ? { help: `did you mean "${guess}"?` } : { help: `route blocks are: ${ROUTE_KEYWORDS.join(', ')}` },
      buf: blankRange(buf, 0, buf.length),
    };
  }

  const tokLen = Math.max(1, tokenLength(buf, p));
  const message = `${expectedPhrase(labels, depth === 0)}, found ${found}`;
  const loc = atEnd ? locate(prevEnd, prevEnd) : locate(p, p + tokLen);
  if (depth === 0) return { message, loc, buf: blankRange(buf, 0, buf.length) };
  return { message, loc, buf: blankStatement(buf, s, p) };
}

/** blanks the statement around `p`, whole compound statements included (if/else chains) */
function blankStatement(buf: string, s: Structure, p: number): string {
  let from = 0;
  for (const m of s.marks) {
    if (m.pos >= p) break;
    from = m.pos + 1;
  }
  let to = buf.length;
  const nextMark = (q: number): { pos: number; ch: string } | undefined => s.marks.find((m) => m.pos >= q);
  const m = nextMark(p);
  if (m) {
    if (m.ch === ';') to = m.pos + 1;
    else if (m.ch === '}') to = m.pos; // the statement is the last one of its block
    else {
      to = (s.match.get(m.pos) ?? buf.length - 1) + 1;
      // an `else` after the block belongs to the same statement
      for (;;) {
        const e = /^\s*else\b/.exec(buf.slice(to));
        if (!e) break;
        const n = nextMark(to + e[0].length);
        if (!n) {
          to = buf.length;
          break;
        }
        to = n.ch === '{' ? (s.match.get(n.pos) ?? buf.length - 1) + 1 : n.pos + (n.ch === ';' ? 1 : 0);
        if (n.ch !== '{') break;
      }
    }
  }
  if (!/\S/.test(buf.slice(from, to))) return putChar(buf, p, ' ');
  return blankRange(buf, from, to);
}

function tokenLength(buf: string, p: number): number {
  const c = buf[p];
  if (c === '"' || c === "'") {
    const e = stringEnd(buf, p);
    return e.end - p;
  }
  const m = /^(?:[A-Za-z0-9_.]+|\$[A-Za-z_]*|==|!=|=~|&&|\|\||<=|>=)/.exec(buf.slice(p));
  return m ? m[0].length : 1;
}

function foundText(rest: string): string {
  const t = rest.replace(/^\s+/, '');
  if (t.length === 0) return 'end of file';
  if (t[0] === '"' || t[0] === "'") {
    const e = stringEnd(t, 0);
    const str = t.slice(0, e.end);
    return str.length > 24 ? `string ${str.slice(0, 20)}..."` : `string ${str}`;
  }
  const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t)?.[0] ?? /^[0-9][A-Za-z0-9_.]*/.exec(t)?.[0];
  if (w !== undefined) return `'${w}'`;
  return `'${t[0]}'`;
}

// words a reader thinks of as "an expression"
const OPERAND_LABELS = new Set([
  'number', 'string', 'pseudo-variable', 'identifier', 'IP address', 'socket', 'select', "'('",
  "'!'", "'not'", "'~'", "'-'", "'defined'", "'$null'", "'msg:len'", "'uri:'", "'%'", 'yes/no',
]);

const STATEMENT_LABELS = new Set([
  "'if'", "'switch'", "'while'", "'break'", "'exit'", "'drop'", "'return'", "'route'", "'{'", "';'",
]);

const ORDER = ["';'", "')'", "'}'", "']'", "','", "':'", "'='", "'{'", "'('"];

function expectationLabels(expected: Expectation[]): string[] {
  const out: string[] = [];
  for (const e of expected) {
    let label: string | null = null;
    if (e.type === 'literal') label = `'${e.text}'`;
    else if (e.type === 'other') label = e.description;
    else if (e.type === 'end') label = 'end of file';
    if (label !== null && !out.includes(label)) out.push(label);
  }
  if (out.includes("'if'")) {
    // at the start of a statement
    return [...out.filter((l) => !STATEMENT_LABELS.has(l) && !OPERAND_LABELS.has(l)), 'a statement'];
  }
  if (out.includes('number') || out.includes('pseudo-variable')) {
    const rest = out.filter((l) => !OPERAND_LABELS.has(l));
    return [...rest, 'an expression'];
  }
  return out;
}

function expectedPhrase(labels: string[], topLevel: boolean): string {
  if (topLevel && labels.includes("'loadmodulex'")) {
    return 'expected a top-level statement (name = value, loadmodule, modparam or a route block)';
  }
  if (topLevel && labels.includes("'='")) return "expected '=' after the parameter name";
  const sorted = [...labels].sort((a, b) => rank(a) - rank(b));
  const shown = sorted.filter((l) => l !== 'end of file' || sorted.length === 1).slice(0, 4);
  if (shown.length === 0) return 'syntax error';
  if (shown.length === 1) return `expected ${shown[0]}`;
  return `expected ${shown.slice(0, -1).join(', ')} or ${shown[shown.length - 1]}`;
}

function rank(label: string): number {
  const i = ORDER.indexOf(label);
  if (i >= 0) return i;
  if (label === 'an expression' || label === 'a statement') return ORDER.length;
  return ORDER.length + 1 + (label === 'operator' ? 1 : 0);
}
