// text:// driver: Kamailio db_text directories (one file per table) held in memory. Every
// change is written back at once, atomically (temp file + rename), so `tserctl` and a
// running tser can share the files; a file changed by someone else is re-read on next use.
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DbError, type Db, type DbQuery, type DbRow, type DbValue, type DbWhere } from './db.js';
import type { ColumnDef, TableDef } from './table-def.js';
import { tableDef, textColumn, textHeader } from './schema.js';
import { parseHeader, parseTable, formatTable, TextFormatError, type TextColumn } from './text-format.js';

interface Stamp {
  mtimeMs: number;
  size: number;
  ino: number;
}

interface Table {
  name: string;
  file: string;
  header: string;
  columns: TextColumn[];
  rows: DbRow[];
  stamp: Stamp | null;
  /** serializes writes of this table */
  writing: Promise<void>;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
let tmpSeq = 0;

function same(a: Stamp | null, b: Stamp): boolean {
  return a !== null && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/** db_text compares strings case-insensitively, as MySQL's default collation does */
function eq(a: DbValue, b: DbValue): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' && typeof b === 'string') return a.length === b.length && a.toLowerCase() === b.toLowerCase();
  return cmp(a, b) === 0;
}

function num(v: DbValue): number | null {
  if (v instanceof Date) return v.getTime() / 1000;
  if (typeof v === 'number') return v;
  if (v === null) return null;
  const n = Number(v);
  if (v.trim() !== '' && Number.isFinite(n)) return n;
  // 'YYYY-MM-DD HH:MM:SS' (MySQL DATETIME text, schema defaults) in local time, as time_t
  if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d$/.test(v)) {
    const d = new Date(v.replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return Math.floor(d.getTime() / 1000);
  }
  return null;
}

function cmp(a: DbValue, b: DbValue): number {
  const x = num(a);
  const y = num(b);
  if (x !== null && y !== null && (typeof a !== 'string' || typeof b !== 'string')) return x - y;
  const s = String(a instanceof Date ? a.getTime() / 1000 : a).toLowerCase();
  const t = String(b instanceof Date ? b.getTime() / 1000 : b).toLowerCase();
  return s < t ? -1 : s > t ? 1 : 0;
}

function matches(row: DbRow, where: DbWhere | undefined): boolean {
  if (!where) return true;
  for (const [col, cond] of Object.entries(where)) {
    const v = row[col] ?? null;
    if (cond !== null && typeof cond === 'object' && !(cond instanceof Date)) {
      if (cond.value === null) {
        if (cond.op !== '!=' || v === null) return false;
        continue;
      }
      if (v === null) return false;
      const c = cmp(v, cond.value);
      const ok =
        cond.op === '<' ? c < 0 : cond.op === '<=' ? c <= 0 : cond.op === '>' ? c > 0 : cond.op === '>=' ? c >= 0 : !eq(v, cond.value);
      if (!ok) return false;
    } else if (!eq(v, cond)) return false;
  }
  return true;
}

export class TextDb implements Db {
  readonly driver = 'text' as const;
  private readonly tables = new Map<string, Table>();
  private closed = false;

  constructor(
    readonly dir: string,
    readonly displayUrl: string,
    private readonly log: Logger,
  ) {}

  // ---- files ----

  private fileOf(name: string): string {
    if (!NAME.test(name) || name.includes('..')) throw new DbError('query', `bad table name "${name}"`);
    return join(this.dir, name);
  }

  private async statOf(file: string): Promise<Stamp | null> {
    try {
      const s = await stat(file);
      return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new DbError('down', `db_text: cannot stat ${file}: ${(e as Error).message}`);
    }
  }

