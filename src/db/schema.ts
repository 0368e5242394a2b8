// The Kamailio 5.6 tables tser uses (column lists as in Kamailio's schema, described here as
// data), the `version` rows, and the helpers behind `tserctl db create|drop|migrate` and the
// modules' startup version checks (Kamailio db_check_table_version).
import { DbError, type Db } from './db.js';
import type { ColumnDef, IndexDef, TableDef } from './table-def.js';
import type { ErrorCode } from '../core/errors.js';

export type { ColumnDef, IndexDef, TableDef } from './table-def.js';

// ---- column helpers (keep the table list readable) ----

const id = (): ColumnDef => ({ name: 'id', kind: 'int', sql: 'INT(10) UNSIGNED', auto: true });
/** VARCHAR with a default; a null default makes the column NULL-able */
const vc = (name: string, len: number, def: string | null = ''): ColumnDef => ({
  name,
  kind: 'string',
  sql: `VARCHAR(${len})`,
  nullable: def === null,
  default: def,
});
/** VARCHAR NOT NULL without a default (the value must be given) */
const vcReq = (name: string, len: number): ColumnDef => ({ name, kind: 'string', sql: `VARCHAR(${len})` });
const int = (name: string, def: number | null = 0, sql = 'INT(11)'): ColumnDef => ({
  name,
  kind: 'int',
  sql,
  nullable: def === null,
  default: def,
});
const dt = (name: string, def: string): ColumnDef => ({ name, kind: 'datetime', sql: 'DATETIME', default: def });

/** usrloc columns, shared by `location` and `aliases` (Kamailio registrar/usrloc DDL) */
function usrlocColumns(contactLen: number, receivedLen: number): ColumnDef[] {
  return [
    id(),
    vc('ruid', 64),
    vc('username', 64),
    vc('domain', 64, null),
    vc('contact', contactLen),
    vc('received', receivedLen, null),
    vc('path', 512, null),
    dt('expires', '2030-05-28 21:32:15'),
    { name: 'q', kind: 'double', sql: 'FLOAT(10,2)', default: 1.0 },
    vc('callid', 255, 'Default-Call-ID'),
    int('cseq', 1),
    dt('last_modified', '2000-01-01 00:00:01'),
    int('flags'),
    int('cflags'),
    vc('user_agent', 255),
    vc('socket', 64, null),
    int('methods', null),
    vc('instance', 255, null),
    int('reg_id'),
    int('server_id'),
    int('connection_id'),
    int('keepalive'),
    int('partition'),
  ];
}

export const TABLES: readonly TableDef[] = [
  {
    name: 'version',
    version: 1,
    columns: [id(), vcReq('table_name', 32), int('table_version', 0, 'INT UNSIGNED')],
    indexes: [{ name: 'table_name_idx', columns: ['table_name'], unique: true }],
  },
  {
    name: 'subscriber',
    version: 7,
    columns: [id(), vc('username', 64), vc('domain', 64), vc('password', 64), vc('ha1', 128), vc('ha1b', 128)],
    indexes: [
      { name: 'account_idx', columns: ['username', 'domain'], unique: true },
      { name: 'username_idx', columns: ['username'] },
    ],
  },
  {
    name: 'location',
    version: 9,
    columns: usrlocColumns(512, 128),
    indexes: [
      { name: 'ruid_idx', columns: ['ruid'], unique: true },
      { name: 'account_contact_idx', columns: ['username', 'domain', 'contact'] },
      { name: 'expires_idx', columns: ['expires'] },
      { name: 'tcpcon_idx', columns: ['connection_id'] },
      { name: 'connection_idx', columns: ['server_id', 'connection_id'] },
    ],
  },
  {
    // Kamailio's registrar DDL writes version 8 for `aliases`, but usrloc checks 9 for every
    // table it is given, so `save/lookup("aliases")` with a DB only starts with 9 here.
    name: 'aliases',
    version: 9,
    columns: usrlocColumns(255, 255),
    indexes: [
      { name: 'ruid_idx', columns: ['ruid'], unique: true },
      { name: 'account_contact_idx', columns: ['username', 'domain', 'contact'] },
      { name: 'expires_idx', columns: ['expires'] },
    ],
  },
  {
    name: 'dbaliases',
    version: 1,
    columns: [id(), vc('alias_username', 64), vc('alias_domain', 64), vc('username', 64), vc('domain', 64)],
    indexes: [
      { name: 'alias_user_idx', columns: ['alias_username'] },
      { name: 'alias_idx', columns: ['alias_username', 'alias_domain'] },
      { name: 'target_idx', columns: ['username', 'domain'] },
    ],
  },
  {
    name: 'dispatcher',
    version: 4,
    columns: [
      id(),
      int('setid', 0, 'INT'),
      vc('destination', 192),
      int('flags', 0, 'INT'),
      int('priority', 0, 'INT'),
      vc('attrs', 128),
      vc('description', 64),
    ],
  },
  {
    name: 'address',
    version: 6,
    columns: [
      id(),
      int('grp', 1, 'INT(11) UNSIGNED'),
      vcReq('ip_addr', 50),
      int('mask', 32, 'INT'),
      int('port', 0, 'SMALLINT(5) UNSIGNED'),
      vc('tag', 64, null),
    ],
  },
  {
    name: 'trusted',
    version: 6,
    columns: [
      id(),
      vcReq('src_ip', 50),
      vcReq('proto', 4),
      vc('from_pattern', 64, null),
      vc('ruri_pattern', 64, null),
      vc('tag', 64, null),
      int('priority', 0, 'INT'),
    ],
    indexes: [{ name: 'peer_idx', columns: ['src_ip'] }],
  },
  {
    name: 'uri',
    version: 1,
    columns: [id(), vc('username', 64), vc('domain', 64), vc('uri_user', 64), dt('last_modified', '2000-01-01 00:00:01')],
    indexes: [{ name: 'account_idx', columns: ['username', 'domain', 'uri_user'], unique: true }],
  },
  {
    name: 'domain',
    version: 2,
    columns: [id(), vcReq('domain', 64), vc('did', 64, null), dt('last_modified', '2000-01-01 00:00:01')],
    indexes: [{ name: 'domain_idx', columns: ['domain'], unique: true }],
  },
];

