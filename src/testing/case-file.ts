// `tser test` case files (YAML): what to seed (users, registrations, dispatcher sets) and
// the cases (a SIP message, raw or in short form, and what must happen). Checked whole
// before anything runs: an unknown key or a malformed value is an error naming the case.
import { parse as parseYaml } from 'yaml';

export interface SeedUser {
  username: string;
  domain: string;
  password: string;
}

export interface SeedRegistration {
  aor: string;
  contact: string;
  expires: number;
  table: string;
}

export interface SeedGateway {
  setid: number;
  destination: string;
  flags: number;
  priority: number;
  attrs: string;
}

export interface ShortRequest {
  method: string;
  ruri: string;
  from: string;
  to: string;
  headers: string[];
  body: string;
}

export interface Expectation {
  /** status code of the (last) reply sent upstream */
  reply?: number;
  reason?: string;
  /** no reply at all */
  noReply?: boolean;
  /** R-URIs of the requests sent downstream, in order (one string = exactly one request) */
  forward?: string[];
  /** "ip:port" each forwarded request was sent to */
  destination?: string[];
  /** headers (name: value substring) in the reply, or else the first forwarded request */
  headers?: Record<string, string>;
  /** pseudo-variables after the request route: $ru, $du, $rU, $rd, $avp(name), $var(name) */
  pv?: Record<string, string | null>;
  /** routes entered, in order (named routes by name; request_route, failure_route[X] …) */
  route?: string[];
  /** message flags set after the request route */
  flags?: number[];
  /** table → rows (column subsets) that must be in the embedded store afterwards */
  db?: Record<string, Record<string, string | number>[]>;
}

export interface TestCase {
  name: string;
  /** the raw message text (CRLF line ends added), or built from `request` */
  raw: string | null;
  request: ShortRequest | null;
  source: { ip: string; port: number; proto: 'udp' | 'tcp' };
  /** answer a 401/407 challenge with these credentials and resend once */
  auth: { username: string; password: string } | null;
  expect: Expectation;
}

export interface CaseFile {
  users: SeedUser[];
  registrations: SeedRegistration[];
  dispatcher: SeedGateway[];
  /** host name → "ip[:port]" used instead of DNS */
  dns: Record<string, string>;
  cases: TestCase[];
}

export class CaseFileError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keysOnly(o: Obj, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new CaseFileError(`${where}: unknown key "${k}" (known: ${allowed.join(', ')})`);
}

function str(o: Obj, k: string, where: string, def?: string): string {
  const v = o[k];
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    throw new CaseFileError(`${where}: "${k}" is required`);
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new CaseFileError(`${where}: "${k}" must be a string`);
  return String(v);
}

function int(o: Obj, k: string, where: string, def: number): number {
  const v = o[k] ?? def;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw new CaseFileError(`${where}: "${k}" must be an integer`);
  return n;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CaseFileError(`${where} must be a list`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v];
  return list(v, where).map((x, i) => {
    if (typeof x !== 'string') throw new CaseFileError(`${where}[${i}] must be a string`);
    return x;
  });
}

function parseSource(v: unknown, where: string): TestCase['source'] {
  if (v === undefined) return { ip: '10.0.0.5', port: 5070, proto: 'udp' };
  if (typeof v !== 'string') throw new CaseFileError(`${where}: "source" must be "[udp:|tcp:]ip:port"`);
  const m = /^(?:(udp|tcp):)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/i.exec(v.trim());
  if (!m) throw new CaseFileError(`${where}: bad source "${v}" (want [udp:|tcp:]ip[:port])`);
  return { proto: (m[1]?.toLowerCase() ?? 'udp') as 'udp' | 'tcp', ip: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3] ?? 5060) };
}

function parseExpect(v: unknown, where: string): Expectation {
  if (!isObj(v)) throw new CaseFileError(`${where}: "expect" must be a map`);
  keysOnly(v, ['reply', 'reason', 'no_reply', 'forward', 'destination', 'headers', 'route', 'pv', 'flags', 'db'], `${where} expect`);
  const e: Expectation = {};
  if (v.reply !== undefined) {
    const m = /^(\d{3})(?:\s+(.+))?$/.exec(String(v.reply).trim());
    if (!m) throw new CaseFileError(`${where}: expect.reply must be a status code ("404" or "404 Not Found")`);
    e.reply = Number(m[1]);
    if (m[2]) e.reason = m[2];
  }
  if (v.reason !== undefined) e.reason = str(v, 'reason', where);
  if (v.no_reply !== undefined) e.noReply = v.no_reply === true;
  if (v.forward !== undefined) e.forward = strList(v.forward, `${where} expect.forward`);
  if (v.destination !== undefined) e.destination = strList(v.destination, `${where} expect.destination`);
  if (v.headers !== undefined) {
    if (!isObj(v.headers)) throw new CaseFileError(`${where}: expect.headers must be a map of name: value`);
    e.headers = Object.fromEntries(Object.entries(v.headers).map(([k, x]) => [k, String(x)]));
  }
  if (v.route !== undefined) e.route = strList(v.route, `${where} expect.route`);
  if (v.pv !== undefined) {
    if (!isObj(v.pv)) throw new CaseFileError(`${where}: expect.pv must be a map of $pv: value`);
    e.pv = {};
    for (const [k, x] of Object.entries(v.pv)) {
      if (!/^\$(ru|du|rU|rd|avp\([^()]+\)|var\([^()]+\))$/.test(k)) throw new CaseFileError(`${where}: expect.pv: "${k}" is not one of $ru, $du, $rU, $rd, $avp(name), $var(name)`);
      e.pv[k] = x === null ? null : String(x);
    }
  }
  if (v.flags !== undefined) {
    e.flags = list(v.flags, `${where} expect.flags`).map((f) => {
      if (!Number.isInteger(f) || (f as number) < 0 || (f as number) > 31) throw new CaseFileError(`${where}: expect.flags takes flag numbers 0..31`);
      return f as number;
    });
  }
  if (v.db !== undefined) {
    if (!isObj(v.db)) throw new CaseFileError(`${where}: expect.db must be a map of table: [rows]`);
    e.db = {};
    for (const [t, rows] of Object.entries(v.db)) {
      e.db[t] = list(rows, `${where} expect.db.${t}`).map((r, i) => {
        if (!isObj(r)) throw new CaseFileError(`${where}: expect.db.${t}[${i}] must be a map of column: value`);
        return Object.fromEntries(Object.entries(r).map(([k, x]) => [k, typeof x === 'number' ? x : String(x)]));
      });
    }
  }
  return e;
}

