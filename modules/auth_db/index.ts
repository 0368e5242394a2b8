// auth_db: digest credentials from a database (SER 0.9 / Kamailio 5.6 auth_db). The digest
// work is the auth module's (bound through its API); this module only finds the secret:
// www_authorize/proxy_authorize (both dialects), www_authenticate/proxy_authenticate,
// auth_check and is_subscriber (Kamailio).
import type { Logger } from 'pino';
import { ArgError, ANY_ROUTE, arg, defineModule, fixup, fn, optional, param, Route, type ArgSpec } from '../../src/core/module-api.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import { DbError, type Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { checkVersion, VersionError, type VersionSpec } from '../../src/db/schema.js';
import { parseUri } from '../../src/sip/index.js';
import type { PvValue } from '../../src/core/module-api.js';
import { KAM_CODES, type AuthApi, type AuthKind, type AuthOutcome } from '../auth/api.js';
import { compilePasswordQuery, findSecrets, parseLoadCredentials, type CredentialColumns } from './credentials.js';
import { flagsArg } from '../auth/index.js';

/** subscriber table version: Kamailio auth_db TABLE_VERSION; SER 0.9 needed at least 3 */
export const SUBSCRIBER_VERSION = 7;
const SER_MIN_VERSION = 3;

const NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** a credentials table a function names, resolved by the argument's fixup */
interface CredTable {
  name: string;
  /** version check: passed, failed, or not done yet (null) */
  usable: boolean | null;
}

const tableArg = (): ArgSpec<CredTable> =>
  fixup(
    arg.custom('table name', (s) => {
      const t = s.trim();
      if (!NAME.test(t)) throw new ArgError(`bad table name "${s}"`);
      return t;
    }),
    (name: string, st: AuthDbState) => tableHandle(st, name),
  );

function tableHandle(st: AuthDbState, name: string): CredTable {
  let t = st.tables.get(name);
  if (t === undefined) st.tables.set(name, (t = { name, usable: st.checkVersions ? null : true }));
  return t;
}

const columnValidate = (v: string): string | null => (NAME.test(v) ? null : `bad column name "${v}"`);