const byName = new Map(TABLES.map((t) => [t.name, t]));

/** definition of a known Kamailio table, or undefined */
export function tableDef(name: string): TableDef | undefined {
  return byName.get(name);
}

// ---- generators ----

function sqlLiteral(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return String(v);
  return `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** MySQL CREATE TABLE (+ CREATE INDEX) statements for a table definition */
export function mysqlDdl(t: TableDef): string[] {
  const cols = t.columns.map((c) => {
    let s = `\`${c.name}\` ${c.sql}`;
    if (c.auto) return `${s} AUTO_INCREMENT PRIMARY KEY NOT NULL`;
    if (c.default !== undefined) s += ` DEFAULT ${sqlLiteral(c.default instanceof Date ? c.default.toISOString() : c.default)}`;
    if (!c.nullable) s += ' NOT NULL';
    return s;
  });
  const unique = (t.indexes ?? []).filter((i) => i.unique);
  const plain = (t.indexes ?? []).filter((i) => !i.unique);
  for (const u of unique) cols.push(`CONSTRAINT ${u.name} UNIQUE (${u.columns.map((c) => `\`${c}\``).join(', ')})`);
  const out = [`CREATE TABLE \`${t.name}\` (\n    ${cols.join(',\n    ')}\n)`];
  for (const i of plain) out.push(indexDdl(t.name, i));
  return out;
}

