// An in-memory Db for usrloc/registrar unit tests: tables of rows with an auto id and a
// unique ruid, a switch that makes every call fail as "down", and gates that hold a call
// until the test releases it (to interleave flushes, sweeps and refreshes on purpose).
import { DbError, type Db, type DbQuery, type DbRow, type DbValue, type DbWhere } from '../../src/db/db.js';

type Op = 'query' | 'insert' | 'upsert' | 'update' | 'delete' | 'raw' | 'tableVersion';

function cmpVal(v: DbValue | undefined): number | string | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.getTime() / 1000;
  return v;
}

function matches(row: DbRow, where: DbWhere | undefined): boolean {
  if (!where) return true;
  for (const [k, cond] of Object.entries(where)) {
    const have = cmpVal(row[k]);
    if (cond !== null && typeof cond === 'object' && !(cond instanceof Date)) {
      const want = cmpVal(cond.value);
      if (have === null || want === null) return false;
      switch (cond.op) {
        case '<':
          if (!(have < want)) return false;
          break;
        case '<=':
          if (!(have <= want)) return false;
          break;
        case '>':
          if (!(have > want)) return false;
          break;
        case '>=':
          if (!(have >= want)) return false;
          break;
        case '!=':
          if (have === want) return false;
          break;
      }
    } else if (have !== cmpVal(cond)) return false;
  }
  return true;
}

export class FakeDb implements Db {
  readonly displayUrl = 'fake://db';
  readonly driver = 'text' as const;
  readonly tables = new Map<string, DbRow[]>();
  readonly versions = new Map<string, number>([
    ['location', 9],
    ['aliases', 9],
  ]);
  down = false;
  calls: { op: Op; table: string; row?: DbRow; where?: DbWhere }[] = [];
  private nextId = 1;
  private readonly gates = new Map<Op, { wait: Promise<void>; release: () => void; entered: () => void; enteredP: Promise<void> }>();

  rows(table: string): DbRow[] {
    let t = this.tables.get(table);
    if (!t) this.tables.set(table, (t = []));
    return t;
  }

  /** the next calls of `op` wait until release(); `entered` resolves when one is waiting */
  gate(op: Op): { release: () => void; entered: Promise<void> } {
    let release!: () => void;
    let entered!: () => void;
    const wait = new Promise<void>((r) => (release = r));
    const enteredP = new Promise<void>((r) => (entered = r));
    this.gates.set(op, { wait, release, entered, enteredP });
    return {
      release: () => {
        this.gates.delete(op);
        release();
      },
      entered: enteredP,
    };
  }

  private async enter(op: Op, table: string, row?: DbRow, where?: DbWhere): Promise<void> {
    this.calls.push({ op, table, row, where });
    const g = this.gates.get(op);
    if (g) {
      g.entered();
      await g.wait;
    }
    if (this.down) throw new DbError('down', 'fake db is down');
  }

  async query(table: string, q: DbQuery = {}): Promise<DbRow[]> {
    await this.enter('query', table, undefined, q.where);
    let rows = this.rows(table).filter((r) => matches(r, q.where));
    if (q.orderBy) {
      const k = q.orderBy.split(/\s+/)[0]!;
      rows = [...rows].sort((a, b) => Number(a[k]) - Number(b[k]));
    }
    if (q.limit !== undefined) rows = rows.slice(0, q.limit);
    return rows.map((r) => (q.columns ? Object.fromEntries(q.columns.map((c) => [c, r[c] ?? null])) : { ...r }));
  }

  async insert(table: string, row: DbRow): Promise<void> {
    await this.enter('insert', table, row);
    this.rows(table).push({ id: this.nextId++, ...row });
  }

  async upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void> {
    await this.enter('upsert', table, row);
    const t = this.rows(table);
    const i = t.findIndex((r) => keyColumns.every((k) => r[k] === row[k]));
    if (i >= 0) t[i] = { ...t[i], ...row };
    else t.push({ id: this.nextId++, ...row });
  }

  async update(table: string, where: DbWhere, set: DbRow): Promise<number> {
    await this.enter('update', table, set, where);
    let n = 0;
    for (const r of this.rows(table)) {
      if (matches(r, where)) {
        Object.assign(r, set);
        n++;
      }
    }
    return n;
  }

  async delete(table: string, where: DbWhere): Promise<number> {
    await this.enter('delete', table, undefined, where);
    const t = this.rows(table);
    const keep = t.filter((r) => !matches(r, where));
    const n = t.length - keep.length;
    this.tables.set(table, keep);
    return n;
  }

  async raw(): Promise<DbRow[]> {
    throw new DbError('unsupported', 'fake db has no raw SQL');
  }

  async tableVersion(table: string): Promise<number | null> {
    await this.enter('tableVersion', table);
    return this.versions.get(table) ?? null;
  }

  async close(): Promise<void> {}
}
