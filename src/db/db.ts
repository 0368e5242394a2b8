// The one small DB API modules use (Kamailio srdb1): query/insert/update/delete by table and
// key columns, plus raw SQL where the driver has it. Drivers: mysql:// (mysql2 connections) and
// text:// (Kamailio db_text files). Modules never see which driver is behind it.

import type { TableDef } from './table-def.js';
import type { ErrorCode } from '../core/errors.js';

export type DbValue = string | number | null | Date;
export type DbRow = Record<string, DbValue>;

/** equality conditions, AND-ed; a `{ op, value }` entry for comparisons */
export type DbWhere = Record<string, DbValue | { op: '<' | '<=' | '>' | '>=' | '!='; value: DbValue }>;

export interface DbQuery {
  columns?: readonly string[];
  where?: DbWhere;
  orderBy?: string;
  limit?: number;
}

export interface Db {
  /** the URL with any password masked, for logs */
  readonly displayUrl: string;
  readonly driver: 'mysql' | 'text';
  query(table: string, q?: DbQuery): Promise<DbRow[]>;
  insert(table: string, row: DbRow): Promise<void>;
  /** insert, or update the row with the same unique key (MySQL ON DUPLICATE KEY UPDATE) */
  upsert(table: string, row: DbRow, keyColumns: readonly string[]): Promise<void>;
  update(table: string, where: DbWhere, set: DbRow): Promise<number>;
  delete(table: string, where: DbWhere): Promise<number>;
  /** raw SQL with `?` placeholders (mysql only; text:// throws DbError 'unsupported') */
  raw(sql: string, params?: readonly DbValue[]): Promise<DbRow[]>;
  /** `version` table value for a table, null when absent */
  tableVersion(table: string): Promise<number | null>;
  close(): Promise<void>;
  /** create a table from its definition (schema.ts); both drivers implement it */
  createTable?(def: TableDef): Promise<void>;
  /** drop a table if it exists */
  dropTable?(name: string): Promise<void>;
  /** column names of a table, null when the table does not exist (db migrate) */
  tableColumns?(name: string): Promise<string[] | null>;
  /** add a missing column to an existing table (db migrate) */
  addColumn?(table: string, col: TableDef['columns'][number]): Promise<void>;
}

/**
 * A DATETIME value as a Date, whatever the driver returned: mysql gives Date objects,
 * db_text stores time_t seconds in int columns (Kamailio's dbtext schema does the same).
 */
export function toDate(v: DbValue): Date | null {
  if (v === null) return null;
  if (v instanceof Date) return v;
  if (typeof v === 'number') return new Date(v * 1000);
  const t = /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v.replace(' ', 'T'));
  return Number.isNaN(t.getTime()) ? null : t;
}

export type DbErrorKind = 'down' | 'query' | 'unsupported' | 'url';

/** every DB failure is a DbError; 'down' means "connection-class, retry later" */
export class DbError extends Error {
  readonly code: ErrorCode = 'TSER_E_DB';
  constructor(
    readonly kind: DbErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DbError';
  }
}
