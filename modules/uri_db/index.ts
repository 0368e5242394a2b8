// uri_db: is the authenticated user allowed to use this URI? (SER 0.9 / Kamailio 5.6 uri_db)
// check_to / check_from compare the To / From user with the digest user authorized earlier
// (the seed's guard against registering or calling as someone else); with use_uri_table
// the `uri` table lists which URI users each subscriber may use. does_uri_exist() asks
// whether the R-URI names a subscriber.
import type { Logger } from 'pino';
import { arg, defineModule, fn, param, REQ_FAIL_BRANCH, Route } from '../../src/core/module-api.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import { DbError, type Db, type DbValue } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { checkVersion, type VersionSpec } from '../../src/db/schema.js';
import { parseUri, SipParseError, type SipUri } from '../../src/sip/index.js';
import { AUTHORIZED_KEY, type AuthorizedCredentials } from '../auth/api.js';

/** return codes, identical in SER 0.9 and Kamailio 5.6 (uri_db/checks.c) */
export const URI_DB = {
  OK: 1,
  ERROR: -1,
  NO_CREDENTIALS: -2,
  URI_PARSE: -3,
  NO_USER: -4,
  REALM_MISMATCH: -6,
  DB_ERROR: -7,
  NOT_FOUND: -9,
  USER_MISMATCH: -10,
} as const;

const NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const col = (d: string) => param.str(d, { validate: (v) => (NAME.test(v) ? null : `bad column or table name "${v}"`) });

const params = {
  db_url: param.str('mysql://kamailioro:kamailioro@localhost/kamailio'),
  /** Kamailio: the one table (subscriber, or uri with use_uri_table) */
  db_table: col('subscriber'),
  /** SER 0.9 names of the two tables */
  uri_table: col('uri'),
  subscriber_table: col('subscriber'),
  user_column: col('username'),
  domain_column: col('domain'),
  uriuser_column: col('uri_user'),
  use_uri_table: param.bool(false),
  use_domain: param.bool(false),
  version_table: param.bool(true),
};

interface UriDbState {
  db: Db | null;
  log: Logger;
  p: {
    uriTable: string;
    subscriberTable: string;
    userColumn: string;
    domainColumn: string;
    uriUserColumn: string;
    useUriTable: boolean;
    useDomain: boolean;
  };
}

/** Kamailio names one table (db_table); SER 0.9 two (uri_table, subscriber_table) */
function tables(p: { db_table: string; uri_table: string; subscriber_table: string; use_uri_table: boolean }): { uriTable: string; subscriberTable: string } {
  const kamTable = p.db_table !== 'subscriber' ? p.db_table : null;
  return {
    uriTable: p.use_uri_table && kamTable ? kamTable : p.uri_table,
    subscriberTable: !p.use_uri_table && kamTable ? kamTable : p.subscriber_table,
  };
}

function versionSpec(d: Dialect, table: 'uri' | 'subscriber'): VersionSpec {
  if (table === 'uri') return 1;
  return d === 'ser' ? { min: 3 } : 7;
}

/**
 * SER checks.c check_username(): the URI user must be the authorized digest user.
 * Synchronous unless the uri table is consulted.
 */
function checkUsername(ctx: MsgContext, st: UriDbState, u: Readonly<SipUri> | null): number | Promise<number> {
  const cred = ctx.getExt<AuthorizedCredentials>(AUTHORIZED_KEY);
  if (!cred) {
    ctx.log.warn('check_to/check_from: no authorized credentials, call www_authorize/proxy_authorize first');
    return URI_DB.NO_CREDENTIALS;
  }
  if (!u) return URI_DB.URI_PARSE;
  if (!u.user) return URI_DB.NO_USER;
  if (!st.p.useUriTable) return u.user.toLowerCase() === cred.user.toLowerCase() ? URI_DB.OK : URI_DB.USER_MISMATCH;
  // uri table: (digest user, digest realm) may use this URI user, and only in its realm
  if (u.host.toLowerCase() !== cred.realm.toLowerCase()) return URI_DB.REALM_MISMATCH;
  if (!st.db) return URI_DB.DB_ERROR;
  return uriTableAllows(st, cred, u.user);
}