const params = {
  db_url: param.str('mysql://kamailioro:kamailioro@localhost/kamailio'),
  user_column: param.str('username', { validate: columnValidate }),
  domain_column: param.str('domain', { validate: columnValidate }),
  password_column: param.str('ha1', { validate: columnValidate }),
  password_column_2: param.str('ha1b', { validate: columnValidate }),
  calculate_ha1: param.bool(false),
  use_domain: param.bool(false),
  load_credentials: param.str('', {
    validate: (v) => {
      try {
        parseLoadCredentials(v);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  }),
  /** tser (flexisip style): SQL returning the password or HA1 and its algorithm; :id, :domain */
  password_query: param.str('', {
    validate: (v) => {
      if (v === '') return null;
      try {
        compilePasswordQuery(v);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  }),
  version_table: param.bool(true),
  force_generate_avps: param.bool(false),
  // SER 0.9 loaded these columns into AVPs on every success; tser makes that opt-in
  // through load_credentials, so a Kamailio schema without them keeps working
  avps_column_int: param.ignored('str'),
  avps_column_str: param.ignored('str'),
  rpid_column: param.ignored('str'),
};

interface AuthDbState {
  db: Db;
  log: Logger;
  dialect: Dialect;
  cols: CredentialColumns;
  checkVersions: boolean;
  forceAvps: boolean;
  /** the tables the script names (fixups), by name */
  tables: Map<string, CredTable>;
  auth: AuthApi;
}

function versionSpec(d: Dialect): VersionSpec {
  return d === 'ser' ? { min: SER_MIN_VERSION } : SUBSCRIBER_VERSION;
}

/** first-use version check (the DB was down at start); false when the table must not be used */
async function tableUsable(st: AuthDbState, table: CredTable): Promise<boolean | 'down'> {
  try {
    await checkVersion(st.db, table.name, versionSpec(st.dialect));
    return (table.usable = true);
  } catch (e) {
    if (e instanceof VersionError) {
      st.log.error({ table: table.name, found: e.found }, e.message);
      return (table.usable = false);
    }
    if (e instanceof DbError) return 'down';
    throw e;
  }
}

function setAvps(ctx: MsgContext, data: Record<string, unknown> | undefined): void {
  if (!data) return;
  for (const [name, v] of Object.entries(data)) {
    if (v === null || v === undefined) continue;
    const value: PvValue = typeof v === 'number' ? v : v instanceof Date ? v.toISOString() : String(v);
    const m = (ctx.avps ??= new Map<string, PvValue[]>());
    const list = m.get(name);
    if (list) list.push(value);
    else m.set(name, [value]);
  }
}

async function verify(ctx: MsgContext, st: AuthDbState, realm: string, table: CredTable, kind: AuthKind, method?: string): Promise<AuthOutcome> {
  const usable = table.usable === true || (table.usable === null ? await tableUsable(st, table) : false);
  if (usable !== true) return { code: 'error', reason: usable === 'down' ? 'database unreachable' : `table ${table.name} has the wrong version` };
  let lastData: Record<string, unknown> | undefined;
  const o = await st.auth.verifyCredentials(
    ctx,
    realm,
    kind,
    async (q) => {
      const r = await findSecrets(st.db, table.name, st.cols, q);
      if (r.status === 'found') lastData = r.data;
      else if (r.status === 'error') st.log.warn({ table: table.name, err: r.message }, 'auth_db: credentials query failed');
      return r;
    },
    { method },
  );
  if (o.code === 'ok') setAvps(ctx, o.authorized?.data);
  else if (st.forceAvps) setAvps(ctx, lastData);
  return o;
}

async function authorize(ctx: MsgContext, st: AuthDbState, realm: string, table: CredTable, kind: AuthKind, method?: string): Promise<number> {
  const o = await verify(ctx, st, realm, table, kind, method);
  return st.auth.scriptCode(ctx, o);
}

export default defineModule({
  name: 'auth_db',
  doc: 'digest credentials from the subscriber table',
  deps: [{ module: 'auth' }],
  params,
  init: async (env): Promise<AuthDbState> => {
    const p = env.params;
    const db = openDb(p.db_url, env.log);
    if (p.password_query && db.driver !== 'mysql') {
      await db.close();
      throw new Error('auth_db: password_query needs a mysql:// db_url');
    }
    const auth = env.bindApi<AuthApi>('auth');
    if (!auth) {
      await db.close();
      throw new Error('auth_db needs the auth module (loadmodule "auth.so")');
    }
    return {
      db,
      log: env.log,
      dialect: env.dialect,
      cols: {
        userColumn: p.user_column,
        domainColumn: p.domain_column,
        passwordColumn: p.password_column,
        passwordColumn2: p.password_column_2,
        calculateHa1: p.calculate_ha1,
        useDomain: p.use_domain,
        load: parseLoadCredentials(p.load_credentials),
        query: p.password_query ? compilePasswordQuery(p.password_query) : null,
      },
      checkVersions: p.version_table && !p.password_query,
      forceAvps: p.force_generate_avps,
      tables: new Map(),
      auth,
    };
  },
  // Kamailio checks each table named in the script when it starts (auth_fixup); a DB that
  // is down only postpones the check to first use, a wrong version stops the start
  start: async (st: AuthDbState) => {
    for (const t of st.tables.values()) {
      if (t.usable !== null) continue;
      try {
        await checkVersion(st.db, t.name, versionSpec(st.dialect));
        t.usable = true;
      } catch (e) {
        if (!(e instanceof DbError)) throw e;
        st.log.warn({ table: t.name, err: e.message }, 'auth_db: database unreachable at start; version checked on first use');
      }
    }
  },
  destroy: (st) => st.db.close(),
  functions: {
    www_authorize: fn({
      args: [arg.str(), tableArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: AuthDbState, realm, table) => authorize(ctx, st, realm, table, 'www'),
    }),
    proxy_authorize: fn({
      args: [arg.str(), tableArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: AuthDbState, realm, table) => authorize(ctx, st, realm, table, 'proxy'),
    }),
    www_authenticate: fn({
      args: [arg.str(), tableArg(), optional(arg.str())],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: AuthDbState, realm, table, method) => authorize(ctx, st, realm, table, 'www', method || undefined),
    }),
    proxy_authenticate: fn({
      args: [arg.str(), tableArg()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: AuthDbState, realm, table) => authorize(ctx, st, realm, table, 'proxy'),
    }),
    auth_check: fn({
      args: [arg.str(), tableArg(), flagsArg()],
      routes: Route.REQUEST,
      async: true,
      run: async (ctx, st: AuthDbState, realm, table, flags) => {
        const kind: AuthKind = ctx.msg.method === 'REGISTER' ? 'www' : 'proxy';
        const o = await verify(ctx, st, realm, table, kind);
        if (o.code === 'ok' && o.authorized && !st.auth.identityMatches(ctx, o.authorized, flags)) return KAM_CODES.user_mismatch;
        return st.auth.scriptCode(ctx, o);
      },
    }),
    is_subscriber: fn({
      args: [arg.str(), tableArg(), flagsArg()],
      routes: ANY_ROUTE,
      async: true,
      run: async (ctx, st: AuthDbState, uri, table, flags) => {
        const u = parseUri(uri);
        if (!u || !u.user) return -1;
        const where: Record<string, string> = { [st.cols.userColumn]: u.user };
        if (st.cols.useDomain) where[st.cols.domainColumn] = u.host;
        try {
          const rows = await st.db.query(table.name, { columns: [st.cols.userColumn, ...st.cols.load.map(([, c]) => c)], where, limit: 1 });
          if (rows.length === 0) return -1;
          if (flags & 1 && st.cols.load.length) setAvps(ctx, Object.fromEntries(st.cols.load.map(([a, c]) => [a, rows[0][c] ?? null])));
          return 1;
        } catch (e) {
          if (e instanceof DbError) return -2;
          throw e;
        }
      },
    }),
  },
});