  /** the table, (re)loaded when its file changed on disk; null when there is no file */
  private async load(name: string): Promise<Table | null> {
    if (this.closed) throw new DbError('down', `database ${this.displayUrl}: handle closed`);
    const file = this.fileOf(name);
    const cached = this.tables.get(name);
    if (cached) await cached.writing;
    const st = await this.statOf(file);
    if (st === null) {
      this.tables.delete(name);
      return null;
    }
    if (cached && same(cached.stamp, st)) return cached;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new DbError('down', `db_text: cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      const p = parseTable(text);
      const t: Table = { name, file, header: p.header, columns: p.columns, rows: p.rows, stamp: st, writing: Promise.resolve() };
      this.tables.set(name, t);
      if (cached) this.log.debug({ table: name }, 'db_text table changed on disk, reloaded');
      return t;
    } catch (e) {
      if (e instanceof TextFormatError) throw new DbError('query', `db_text ${file}: ${e.message}`);
      throw e;
    }
  }

  private async table(name: string): Promise<Table> {
    const t = await this.load(name);
    if (!t) throw new DbError('query', `db_text: table "${name}" does not exist in ${this.dir}`);
    return t;
  }

  /** write the table back: temp file in the same directory, then rename (atomic on POSIX) */
  private persist(t: Table): Promise<void> {
    const text = formatTable(t.header, t.columns, t.rows);
    const run = async () => {
      const tmp = `${t.file}.tmp-${process.pid}-${++tmpSeq}`;
      try {
        await writeFile(tmp, text, 'utf8');
        await rename(tmp, t.file);
        t.stamp = await this.statOf(t.file);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        this.tables.delete(t.name); // re-read from disk next time
        throw new DbError('down', `db_text: cannot write ${t.file}: ${(e as Error).message}`);
      }
    };
    const p = t.writing.then(run, run);
    t.writing = p.catch(() => undefined);
    return p;
  }

  // ---- values ----

  private column(t: Table, name: string): TextColumn {
    const c = t.columns.find((x) => x.name === name);
    if (!c) throw new DbError('query', `db_text: table "${t.name}" has no column "${name}"`);
    return c;
  }

  private coerce(t: Table, c: TextColumn, v: DbValue): DbValue {
    if (v === null) {
      if (c.nullable || c.auto) return null;
      throw new DbError('query', `db_text: column ${t.name}.${c.name} cannot be NULL`);
    }
    switch (c.type) {
      case 'string':
        return v instanceof Date ? v.toISOString().replace('T', ' ').slice(0, 19) : String(v);
      case 'datetime':
        if (v instanceof Date) return v;
        return new Date((num(v) ?? 0) * 1000);
      case 'int':
      case 'double': {
        const n = num(v);
        if (n === null) throw new DbError('query', `db_text: column ${t.name}.${c.name} takes a number, got "${String(v)}"`);
        return c.type === 'int' ? Math.trunc(n) : n;
      }
    }
  }

  /** a full row for insert: given values, else the Kamailio schema default, else ''/0/NULL */
  private fullRow(t: Table, row: DbRow): DbRow {
    for (const k of Object.keys(row)) this.column(t, k);
    const def = tableDef(t.name);
    const out: DbRow = {};
    for (const c of t.columns) {
      let v: DbValue | undefined = row[c.name];
      if (v === undefined || (v === null && c.auto)) {
        if (c.auto) {
          v = t.rows.reduce((m, r) => Math.max(m, Number(r[c.name] ?? 0)), 0) + 1;
        } else {
          const d = def?.columns.find((x) => x.name === c.name)?.default;
          v = d !== undefined ? d : c.nullable ? null : c.type === 'string' ? '' : 0;
        }
      }
      out[c.name] = this.coerce(t, c, v);
    }
    return out;
  }

  private project(row: DbRow, cols: readonly string[] | undefined): DbRow {
    if (!cols || cols.length === 0) return { ...row };
    const out: DbRow = {};
    for (const c of cols) out[c] = row[c] ?? null;
    return out;
  }

  // ---- Db ----

  async query(table: string, q: DbQuery = {}): Promise<DbRow[]> {
    const t = await this.table(table);
    for (const c of q.columns ?? []) this.column(t, c);
    for (const c of Object.keys(q.where ?? {})) this.column(t, c);
    let rows = t.rows.filter((r) => matches(r, q.where));
    if (q.orderBy) {
      const m = /^\s*(\S+)(?:\s+(asc|desc))?\s*$/i.exec(q.orderBy);
      if (!m) throw new DbError('query', `bad orderBy "${q.orderBy}"`);
      const col = this.column(t, m[1]).name;
      const dir = m[2]?.toLowerCase() === 'desc' ? -1 : 1;
      rows = [...rows].sort((a, b) => {
        const x = a[col] ?? null;
        const y = b[col] ?? null;
        if (x === null || y === null) return x === y ? 0 : x === null ? -dir : dir;
        return cmp(x, y) * dir;
      });
    }
    if (q.limit !== undefined) rows = rows.slice(0, Math.max(0, q.limit));
    return rows.map((r) => this.project(r, q.columns));
  }

  async insert(table: string, row: DbRow): Promise<void> {
    const t = await this.table(table);
    t.rows.push(this.fullRow(t, row));
    await this.persist(t);
  }

  async upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void> {
    const t = await this.table(table);
    const where: DbWhere = {};
    for (const k of keyColumns) where[k] = row[k] ?? null;
    const hit = t.rows.find((r) => matches(r, where));
    if (hit) {
      for (const [k, v] of Object.entries(row)) hit[k] = this.coerce(t, this.column(t, k), v);
    } else t.rows.push(this.fullRow(t, row));
    await this.persist(t);
  }

  async update(table: string, where: DbWhere, set: DbRow): Promise<number> {
    const t = await this.table(table);
    const cols = Object.keys(set).map((k) => this.column(t, k));
    for (const c of Object.keys(where)) this.column(t, c);
    let n = 0;
    for (const r of t.rows) {
      if (!matches(r, where)) continue;
      for (const c of cols) r[c.name] = this.coerce(t, c, set[c.name]);
      n++;
    }
    if (n > 0) await this.persist(t);
    return n;
  }

  async delete(table: string, where: DbWhere): Promise<number> {
    const t = await this.table(table);
    for (const c of Object.keys(where)) this.column(t, c);
    const before = t.rows.length;
    t.rows = t.rows.filter((r) => !matches(r, where));
    const n = before - t.rows.length;
    if (n > 0) await this.persist(t);
    return n;
  }

  async raw(): Promise<DbRow[]> {
    throw new DbError('unsupported', 'db_text has no SQL: raw queries need a mysql:// db_url');
  }

  async tableVersion(table: string): Promise<number | null> {
    const v = await this.load('version');
    if (!v) return null;
    const row = v.rows.find((r) => eq(r.table_name ?? null, table));
    if (!row) return null;
    const n = Number(row.table_version);
    return Number.isFinite(n) ? n : null;
  }

  async createTable(def: TableDef): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw new DbError('down', `db_text: cannot create ${this.dir}: ${(e as Error).message}`);
    }
    const file = this.fileOf(def.name);
    if ((await this.statOf(file)) !== null) throw new DbError('query', `db_text: table "${def.name}" already exists`);
    const header = textHeader(def);
    const t: Table = { name: def.name, file, header, columns: parseHeader(header), rows: [], stamp: null, writing: Promise.resolve() };
    this.tables.set(def.name, t);
    await this.persist(t);
  }

  async dropTable(name: string): Promise<void> {
    const file = this.fileOf(name);
    this.tables.delete(name);
    await unlink(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new DbError('down', `db_text: cannot remove ${file}: ${e.message}`);
    });
  }

  async tableColumns(name: string): Promise<string[] | null> {
    const t = await this.load(name);
    return t ? t.columns.map((c) => c.name) : null;
  }

  async addColumn(table: string, col: ColumnDef): Promise<void> {
    const t = await this.table(table);
    const def = textColumn(col);
    const [c] = parseHeader(def);
    t.header = `${t.header.trimEnd()} ${def}`;
    t.columns.push(c);
    const fill = col.default !== undefined ? col.default : c.nullable ? null : c.type === 'string' ? '' : 0;
    for (const r of t.rows) r[c.name] = this.coerce(t, c, fill);
    await this.persist(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.tables.values()].map((t) => t.writing));
    this.tables.clear();
  }
}
