// db_url parsing: `mysql://user:pass@host[:port]/db` and `text:///dir` (Kamailio db_mysql /
// db_text URL forms). A relative text:// path is taken from the current directory.
import { resolve } from 'node:path';
import { DbError } from './db.js';

export interface MysqlUrl {
  driver: 'mysql';
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface TextUrl {
  driver: 'text';
  dir: string;
}

export type DbUrl = MysqlUrl | TextUrl;

export function parseDbUrl(url: string): DbUrl {
  const m = /^([a-z][a-z0-9+_-]*):\/\/(.*)$/i.exec(url.trim());
  if (!m) throw new DbError('url', `bad db_url "${maskDbUrl(url)}": expected mysql://user:pass@host/db or text:///dir`);
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (scheme === 'text' || scheme === 'dbtext' || scheme === 'db_text') {
    if (rest.length === 0) throw new DbError('url', `bad db_url "${url}": text:// needs a directory`);
    return { driver: 'text', dir: resolve(rest) };
  }
  if (scheme !== 'mysql' && scheme !== 'mariadb') {
    throw new DbError('url', `unsupported db_url scheme "${scheme}://" (tser has mysql:// and text://)`);
  }
  // user:pass@ is optional; the password may contain '@' (last '@' separates the host)
  const slash = rest.indexOf('/', rest.lastIndexOf('@') + 1);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const database = slash < 0 ? '' : decodeURIComponent(rest.slice(slash + 1).replace(/[?#].*$/, ''));
  if (!database) throw new DbError('url', `bad db_url "${maskDbUrl(url)}": no database name`);
  const at = authority.lastIndexOf('@');
  const cred = at < 0 ? '' : authority.slice(0, at);
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  const colon = cred.indexOf(':');
  const user = decodeURIComponent(colon < 0 ? cred : cred.slice(0, colon));
  const password = colon < 0 ? '' : decodeURIComponent(cred.slice(colon + 1));
  const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostPort);
  if (!hp) throw new DbError('url', `bad db_url "${maskDbUrl(url)}": bad host`);
  const host = (hp[1] || 'localhost').replace(/^\[|\]$/g, '');
  const port = hp[2] ? Number(hp[2]) : 3306;
  if (port < 1 || port > 65535) throw new DbError('url', `bad db_url "${maskDbUrl(url)}": bad port`);
  return { driver: 'mysql', host, port, user: user || 'root', password, database };
}

/** the URL with the password replaced, safe for logs and error messages */
export function maskDbUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+_-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