function indexDdl(table: string, i: IndexDef): string {
  return `CREATE INDEX ${i.name} ON \`${table}\` (${i.columns.map((c) => `\`${c}\``).join(', ')})`;
}

/** db_text header line ("id(int,auto) username(string) ...") as Kamailio's dbtext files have */
export function textHeader(t: TableDef): string {
  return t.columns.map(textColumn).join(' ');
}

export function textColumn(c: ColumnDef): string {
  // Kamailio's dbtext schema stores DATETIME as time_t in int columns
  const type = c.kind === 'string' ? 'string' : c.kind === 'double' ? 'double' : 'int';
  const attr = c.auto ? ',auto' : c.nullable ? ',null' : '';
  return `${c.name}(${type}${attr})`;
}

// ---- operations ----

function need<K extends keyof Db>(db: Db, k: K): NonNullable<Db[K]> {
  const f = db[k];
  if (typeof f !== 'function') throw new DbError('unsupported', `${db.driver} driver cannot ${String(k)}`);
  return (f as (...a: unknown[]) => unknown).bind(db) as NonNullable<Db[K]>;
}

function select(names?: readonly string[]): readonly TableDef[] {
  if (!names || names.length === 0) return TABLES;
  return names.map((n) => {
    const t = byName.get(n);
    if (!t) throw new DbError('query', `unknown table "${n}" (tser knows: ${TABLES.map((x) => x.name).join(', ')})`);
    return t;
  });
}

/** create the tables (all known ones by default) and their version rows, as `kamdbctl create` */
export async function createSchema(db: Db, tables?: readonly string[]): Promise<string[]> {
  const create = need(db, 'createTable');
  const columns = need(db, 'tableColumns');
  const list = select(tables);
  if ((await columns('version')) === null) await create(byName.get('version')!);
  const made: string[] = [];
  for (const t of list) {
    if (t.name !== 'version') {
      if ((await columns(t.name)) !== null) throw new DbError('query', `table "${t.name}" already exists (use "tserctl db migrate")`);
      await create(t);
    }
    await setVersion(db, t.name, t.version);
    made.push(t.name);
  }
  return made;
}

/** drop the tables (all known ones by default), version table last */
export async function dropSchema(db: Db, tables?: readonly string[]): Promise<string[]> {
  const drop = need(db, 'dropTable');
  const columns = need(db, 'tableColumns');
  const list = select(tables);
  const all = !tables || tables.length === 0;
  const dropped: string[] = [];
  for (const t of list) {
    if (t.name === 'version') continue;
    await drop(t.name);
    dropped.push(t.name);
    if (!all && (await columns('version')) !== null) await db.delete('version', { table_name: t.name });
  }
  if (all) {
    await drop('version');
    dropped.push('version');
  }
  return dropped;
}

/**
 * Bring an existing database (an older Kamailio or SER 0.9 one) to the columns tser expects:
 * creates missing tables, adds missing columns, sets the version rows. Never drops data.
 * Returns one line per change.
 */
export async function migrateSchema(db: Db, tables?: readonly string[]): Promise<string[]> {
  const create = need(db, 'createTable');
  const columns = need(db, 'tableColumns');
  const addColumn = need(db, 'addColumn');
  const changes: string[] = [];
  if ((await columns('version')) === null) {
    await create(byName.get('version')!);
    changes.push('created table version');
  }
  for (const t of select(tables)) {
    const have = await columns(t.name);
    if (have === null) {
      await create(t);
      changes.push(`created table ${t.name}`);
    } else {
      const lower = new Set(have.map((c) => c.toLowerCase()));
      for (const c of t.columns) {
        if (lower.has(c.name.toLowerCase())) continue;
        // an AUTO_INCREMENT id cannot be added next to SER's composite primary key
        if (c.auto) {
          changes.push(`kept ${t.name} without column ${c.name} (existing primary key)`);
          continue;
        }
        await addColumn(t.name, c);
        changes.push(`added column ${t.name}.${c.name}`);
      }
    }
    const v = await db.tableVersion(t.name);
    if (v !== t.version) {
      await setVersion(db, t.name, t.version);
      changes.push(`version ${t.name}: ${v ?? 'none'} -> ${t.version}`);
    }
  }
  return changes;
}

async function setVersion(db: Db, table: string, version: number): Promise<void> {
  const n = await db.update('version', { table_name: table }, { table_version: version });
  if (n === 0) {
    // MySQL reports 0 affected rows when the value is unchanged: check before inserting
    const rows = await db.query('version', { columns: ['table_version'], where: { table_name: table } });
    if (rows.length === 0) await db.insert('version', { table_name: table, table_version: version });
  }
}

/** what a module accepts: an exact version (Kamailio) or a minimum (SER 0.9 modules) */
export type VersionSpec = number | { min: number; max?: number };

export class VersionError extends Error {
  readonly code: ErrorCode = 'TSER_E_DB_VERSION';
  constructor(
    readonly table: string,
    readonly found: number | null,
    readonly expected: VersionSpec,
  ) {
    const want = typeof expected === 'number' ? `${expected}` : expected.max === undefined ? `>= ${expected.min}` : `${expected.min}..${expected.max}`;
    super(
      found === null
        ? `table "${table}" has no row in the version table (expected version ${want}): create it with "tserctl db create"`
        : `invalid version ${found} for table "${table}" found, expected ${want}: run "tserctl db migrate" or set the module's version_table=0`,
    );
    this.name = 'VersionError';
  }
}

/**
 * Module startup check (Kamailio db_check_table_version): throws VersionError naming the
 * table, the version found and the one expected. DbErrors (DB down) propagate unchanged.
 */
export async function checkVersion(db: Db, table: string, expected: VersionSpec): Promise<number> {
  const found = await db.tableVersion(table);
  const ok =
    found !== null &&
    (typeof expected === 'number' ? found === expected : found >= expected.min && (expected.max === undefined || found <= expected.max));
  if (!ok) throw new VersionError(table, found, expected);
  return found;
}
