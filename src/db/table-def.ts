// Driver-neutral table definitions: one description per Kamailio table, from which the
// MySQL DDL and the db_text header line are both generated (schema.ts).
import type { DbValue } from './db.js';

export type ColumnKind = 'int' | 'double' | 'string' | 'datetime';

export interface ColumnDef {
  name: string;
  kind: ColumnKind;
  /** MySQL column type, e.g. "VARCHAR(64)", "INT(10) UNSIGNED" */
  sql: string;
  nullable?: boolean;
  /** DEFAULT value; undefined = none */
  default?: DbValue;
  /** AUTO_INCREMENT primary key */
  auto?: boolean;
}

export interface IndexDef {
  name: string;
  columns: readonly string[];
  unique?: boolean;
}

export interface TableDef {
  name: string;
  /** row in the `version` table */
  version: number;
  columns: readonly ColumnDef[];
  indexes?: readonly IndexDef[];
}