function parseCase(v: unknown, i: number): TestCase {
  if (!isObj(v)) throw new CaseFileError(`case ${i + 1} must be a map`);
  const name = typeof v.name === 'string' ? v.name : `case ${i + 1}`;
  const where = `case "${name}"`;
  keysOnly(v, ['name', 'message', 'request', 'source', 'auth', 'expect'], where);
  let raw: string | null = null;
  let request: ShortRequest | null = null;
  if (typeof v.message === 'string') raw = v.message;
  else if (isObj(v.request)) {
    const r = v.request;
    keysOnly(r, ['method', 'ruri', 'from', 'to', 'headers', 'body'], `${where} request`);
    const ruri = str(r, 'ruri', where);
    request = {
      method: str(r, 'method', where).toUpperCase(),
      ruri,
      from: str(r, 'from', where, 'sip:test@tser.test'),
      to: str(r, 'to', where, ruri),
      headers: strList(r.headers, `${where} request.headers`),
      body: str(r, 'body', where, ''),
    };
  } else throw new CaseFileError(`${where}: needs "message" (raw SIP text) or "request" (method, ruri, from, to, headers, body)`);
  if (v.expect === undefined) throw new CaseFileError(`${where}: needs "expect"`);
  let auth: TestCase['auth'] = null;
  if (v.auth !== undefined) {
    if (!isObj(v.auth)) throw new CaseFileError(`${where}: "auth" must be {username, password}`);
    keysOnly(v.auth, ['username', 'password'], `${where} auth`);
    auth = { username: str(v.auth, 'username', where), password: str(v.auth, 'password', where) };
  }
  return { name, raw, request, source: parseSource(v.source, where), auth, expect: parseExpect(v.expect, where) };
}

export function parseCaseFile(text: string, file: string): CaseFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new CaseFileError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw new CaseFileError(`${file}: expected a map with "cases"`);
  keysOnly(doc, ['users', 'registrations', 'dispatcher', 'dns', 'cases'], file);
  const users = list(doc.users, 'users').map((u, i) => {
    if (!isObj(u)) throw new CaseFileError(`users[${i}] must be a map`);
    keysOnly(u, ['username', 'domain', 'password'], `users[${i}]`);
    return { username: str(u, 'username', `users[${i}]`), domain: str(u, 'domain', `users[${i}]`), password: str(u, 'password', `users[${i}]`) };
  });
  const registrations = list(doc.registrations, 'registrations').map((r, i) => {
    if (!isObj(r)) throw new CaseFileError(`registrations[${i}] must be a map`);
    keysOnly(r, ['aor', 'contact', 'expires', 'table'], `registrations[${i}]`);
    const w = `registrations[${i}]`;
    return { aor: str(r, 'aor', w), contact: str(r, 'contact', w), expires: int(r, 'expires', w, 3600), table: str(r, 'table', w, 'location') };
  });
  const dispatcher = list(doc.dispatcher, 'dispatcher').map((g, i) => {
    if (!isObj(g)) throw new CaseFileError(`dispatcher[${i}] must be a map`);
    const w = `dispatcher[${i}]`;
    keysOnly(g, ['setid', 'destination', 'flags', 'priority', 'attrs'], w);
    return { setid: int(g, 'setid', w, 1), destination: str(g, 'destination', w), flags: int(g, 'flags', w, 0), priority: int(g, 'priority', w, 0), attrs: str(g, 'attrs', w, '') };
  });
  const dns: Record<string, string> = {};
  if (doc.dns !== undefined) {
    if (!isObj(doc.dns)) throw new CaseFileError('dns must be a map of host: ip[:port]');
    for (const [k, x] of Object.entries(doc.dns)) dns[k.toLowerCase()] = String(x);
  }
  const cases = list(doc.cases, 'cases').map(parseCase);
  if (cases.length === 0) throw new CaseFileError(`${file}: no cases`);
  return { users, registrations, dispatcher, dns, cases };
}
