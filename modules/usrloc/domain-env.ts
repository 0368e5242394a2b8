// What a usrloc table (domain) gets from the store: DB handle, row format, clock, ruids,
// counters — and the `version` table check done before a table is used with a DB.
import type { Logger } from 'pino';
import type { Counter } from '../../src/core/stats.js';
import type { Dialect } from '../../src/core/dialect.js';
import { DbError, type Db } from '../../src/db/db.js';
import type { UlContact } from './api.js';
import type { RowFormat } from './columns.js';
import type { RuidGenerator } from './contact.js';
import type { ErrorCode } from '../../src/core/errors.js';

export interface DomainCounters {
  users: Counter;
  contacts: Counter;
  expires: Counter;
  allUsers: Counter;
  allContacts: Counter;
  allExpired: Counter;
}

export interface DomainEnv {
  name: string;
  dbMode: number;
  /** null in db_mode 0 */
  db: Db | null;
  fmt: RowFormat;
  log: Logger;
  /** unix seconds */
  clock: () => number;
  ruids: RuidGenerator;
  order: (a: UlContact, b: UlContact) => number;
  counters: DomainCounters;
  fetchRows: number;
  rmExpiredDelay: number;
  dbLoad: boolean;
  versionTable: boolean;
  dialect: Dialect;
}

/** Kamailio 5.6 usrloc expects exactly 9; SER 0.9 at least 6 */
export const K56_TABLE_VERSION = 9;
export const SER_MIN_TABLE_VERSION = 6;

/** a table that cannot be used (wrong version): fatal at start, like Kamailio */
export class TableVersionError extends Error {
  readonly code: ErrorCode = 'TSER_E_TABLE_VERSION';
}

/** 'ok', or 'down' when the DB could not be asked; throws TableVersionError */
export async function checkTableVersion(env: DomainEnv): Promise<'ok' | 'down'> {
  if (!env.db || !env.versionTable) return 'ok';
  let v: number | null;
  try {
    v = await env.db.tableVersion(env.name);
  } catch (e) {
    if (e instanceof DbError && e.kind === 'down') return 'down';
    throw new TableVersionError(`usrloc table "${env.name}": cannot read its version row: ${(e as Error).message}`);
  }
  const fix = `fix the row in the version table or set modparam("usrloc", "version_table", 0)`;
  if (env.dialect === 'ser') {
    if (v === null || v < SER_MIN_TABLE_VERSION)
      throw new TableVersionError(`usrloc table "${env.name}": version ${v ?? 'missing'}, SER 0.9 needs ${SER_MIN_TABLE_VERSION} or more; ${fix}`);
  } else if (v !== K56_TABLE_VERSION) {
    throw new TableVersionError(`usrloc table "${env.name}": version ${v ?? 'missing'}, expected ${K56_TABLE_VERSION}; ${fix}`);
  }
  return 'ok';
}

export function isDown(e: unknown): boolean {
  return e instanceof DbError && e.kind === 'down';
}
