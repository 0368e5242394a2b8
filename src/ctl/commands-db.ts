// tserctl commands that work on the database directly (kamctl/serctl add, rm, passwd, show,
// alias; kamdbctl create/drop/migrate). Subscribers get ha1 = MD5(user:domain:pw) and
// ha1b = MD5(user@domain:domain:pw) as kamctl writes them; the plaintext password only with
// --plaintext / STORE_PLAINTEXT_PW=1 (needed by configs with calculate_ha1=1, like the seed).
import pino from 'pino';
import { computeHa1 } from '../../modules/auth/digest.js';
import { DbError, type Db, type DbRow } from '../db/db.js';
import { openDb } from '../db/open.js';
import { createSchema, dropSchema, migrateSchema } from '../db/schema.js';
import { parseDbUrl, maskDbUrl } from '../db/url.js';
import { createMysqlDatabase } from '../db/mysql.js';
import type { CtlCommand, CtlContext } from './commands-rpc.js';
import { readRc } from './rpc-client.js';
import type { ErrorCode } from '../core/errors.js';

/** what tserctl passes to database commands on top of the shared context */
export interface DbCtlContext extends CtlContext {
  /** -d URL */
  dbUrl?: string;
  /** -D DOMAIN */
  domain?: string;
  /** --plaintext */
  plaintext?: boolean;
}

/** a usage or data problem: one line on stderr, exit code 1 */
export class CommandError extends Error {
  readonly code: ErrorCode = 'TSER_E_CTL';
}

interface Env {
  rc: Record<string, string>;
  out: (t: string) => void;
  err: (t: string) => void;
  ctx: DbCtlContext;
}

function envOf(ctx: DbCtlContext): Env {
  return {
    rc: ctx.rc ?? readRc(),
    out: ctx.out ?? ((t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`)),
    err: ctx.err ?? ((t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`)),
    ctx,
  };
}

/** -d, then $TSER_DB_URL, then DBURL= (or kamctlrc's DBENGINE/DBHOST/...) from tserctl.rc */
export function dbUrlOf(ctx: DbCtlContext, rc: Record<string, string>): string {
  const url = ctx.dbUrl ?? process.env.TSER_DB_URL ?? rc.DBURL ?? rc.DB_URL ?? kamctlrcUrl(rc);
  if (!url) throw new CommandError('no database: use -d URL, set TSER_DB_URL, or DBURL= in tserctl.rc');
  return url;
}

/** DBENGINE=MYSQL DBHOST DBPORT DBNAME DBRWUSER DBRWPW, or DBENGINE=DBTEXT DB_PATH (kamctlrc) */
function kamctlrcUrl(rc: Record<string, string>): string | undefined {
  const engine = (rc.DBENGINE ?? '').toUpperCase();
  if (engine === 'DBTEXT' || engine === 'TEXT') return rc.DB_PATH ? `text://${rc.DB_PATH}` : undefined;
  if (engine !== 'MYSQL' && engine !== 'MARIADB') return undefined;
  const user = encodeURIComponent(rc.DBRWUSER ?? 'kamailio');
  const pw = rc.DBRWPW ? `:${encodeURIComponent(rc.DBRWPW)}` : '';
  const port = rc.DBPORT ? `:${rc.DBPORT}` : '';
  return `mysql://${user}${pw}@${rc.DBHOST ?? 'localhost'}${port}/${rc.DBNAME ?? 'kamailio'}`;
}

function plaintext(e: Env): boolean {
  if (e.ctx.plaintext) return true;
  const v = process.env.STORE_PLAINTEXT_PW ?? e.rc.STORE_PLAINTEXT_PW ?? '0';
  return /^(1|yes|true|on)$/i.test(v.trim());
}

interface Account {
  user: string;
  domain: string;
}

