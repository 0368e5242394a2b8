// Batched writes for the write-back flush: with MySQL one multi-row
// `INSERT … ON DUPLICATE KEY UPDATE` per chunk and `DELETE … WHERE ruid IN (…)`, so a
// shutdown flush of 100k contacts takes seconds, not minutes; other drivers row by row.
import type { Db, DbRow, DbValue } from '../../src/db/db.js';

export const WRITE_CHUNK = 500;

// The driver prepares every distinct statement (per pooled connection and on the server,
// where max_prepared_stmt_count is finite): only these batch sizes are used, so a table
// needs at most five multi-row statements of each kind.
const SIZES = [500, 100, 20, 5, 1];

/** n split greedily into SIZES: 137 → [100, 20, 5, 5, 5, 1, 1] */
export function batchSizes(n: number): number[] {
  const out: number[] = [];
  for (const s of SIZES) while (n >= s) {
    out.push(s);
    n -= s;
  }
  return out;
}

const q = (id: string): string => `\`${id.replace(/`/g, '``')}\``;

/** upsert rows that all have the same columns; keyCol is the unique key (ruid) */
export async function upsertRows(db: Db, table: string, rows: readonly DbRow[], keyCol: string): Promise<void> {
  if (db.driver !== 'mysql') {
    for (const r of rows) await db.upsert(table, r, [keyCol]);
    return;
  }
  let at = 0;
  for (const n of batchSizes(rows.length)) {
    const part = rows.slice(at, at + n);
    at += n;
    if (n === 1) await db.upsert(table, part[0]!, [keyCol]);
    else await upsertMany(db, table, part, keyCol);
  }
}

async function upsertMany(db: Db, table: string, rows: readonly DbRow[], keyCol: string): Promise<void> {
  const cols = Object.keys(rows[0]!);
  const one = `(${cols.map(() => '?').join(', ')})`;
  const params: DbValue[] = [];
  for (const r of rows) for (const c of cols) params.push(r[c] ?? null);
  const set = cols.filter((c) => c !== keyCol).map((c) => `${q(c)} = VALUES(${q(c)})`);
  await db.raw(
    `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES ${rows.map(() => one).join(', ')} ON DUPLICATE KEY UPDATE ${set.join(', ')}`,
    params,
  );
}

export async function deleteKeys(db: Db, table: string, keyCol: string, keys: readonly string[]): Promise<void> {
  if (db.driver !== 'mysql') {
    for (const k of keys) await db.delete(table, { [keyCol]: k });
    return;
  }
  let at = 0;
  for (const n of batchSizes(keys.length)) {
    const part = keys.slice(at, at + n);
    at += n;
    if (n === 1) await db.delete(table, { [keyCol]: part[0]! });
    else await db.raw(`DELETE FROM ${q(table)} WHERE ${q(keyCol)} IN (${part.map(() => '?').join(', ')})`, part);
  }
}

export function chunks<T>(list: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}
