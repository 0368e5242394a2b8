// Where auth_db finds a subscriber's secret (Kamailio/SER auth_db get_ha1()): the password
// column (HA1, or plaintext with calculate_ha1), password_column_2 for "user@domain"
// usernames, or an operator-written `password_query` returning the password/HA1 and its
// algorithm (flexisip's soci-password-request). Extra columns are loaded for AVPs.
import { DbError, type Db, type DbRow, type DbValue } from '../../src/db/db.js';
import { parseAlgorithm } from '../auth/digest.js';
import type { Secret, SecretQuery, SecretResult } from '../auth/api.js';

export interface CredentialColumns {
  userColumn: string;
  domainColumn: string;
  passwordColumn: string;
  passwordColumn2: string;
  calculateHa1: boolean;
  useDomain: boolean;
  /** columns loaded on success, as [avp name, column] */
  load: readonly (readonly [string, string])[];
  /** compiled password_query, or null */
  query: CompiledQuery | null;
}

export interface CompiledQuery {
  sql: string;
  /** which value each '?' takes */
  params: readonly ('id' | 'domain')[];
}

/** ":id" and ":domain" → positional '?' (outside quoted strings) */
export function compilePasswordQuery(text: string): CompiledQuery {
  const params: ('id' | 'domain')[] = [];
  let sql = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      sql += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      sql += c;
      continue;
    }
    const m = c === ':' ? /^:(id|domain)\b/.exec(text.slice(i)) : null;
    if (m) {
      params.push(m[1] as 'id' | 'domain');
      sql += '?';
      i += m[0].length - 1;
    } else sql += c;
  }
  if (params.length === 0) throw new Error('password_query needs an :id placeholder');
  return { sql, params };
}

/** load_credentials: "rpid;$avp(email)=email_address" → [[avp, column], ...] */
export function parseLoadCredentials(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const item of text.split(/[;,]/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^\$avp\(([^)]+)\)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)$/.exec(item);
    if (m) out.push([m[1].startsWith('s:') ? m[1].slice(2) : m[1], m[2]]);
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(item)) out.push([item, item]);
    else throw new Error(`bad load_credentials entry "${item}"`);
  }
  return out;
}

function str(v: DbValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.toISOString() : String(v);
}

function loaded(row: DbRow, cols: CredentialColumns): Record<string, unknown> | undefined {
  if (cols.load.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const [avp, col] of cols.load) out[avp] = row[col] ?? null;
  return out;
}

function errorResult(e: unknown): SecretResult {
  if (e instanceof DbError) return { status: 'error', message: e.message };
  throw e;
}

/** the secret(s) for a digest username, per the auth_db parameters */
export async function findSecrets(db: Db, table: string, cols: CredentialColumns, q: SecretQuery): Promise<SecretResult> {
  const domain = q.domain ?? q.realm;
  if (cols.query) {
    let rows: DbRow[];
    try {
      rows = await db.raw(cols.query.sql, cols.query.params.map((p) => (p === 'id' ? q.user : domain)));
    } catch (e) {
      return errorResult(e);
    }
    const secrets: Secret[] = [];
    for (const row of rows) {
      const values = Object.values(row);
      const value = str(values[0]);
      if (value === null || value === '') continue;
      const algText = str(values[1]);
      if (cols.calculateHa1 || (algText !== null && algText.toUpperCase() === 'CLRTXT')) {
        secrets.push({ type: 'password', value });
        continue;
      }
      const alg = algText === null ? null : parseAlgorithm(algText);
      if (algText !== null && !alg) continue; // an algorithm tser does not know: unusable row
      secrets.push({ type: 'ha1', value, algorithm: alg ? alg.base : null });
    }
    return rows.length === 0 ? { status: 'unknown' } : { status: 'found', secrets };
  }
  // Kamailio get_ha1(): ha1b when the digest username carries a domain (unless plaintext)
  const col = !cols.calculateHa1 && q.domain !== null ? cols.passwordColumn2 : cols.passwordColumn;
  const where: Record<string, DbValue> = { [cols.userColumn]: q.user };
  if (cols.useDomain) where[cols.domainColumn] = q.realm;
  let rows: DbRow[];
  try {
    rows = await db.query(table, { columns: [col, ...cols.load.map(([, c]) => c)], where, limit: 2 });
  } catch (e) {
    return errorResult(e);
  }
  if (rows.length === 0) return { status: 'unknown' };
  const row = rows[0];
  const value = str(row[col]) ?? '';
  const secrets: Secret[] =
    value === '' ? [] : cols.calculateHa1 ? [{ type: 'password', value }] : [{ type: 'ha1', value, algorithm: null }];
  return { status: 'found', secrets, data: loaded(row, cols) };
}