/** "1000", "1000@example.com" or "sip:1000@example.com"; domain from -D / SIP_DOMAIN otherwise */
export function accountOf(text: string, e: Env): Account {
  const t = text.replace(/^sips?:/i, '');
  const at = t.lastIndexOf('@');
  const user = at >= 0 ? t.slice(0, at) : t;
  const domain = at >= 0 ? t.slice(at + 1) : (e.ctx.domain ?? process.env.SIP_DOMAIN ?? e.rc.SIP_DOMAIN ?? '');
  if (!/^[^\s:@;<>"]+$/.test(user)) throw new CommandError(`bad user name "${text}"`);
  if (!domain) throw new CommandError(`no SIP domain for "${text}": write USER@DOMAIN, use -D DOMAIN, or set SIP_DOMAIN`);
  if (!/^[^\s:@;<>"/]+$/.test(domain)) throw new CommandError(`bad domain "${domain}"`);
  return { user, domain };
}

/** open the DB, run, close; DB failures become one clear line */
async function withDb<T>(e: Env, body: (db: Db, url: string) => Promise<T>): Promise<T> {
  const url = dbUrlOf(e.ctx, e.rc);
  let db: Db;
  try {
    db = openDb(url, pino({ level: 'silent' }));
  } catch (err) {
    throw new CommandError((err as Error).message);
  }
  try {
    return await body(db, url);
  } catch (err) {
    if (err instanceof DbError) {
      const m = err.message.replace(/^database \S+ unreachable: /, '');
      throw new CommandError(err.kind === 'down' ? `cannot reach database ${maskDbUrl(url)}: ${m}` : `database error: ${err.message}`);
    }
    throw err;
  } finally {
    await db.close().catch(() => undefined);
  }
}

async function guarded(ctx: DbCtlContext, usage: string, args: string[], min: number, max: number, body: (e: Env) => Promise<void>): Promise<number> {
  const e = envOf(ctx);
  try {
    if (args.length < min || args.length > max) throw new CommandError(`usage: tserctl ${usage}`);
    await body(e);
    return 0;
  } catch (err) {
    if (err instanceof CommandError) {
      e.err(`tserctl: ${err.message}`);
      return 1;
    }
    e.err(`tserctl: ${(err as Error).message}`);
    return 1;
  }
}

function credentialColumns(a: Account, password: string, plain: boolean): DbRow {
  return {
    password: plain ? password : '',
    ha1: computeHa1('MD5', a.user, a.domain, password),
    ha1b: computeHa1('MD5', `${a.user}@${a.domain}`, a.domain, password),
  };
}

async function findUser(db: Db, a: Account): Promise<DbRow | undefined> {
  const rows = await db.query('subscriber', { where: { username: a.user, domain: a.domain }, limit: 1 });
  return rows[0];
}

function checkPassword(pw: string): void {
  if (pw.length === 0) throw new CommandError('empty password');
}

// ---------------- subscribers ----------------

const add: CtlCommand = {
  name: 'add',
  usage: 'add USER PASSWORD [EMAIL]',
  help: 'add a subscriber (USER or USER@DOMAIN)',
  run: (a, ctx: DbCtlContext) =>
    guarded(ctx, add.usage, a, 2, 3, async (e) => {
      const acc = accountOf(a[0], e);
      checkPassword(a[1]);
      await withDb(e, async (db) => {
        if (await findUser(db, acc)) throw new CommandError(`user ${acc.user}@${acc.domain} already exists`);
        const row: DbRow = { username: acc.user, domain: acc.domain, ...credentialColumns(acc, a[1], plaintext(e)) };
        // SER 0.9 schemas still have email_address; Kamailio's has none
        const cols = (await db.tableColumns?.('subscriber')) ?? [];
        if (a[2] !== undefined && cols.includes('email_address')) row.email_address = a[2];
        await db.insert('subscriber', row);
        e.out(`added ${acc.user}@${acc.domain}`);
      });
    }),
};

const rm: CtlCommand = {
  name: 'rm',
  usage: 'rm USER',
  help: 'remove a subscriber',
  run: (a, ctx: DbCtlContext) =>
    guarded(ctx, rm.usage, a, 1, 1, async (e) => {
      const acc = accountOf(a[0], e);
      await withDb(e, async (db) => {
        const n = await db.delete('subscriber', { username: acc.user, domain: acc.domain });
        if (n === 0) throw new CommandError(`no such user ${acc.user}@${acc.domain}`);
        e.out(`removed ${acc.user}@${acc.domain}`);
      });
    }),
};

const passwd: CtlCommand = {
  name: 'passwd',
  usage: 'passwd USER PASSWORD',
  help: "change a subscriber's password",
  run: (a, ctx: DbCtlContext) =>
    guarded(ctx, passwd.usage, a, 2, 2, async (e) => {
      const acc = accountOf(a[0], e);
      checkPassword(a[1]);
      await withDb(e, async (db) => {
        if (!(await findUser(db, acc))) throw new CommandError(`no such user ${acc.user}@${acc.domain}`);
        await db.update('subscriber', { username: acc.user, domain: acc.domain }, credentialColumns(acc, a[1], plaintext(e)));
        e.out(`password changed for ${acc.user}@${acc.domain}`);
      });
    }),
};

const show: CtlCommand = {
  name: 'show',
  usage: 'show [USER]',
  help: 'list subscribers, or show one (secrets are not printed)',
  run: (a, ctx: DbCtlContext) =>
    guarded(ctx, show.usage, a, 0, 1, async (e) => {
      await withDb(e, async (db) => {
        if (a.length === 0) {
          const rows = await db.query('subscriber', { columns: ['username', 'domain'], orderBy: 'username' });
          for (const r of rows) e.out(`${String(r.username)}@${String(r.domain)}`);
          return;
        }
        const acc = accountOf(a[0], e);
        const row = await findUser(db, acc);
        if (!row) throw new CommandError(`no such user ${acc.user}@${acc.domain}`);
        for (const [k, v] of Object.entries(row)) {
          const secret = k === 'password' || k === 'ha1' || k === 'ha1b';
          e.out(`${k}: ${secret ? (v ? '(set)' : '(empty)') : v === null ? 'NULL' : v instanceof Date ? v.toISOString() : String(v)}`);
        }
      });
    }),
};

// ---------------- aliases (Kamailio alias_db table dbaliases) ----------------

const alias: CtlCommand = {
  name: 'alias',
  usage: 'alias add ALIAS TARGET | alias rm ALIAS | alias show [ALIAS]',
  help: 'R-URI aliases in dbaliases (alias_db_lookup); names are USER or USER@DOMAIN',
  run: (a, ctx: DbCtlContext) => {
    const [sub, ...rest] = a;
    const ok = (sub === 'add' && rest.length === 2) || (sub === 'rm' && rest.length === 1) || (sub === 'show' && rest.length <= 1);
    return guarded(ctx, alias.usage, a, 1, 3, async (e) => {
      if (!ok) throw new CommandError(`usage: tserctl ${alias.usage}`);
      await withDb(e, async (db) => {
        if (sub === 'add') {
          const from = accountOf(rest[0], e);
          const to = accountOf(rest[1], e);
          const exists = await db.query('dbaliases', {
            where: { alias_username: from.user, alias_domain: from.domain, username: to.user, domain: to.domain },
            limit: 1,
          });
          if (exists.length) throw new CommandError(`alias ${from.user}@${from.domain} -> ${to.user}@${to.domain} already exists`);
          await db.insert('dbaliases', { alias_username: from.user, alias_domain: from.domain, username: to.user, domain: to.domain });
          e.out(`added alias ${from.user}@${from.domain} -> ${to.user}@${to.domain}`);
        } else if (sub === 'rm') {
          const from = accountOf(rest[0], e);
          const n = await db.delete('dbaliases', { alias_username: from.user, alias_domain: from.domain });
          if (n === 0) throw new CommandError(`no such alias ${from.user}@${from.domain}`);
          e.out(`removed alias ${from.user}@${from.domain}`);
        } else {
          const f = rest[0] ? accountOf(rest[0], e) : null;
          const where = f ? { alias_username: f.user, alias_domain: f.domain } : undefined;
          const rows = await db.query('dbaliases', { where, orderBy: 'alias_username' });
          if (rest[0] && rows.length === 0) throw new CommandError(`no such alias ${rest[0]}`);
          for (const r of rows) e.out(`${String(r.alias_username)}@${String(r.alias_domain)} -> ${String(r.username)}@${String(r.domain)}`);
        }
      });
    });
  },
};

// ---------------- schema (kamdbctl) ----------------

const dbCmd: CtlCommand = {
  name: 'db',
  usage: 'db create [TABLE...] | db drop --yes [TABLE...] | db migrate [TABLE...]',
  help: 'create the Kamailio 5.6 tables and version rows, drop them, or upgrade an older (SER 0.9) database',
  run: (a, ctx: DbCtlContext) => {
    const [sub, ...rest] = a;
    const known = sub === 'create' || sub === 'drop' || sub === 'migrate';
    return guarded(ctx, dbCmd.usage, a, 1, Infinity, async (e) => {
      if (!known) throw new CommandError(`usage: tserctl ${dbCmd.usage}`);
      const yes = rest.includes('--yes') || rest.includes('-y');
      const tables = rest.filter((x) => x !== '--yes' && x !== '-y');
      if (sub === 'drop' && !yes) throw new CommandError('db drop deletes every subscriber and contact: repeat with --yes');
      const url = dbUrlOf(e.ctx, e.rc);
      // kamdbctl create also creates the database itself
      if (sub === 'create' && parseDbUrl(url).driver === 'mysql') {
        try {
          await createMysqlDatabase(url);
        } catch (err) {
          // a user without CREATE rights on an existing database can still create the tables
          if (err instanceof DbError && err.kind === 'down') throw new CommandError(`cannot reach database ${maskDbUrl(url)}: ${err.message}`);
        }
      }
      await withDb(e, async (db) => {
        if (sub === 'create') e.out(`created tables: ${(await createSchema(db, tables)).join(', ')}`);
        else if (sub === 'drop') e.out(`dropped tables: ${(await dropSchema(db, tables)).join(', ')}`);
        else {
          const changes = await migrateSchema(db, tables);
          e.out(changes.length ? changes.join('\n') : 'database is up to date');
        }
      });
    });
  },
};

export const dbCommands: CtlCommand[] = [add, rm, passwd, show, alias, dbCmd];
