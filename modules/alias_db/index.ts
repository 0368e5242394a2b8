// alias_db: R-URI rewriting from the `dbaliases` table (Kamailio 5.6 alias_db): when the
// R-URI user[@domain] is an alias, it becomes sip:username@domain of the target; other
// targets become branches with append_branches. One DB query per call, no cache.
// SER 0.9's lookup("aliases") is the registrar's (aliases as a usrloc table), not this.
import type { Logger } from 'pino';
import { ArgError, arg, defineModule, fn, optional, param, REQ_FAIL_BRANCH, type ArgSpec } from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { DbError, type Db, type DbValue } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { checkVersion } from '../../src/db/schema.js';
import { parseUri } from '../../src/sip/index.js';

export const DBALIASES_VERSION = 1;

const NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const col = (d: string) => param.str(d, { validate: (v) => (NAME.test(v) ? null : `bad column name "${v}"`) });

const params = {
  db_url: param.str('mysql://kamailioro:kamailioro@localhost/kamailio'),
  user_column: col('username'),
  domain_column: col('domain'),
  alias_user_column: col('alias_username'),
  alias_domain_column: col('alias_domain'),
  use_domain: param.bool(false),
  domain_prefix: param.str(''),
  append_branches: param.bool(false),
  version_table: param.bool(true),
};

interface Flags {
  /** null: the use_domain parameter decides */
  useDomain: boolean | null;
  reverse: boolean;
}

const flagsArg = (): ArgSpec<Flags> =>
  arg.custom('alias flags', (s) => {
    const f: Flags = { useDomain: null, reverse: false };
    for (const c of s.trim().toLowerCase()) {
      if (c === 'd') f.useDomain = false;
      else if (c === 'u') f.useDomain = true;
      else if (c === 'r') f.reverse = true;
      else throw new ArgError(`unknown alias_db flag "${c}" (use d, u, r)`);
    }
    return f;
  });

const tableArg = (): ArgSpec<string> =>
  arg.custom('table name', (s) => {
    if (!NAME.test(s.trim())) throw new ArgError(`bad table name "${s}"`);
    return s.trim();
  });

interface AliasState {
  db: Db;
  log: Logger;
  p: {
    user: string;
    domain: string;
    aliasUser: string;
    aliasDomain: string;
    useDomain: boolean;
    domainPrefix: string;
    appendBranches: boolean;
    checkVersion: boolean;
  };
  checked: Set<string>;
}

/** the targets of the R-URI (or, reversed, its aliases) as sip: URIs; null on DB error */
export async function findAliases(st: AliasState, ctx: MsgContext, table: string, flags: Flags): Promise<string[] | null> {
  const u = parseUri(ctx.ruri);
  if (!u || !u.user) return [];
  let host = u.host;
  const pre = st.p.domainPrefix;
  if (pre && host.length > pre.length && host.toLowerCase().startsWith(pre.toLowerCase())) host = host.slice(pre.length);
  const useDomain = flags.useDomain ?? st.p.useDomain;
  const p = st.p;
  const [keyUser, keyDomain, outUser, outDomain] = flags.reverse
    ? [p.user, p.domain, p.aliasUser, p.aliasDomain]
    : [p.aliasUser, p.aliasDomain, p.user, p.domain];
  const where: Record<string, DbValue> = { [keyUser]: u.user };
  if (useDomain) where[keyDomain] = host;
  try {
    if (p.checkVersion && !st.checked.has(table)) {
      await checkVersion(st.db, table, DBALIASES_VERSION);
      st.checked.add(table);
    }
    const rows = await st.db.query(table, { columns: [outUser, outDomain], where });
    return rows.map((r) => `sip:${String(r[outUser] ?? '')}@${String(r[outDomain] ?? '')}`);
  } catch (e) {
    st.log.warn({ table, err: (e as Error).message }, 'alias_db: lookup failed');
    if (e instanceof DbError || (e as Error).name === 'VersionError') return null;
    throw e;
  }
}

export default defineModule({
  name: 'alias_db',
  doc: 'R-URI aliases from the dbaliases table',
  params,
  init: (env): AliasState => {
    const p = env.params;
    return {
      db: openDb(p.db_url, env.log),
      log: env.log,
      p: {
        user: p.user_column,
        domain: p.domain_column,
        aliasUser: p.alias_user_column,
        aliasDomain: p.alias_domain_column,
        useDomain: p.use_domain,
        domainPrefix: p.domain_prefix,
        appendBranches: p.append_branches,
        checkVersion: p.version_table,
      },
      checked: new Set(),
    };
  },
  destroy: (st) => st.db.close(),
  functions: {
    alias_db_lookup: fn({
      args: [tableArg(), optional(flagsArg())],
      routes: REQ_FAIL_BRANCH,
      async: true,
      run: async (ctx, st: AliasState, table, flags) => {
        const found = await findAliases(st, ctx, table, flags ?? { useDomain: null, reverse: false });
        if (found === null || found.length === 0) return -1;
        ctx.newUri = found[0]!;
        if (st.p.appendBranches) {
          for (const uri of found.slice(1)) ctx.branches.push({ uri, dstUri: null, q: null, path: null, flags: 0 });
        }
        return 1;
      },
    }),
  },
});
