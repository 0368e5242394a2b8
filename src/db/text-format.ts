// Kamailio db_text file format (README.db_text §1.2): the first line declares the columns as
// `name(type[,attr])` separated by blanks (types int, double, str/string, blob, datetime;
// attrs auto, null); every other line is a row of ':'-separated fields, an empty field is
// NULL, and '\n' '\r' '\t' ':' '\\' and NUL are backslash-escaped.
import type { DbValue } from './db.js';
import type { ErrorCode } from '../core/errors.js';

export type TextType = 'int' | 'double' | 'string' | 'datetime';

export interface TextColumn {
  name: string;
  type: TextType;
  nullable: boolean;
  auto: boolean;
}

export class TextFormatError extends Error {
  readonly code: ErrorCode = 'TSER_E_DB_TEXT';
}

export function parseHeader(line: string): TextColumn[] {
  const out: TextColumn[] = [];
  for (const item of line.trim().split(/\s+/)) {
    if (!item) continue;
    const m = /^([^()\s]+)\(([A-Za-z]+)(?:,([A-Za-z]+))?\)$/.exec(item);
    if (!m) throw new TextFormatError(`bad column definition "${item}"`);
    const t = m[2].toLowerCase();
    const type: TextType | null =
      t === 'int' ? 'int' : t === 'double' ? 'double' : t === 'str' || t === 'string' || t === 'blob' ? 'string' : t === 'datetime' ? 'datetime' : null;
    if (!type) throw new TextFormatError(`unknown column type "${m[2]}" in "${item}"`);
    const attr = m[3]?.toLowerCase();
    if (attr !== undefined && attr !== 'auto' && attr !== 'null') throw new TextFormatError(`unknown column attribute "${m[3]}"`);
    if (attr === 'auto' && type !== 'int') throw new TextFormatError(`"auto" needs an int column: "${item}"`);
    out.push({ name: m[1], type, nullable: attr === 'null', auto: attr === 'auto' });
  }
  if (out.length === 0) throw new TextFormatError('empty column definition line');
  return out;
}

/** split a row on unescaped ':' and undo the escapes; null for empty fields */
export function splitRow(line: string): (string | null)[] {
  const out: (string | null)[] = [];
  let cur = '';
  let filled = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      const n = line[++i];
      cur += n === 'n' ? '\n' : n === 'r' ? '\r' : n === 't' ? '\t' : n === '0' ? '\0' : n;
      filled = true;
    } else if (c === ':') {
      out.push(filled ? cur : null);
      cur = '';
      filled = false;
    } else {
      cur += c;
      filled = true;
    }
  }
  out.push(filled ? cur : null);
  return out;
}

export function escapeField(s: string): string {
  return s.replace(/[\\:\n\r\t\0]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : c === '\0' ? '\\0' : `\\${c}`,
  );
}

/** a field's text as the column's value */
export function decodeField(col: TextColumn, text: string | null, lineNo: number): DbValue {
  if (text === null) {
    if (col.nullable) return null;
    // Kamailio writes empty strings as empty fields; an empty number is read as 0
    return col.type === 'string' ? '' : 0;
  }
  switch (col.type) {
    case 'string':
      return text;
    case 'int': {
      const n = Number(text.trim());
      if (!Number.isInteger(n)) throw new TextFormatError(`line ${lineNo}: column ${col.name}: "${text}" is not an integer`);
      return n;
    }
    case 'double': {
      const n = Number(text.trim());
      if (!Number.isFinite(n)) throw new TextFormatError(`line ${lineNo}: column ${col.name}: "${text}" is not a number`);
      return n;
    }
    case 'datetime': {
      const n = Number(text.trim());
      if (!Number.isFinite(n)) throw new TextFormatError(`line ${lineNo}: column ${col.name}: "${text}" is not a time_t`);
      return new Date(n * 1000);
    }
  }
}

/** a value as a field's text (unescaped) or null for an empty field */
export function encodeField(v: DbValue): string | null {
  if (v === null) return null;
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000));
  if (typeof v === 'number') return String(v);
  return v;
}

export function formatRow(cols: readonly TextColumn[], row: Record<string, DbValue>): string {
  return cols
    .map((c) => {
      const t = encodeField(row[c.name] ?? null);
      return t === null ? '' : escapeField(t);
    })
    .join(':');
}

export interface ParsedTable {
  header: string;
  columns: TextColumn[];
  rows: Record<string, DbValue>[];
}

export function parseTable(text: string): ParsedTable {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').replace(/\r$/, '');
  const columns = parseHeader(header);
  const rows: Record<string, DbValue>[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.length === 0) continue;
    const fields = splitRow(line);
    if (fields.length !== columns.length) {
      throw new TextFormatError(`line ${i + 1}: ${fields.length} fields, the header declares ${columns.length}`);
    }
    const row: Record<string, DbValue> = {};
    columns.forEach((c, k) => (row[c.name] = decodeField(c, fields[k], i + 1)));
    rows.push(row);
  }
  return { header, columns, rows };
}

export function formatTable(header: string, columns: readonly TextColumn[], rows: readonly Record<string, DbValue>[]): string {
  let out = `${header.trimEnd()} \n`;
  for (const r of rows) out += `${formatRow(columns, r)}\n`;
  return out;
}
