// Config diagnostics: one type for syntax and semantic problems, collected in a bag so a
// load reports every error at once, and one formatter (rustc/peggy style with a caret line).
import type { Loc } from './ast.js';
import type { ErrorCode } from '../core/errors.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** stable code from the table in src/core/errors.ts */
  code: ErrorCode;
  message: string;
  loc: Loc | null;
  notes?: { message: string; loc: Loc | null }[];
  help?: string;
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  /** source texts by file name, for caret snippets */
  readonly sources = new Map<string, string>();

  error(code: ErrorCode, message: string, loc: Loc | null, extra?: { help?: string; notes?: Diagnostic['notes'] }): void {
    this.items.push({ severity: 'error', code, message, loc, ...extra });
  }
  warning(code: ErrorCode, message: string, loc: Loc | null, extra?: { help?: string; notes?: Diagnostic['notes'] }): void {
    this.items.push({ severity: 'warning', code, message, loc, ...extra });
  }
  info(code: ErrorCode, message: string, loc: Loc | null): void {
    this.items.push({ severity: 'info', code, message, loc });
  }
  get errorCount(): number {
    let n = 0;
    for (const d of this.items) if (d.severity === 'error') n++;
    return n;
  }
  get hasErrors(): boolean {
    return this.errorCount > 0;
  }
  errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }
  /** all diagnostics formatted, errors and warnings (info only when verbose) */
  format(verbose = false): string {
    return this.items
      .filter((d) => verbose || d.severity !== 'info')
      .map((d) => formatDiagnostic(d, this.sources))
      .join('\n');
  }
}

/** `file:line:col` */
export function locText(loc: Loc | null): string {
  if (!loc) return '<unknown>';
  return `${loc.source}:${loc.start.line}:${loc.start.column}`;
}

export function formatDiagnostic(d: Diagnostic, sources: Map<string, string>): string {
  const out: string[] = [`${d.severity}[${d.code}]: ${d.message}`];
  if (d.loc) out.push(...snippet(d.loc, sources));
  for (const n of d.notes ?? []) {
    out.push(`note: ${n.message}`);
    if (n.loc) out.push(...snippet(n.loc, sources));
  }
  if (d.help) out.push(`help: ${d.help}`);
  return out.join('\n');
}

function snippet(loc: Loc, sources: Map<string, string>): string[] {
  const lines = [` --> ${locText(loc)}`];
  const text = sources.get(loc.source);
  if (text === undefined) return lines;
  const srcLines = text.split(/\r?\n/);
  const lineText = srcLines[loc.start.line - 1];
  if (lineText === undefined) return lines;
  const gutter = String(loc.start.line).length;
  const pad = ' '.repeat(gutter);
  const endCol = loc.end.line === loc.start.line ? Math.max(loc.end.column, loc.start.column + 1) : lineText.length + 1;
  const width = Math.max(1, endCol - loc.start.column);
  // tabs keep their width in the underline so the caret lines up
  const lead = lineText.slice(0, loc.start.column - 1).replace(/[^\t]/g, ' ');
  lines.push(`${pad} |`);
  lines.push(`${loc.start.line} | ${lineText}`);
  lines.push(`${pad} | ${lead}${'^'.repeat(width)}`);
  return lines;
}

/** Levenshtein distance, for "did you mean" suggestions */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** the closest candidate within a small distance, or null */
export function closest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return best !== null && bestD <= limit ? best : null;
}
