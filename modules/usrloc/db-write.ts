// Batched writes for the write-back flush: with MySQL one multi-row
// `INSERT … ON DUPLICATE KEY UPDATE` per chunk and `DELETE … WHERE ruid IN (…)`, so a
// shutdown flush of 100k contacts takes seconds, not minutes; other drivers row by row.
// Rows come as one flat list of values in column order (no object per row), and the SQL
// text of each batch size is made once per table and column list.
import type { Db, DbValue } from '../../src/db/db.js';
import { rowObject } from './columns.js';

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

/** statement text by column list, then table and row count */
const upsertSql = new WeakMap<readonly string[], Map<string, string>>();

function upsertText(table: string, cols: readonly string[], n: number, keyCol: string): string {
  let byKey = upsertSql.get(cols);
  if (!byKey) upsertSql.set(cols, (byKey = new Map<string, string>()));
  const key = `${n} ${keyCol} ${table}`;
  let sql = byKey.get(key);
  if (sql === undefined) {
    const one = `(${cols.map(() => '?').join(', ')})`;
    const set = cols.filter((c) => c !== keyCol).map((c) => `${q(c)} = VALUES(${q(c)})`);
    sql = `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES ${Array.from({ length: n }, () => one).join(', ')} ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
    byKey.set(key, sql);
  }
  return sql;
}

/**
 * `list` split into the batch sizes above (one statement each) with MySQL; other drivers
 * write row by row, so the list stays whole
 */
export function batches<T>(db: Db, list: readonly T[]): T[][] {
  if (db.driver !== 'mysql') return [list.slice()];
  const out: T[][] = [];
  let at = 0;
  for (const n of batchSizes(list.length)) {
    out.push(list.slice(at, at + n));
    at += n;
  }
  return out;
}

/**
 * upsert the rows of one batch, given as one flat list of values (`cols.length` per row);
 * keyCol is the unique key (ruid). MySQL: one multi-row statement (a batch from batches());
 * other drivers: row by row.
 */
export async function upsertBatch(db: Db, table: string, cols: readonly string[], values: readonly DbValue[], keyCol: string): Promise<void> {
  const n = values.length / cols.length;
  if (db.driver !== 'mysql' || n === 1) {
    for (let k = 0; k < n; k++) await db.upsert(table, rowObject(cols, values, k), [keyCol]);
    return;
  }
  await db.raw(upsertText(table, cols, n, keyCol), values);
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
    if (n === 1) await db.delete(table, { [keyCol]: part[0] });
    else await db.raw(`DELETE FROM ${q(table)} WHERE ${q(keyCol)} IN (${part.map(() => '?').join(', ')})`, part);
  }
}

export function chunks<T>(list: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}