async function uriTableAllows(st: UriDbState, cred: AuthorizedCredentials, uriUser: string): Promise<number> {
  try {
    const rows = await st.db!.query(st.p.uriTable, {
      columns: [st.p.userColumn],
      where: { [st.p.userColumn]: cred.user, [st.p.domainColumn]: cred.realm, [st.p.uriUserColumn]: uriUser },
      limit: 1,
    });
    return rows.length ? URI_DB.OK : URI_DB.NOT_FOUND;
  } catch (e) {
    if (e instanceof DbError) return URI_DB.DB_ERROR;
    throw e;
  }
}

/** the From/To URI as parsed with its header (null when the header is broken) */
function partyUri(ctx: MsgContext, which: 'to' | 'from'): Readonly<SipUri> | null {
  try {
    return (which === 'to' ? ctx.msg.to() : ctx.msg.from()).parsedUri;
  } catch (e) {
    if (e instanceof SipParseError) return null;
    throw e;
  }
}

export default defineModule({
  name: 'uri_db',
  doc: 'To/From/R-URI checks against the authorized user and the uri/subscriber tables',
  deps: [{ module: 'auth', optional: true }],
  params,
  init: async (env): Promise<UriDbState> => {
    const p = env.params;
    const t = tables(p);
    const st: UriDbState = {
      db: null,
      log: env.log,
      p: {
        ...t,
        userColumn: p.user_column,
        domainColumn: p.domain_column,
        uriUserColumn: p.uriuser_column,
        useUriTable: p.use_uri_table,
        useDomain: p.use_domain,
      },
    };
    // opened lazily by the driver: check_to/check_from without the uri table never query it
    st.db = openDb(p.db_url, env.log);
    if (p.version_table) {
      const [table, kind] = p.use_uri_table ? [t.uriTable, 'uri' as const] : [t.subscriberTable, 'subscriber' as const];
      try {
        await checkVersion(st.db, table, versionSpec(env.dialect, kind));
      } catch (e) {
        if (!(e instanceof DbError)) {
          await st.db.close();
          throw e;
        }
        env.log.warn({ table, err: e.message }, 'uri_db: database unreachable at start, version not checked');
      }
    }
    return st;
  },
  destroy: (st) => st.db?.close(),
  functions: {
    check_to: fn({
      args: [],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: UriDbState) => checkUsername(ctx, st, partyUri(ctx, 'to')),
    }),
    check_from: fn({
      args: [],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: UriDbState) => checkUsername(ctx, st, partyUri(ctx, 'from')),
    }),
    check_uri: fn({
      args: [arg.str()],
      routes: Route.REQUEST,
      async: true,
      run: (ctx, st: UriDbState, uri) => checkUsername(ctx, st, parseUri(uri)),
    }),
    does_uri_exist: fn({
      args: [],
      routes: REQ_FAIL_BRANCH,
      async: true,
      run: async (ctx, st: UriDbState) => {
        const u = parseUri(ctx.ruri);
        if (!u) return URI_DB.URI_PARSE;
        if (!u.user) return URI_DB.NO_USER;
        if (!st.db) return URI_DB.DB_ERROR;
        const p = st.p;
        const where: Record<string, DbValue> = p.useUriTable ? { [p.uriUserColumn]: u.user } : { [p.userColumn]: u.user };
        if (p.useDomain) where[p.domainColumn] = u.host;
        try {
          const rows = await st.db.query(p.useUriTable ? p.uriTable : p.subscriberTable, { columns: [p.userColumn], where, limit: 1 });
          return rows.length ? URI_DB.OK : URI_DB.ERROR;
        } catch (e) {
          if (e instanceof DbError) return URI_DB.DB_ERROR;
          throw e;
        }
      },
    }),
  },
});
