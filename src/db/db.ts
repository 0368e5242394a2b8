// The one small DB API modules use (Kamailio srdb1): query/insert/update/delete by table and
// key columns, plus raw SQL where the driver has it. Drivers: mysql:// (mysql2 pool) and
// text:// (Kamailio db_text files). Modules never see which driver is behind it.

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
}

export type DbErrorKind = 'down' | 'query' | 'unsupported' | 'url';

/** every DB failure is a DbError; 'down' means "connection-class, retry later" */
export class DbError extends Error {
  readonly code = 'TSER_E_DB';
  constructor(
    readonly kind: DbErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DbError';
  }
}
