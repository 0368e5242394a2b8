// usrloc RPC methods: Kamailio 5.6 `ul.*` (result shapes as K56 ul_rpc.c) and the SER 0.9
// FIFO names (`ul_dump`, `ul_rm`, …). Positional params; errors are UlRpcError(code, text).
import type { RpcParams, RpcSpec } from '../../src/core/module-api.js';
import { ALL_METHODS, aorFromText, FL_PERMANENT, Q_UNSPECIFIED, UlRpcError, type UlContact, type UlDomain } from './api.js';
import { isPermanent, isValid } from './contact.js';
import type { UsrlocStore } from './store.js';

export interface RpcState {
  store: UsrlocStore;
}

function str(params: RpcParams, i: number, what: string): string {
  const v = params[i];
  if (v === undefined || v === null || String(v).trim() === '') throw new UlRpcError(400, `missing parameter: ${what}`);
  return String(v).trim();
}

function optNum(params: RpcParams, i: number, what: string, def: number): number {
  const v = params[i];
  if (v === undefined || v === null || String(v).trim() === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UlRpcError(400, `invalid ${what}: ${String(v)}`);
  return n;
}

/** q as text ("0.5") → qvalue (500); absent → unspecified */
function qOf(params: RpcParams, i: number): number {
  const v = params[i];
  if (v === undefined || v === null || String(v).trim() === '') return Q_UNSPECIFIED;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1000) throw new UlRpcError(400, 'Invalid q value');
  return n <= 1 ? Math.round(n * 1000) : Math.round(n);
}

function qText(q: number): string {
  if (q === Q_UNSPECIFIED) return '';
  if (q >= 1000) return '1';
  if (q <= 0) return '0';
  return String(q / 1000);
}

/** a known table; the store would create an empty one for any name */
function table(st: RpcState, name: string): UlDomain {
  const d = st.store.domains().find((x) => x.name === name);
  if (d) return d;
  // db_mode 3 tables exist in the DB even when not used yet
  if (st.store.dbMode === 3) return st.store.getDomain(name);
  throw new UlRpcError(404, `Table '${name}' not found in memory, use save("${name}") or lookup("${name}") in the configuration script first`);
}

/** contacts of an AOR as given by an operator (`alice`, `alice@dom`, `sip:alice@dom`) */
async function find(st: RpcState, d: UlDomain, text: string): Promise<{ aor: string; list: readonly UlContact[] }> {
  const aor = aorFromText(text, st.store.useDomain);
  let list = await d.get(aor);
  if (list.length === 0 && aor !== aor.toLowerCase()) list = await d.get(aor.toLowerCase());
  return { aor: list[0]?.aor ?? aor, list };
}

function contactInfo(c: UlContact, now: number, brief: boolean): Record<string, unknown> {
  const expires = isPermanent(c) ? 'permanent' : c.expires <= now ? 'expired' : c.expires - now;
  if (brief) return { Address: c.uri, Expires: expires };
  const notSet = '[not set]';
  return {
    Address: c.uri,
    Expires: expires,
    Q: c.q === Q_UNSPECIFIED ? -1 : c.q / 1000, // numbers, as Kamailio (-1: not given)
    'Call-ID': c.callid,
    CSeq: c.cseq,
    'User-Agent': c.userAgent,
    Received: c.received ?? notSet,
    Path: c.path ?? notSet,
    State: c.memOnly ? 'CS_MEM' : 'CS_SYNC',
    Flags: c.flags,
    CFlags: c.cflags,
    Socket: c.socket ?? notSet,
    Methods: c.methods >>> 0,
    Ruid: c.ruid,
    Instance: c.instance ?? notSet,
    'Reg-Id': c.regId,
    'Server-Id': c.serverId,
    'Tcpconn-Id': c.connectionId,
    Keepalive: c.keepalive,
    'Last-Modified': c.lastModified,
  };
}

async function dump(st: RpcState, brief: boolean): Promise<unknown> {
  const now = st.store.now();
  const domains = [];
  for (const d of st.store.domains()) {
    const all = await d.dump();
    // brief: the AoRs only, as Kamailio (what `kamctl online` greps for)
    const aors = [...all].map(([aor, list]) =>
      brief ? { AoR: aor } : { Info: { AoR: aor, HashID: 0, Contacts: list.map((c) => ({ Contact: contactInfo(c, now, false) })) } },
    );
    domains.push({ Domain: { Domain: d.name, Size: all.size, AoRs: aors, Stats: { Records: all.size, 'Max-Slots': 0 } } });
  }
  return { Domains: domains };
}

async function lookup(st: RpcState, p: RpcParams): Promise<unknown> {
  const d = table(st, str(p, 0, 'table'));
  const { aor, list } = await find(st, d, str(p, 1, 'AOR'));
  if (list.length === 0) throw new UlRpcError(404, 'AOR not found');
  const now = st.store.now();
  return { AoR: aor, Contacts: list.map((c) => ({ Contact: contactInfo(c, now, false) })) };
}

async function rm(st: RpcState, p: RpcParams): Promise<unknown> {
  const d = table(st, str(p, 0, 'table'));
  const { aor, list } = await find(st, d, str(p, 1, 'AOR'));
  if (list.length === 0) throw new UlRpcError(404, 'AOR not found');
  const n = await d.lock(aor, () => d.remove(aor));
  await d.sync();
  return { AoR: aor, Removed: n };
}

async function rmContact(st: RpcState, p: RpcParams): Promise<unknown> {
  const d = table(st, str(p, 0, 'table'));
  const { aor, list } = await find(st, d, str(p, 1, 'AOR'));
  if (list.length === 0) throw new UlRpcError(404, 'AOR not found');
  const uri = str(p, 2, 'contact').replace(/^<|>$/g, '');
  const c = list.find((x) => x.uri === uri);
  if (!c) throw new UlRpcError(404, 'Contact not found');
  await d.lock(aor, () => d.delete(c));
  await d.sync();
  return { AoR: aor, Contact: uri };
}

interface AddArgs {
  table: string;
  aor: string;
  uri: string;
  expires: number;
  q: number;
  path: string | null;
  flags: number;
  cflags: number;
  methods: number;
}

/** add or replace a binding by hand (serctl/kamctl `ul add`); expires 0 = permanent */
async function add(st: RpcState, a: AddArgs): Promise<unknown> {
  const d = st.store.getDomain(a.table);
  const aor = aorFromText(a.aor, st.store.useDomain);
  const uri = a.uri.replace(/^<|>$/g, '');
  if (!/^(sips?|tel):/i.test(uri)) throw new UlRpcError(400, `invalid contact URI: ${uri}`);
  const now = st.store.now();
  const permanent = a.expires <= 0 || (a.flags & FL_PERMANENT) !== 0;
  const ci = {
    uri,
    expires: permanent ? 0 : now + a.expires,
    q: a.q,
    callid: 'dfjrewr12386fd6-343@kamailio.rpc',
    cseq: 1,
    flags: a.flags,
    cflags: a.cflags,
    userAgent: 'SIP Router MI Server',
    path: a.path,
    methods: a.methods,
  };
  await d.lock(aor, async () => {
    const old = (await d.get(aor)).find((x) => x.uri === uri);
    if (old) await d.update(old, ci);
    else await d.insert(aor, ci);
  });
  await d.sync();
  return { AoR: aor, Contact: uri };
}

async function dbCount(st: RpcState, p: RpcParams, what: 'users' | 'contacts' | 'expired'): Promise<unknown> {
  const name = str(p, 0, 'table');
  if (st.store.dbMode === 0) throw new UlRpcError(500, 'no DB in db_mode 0');
  const all = await st.store.dbCounts(name);
  const n = what === 'users' ? all.users : what === 'contacts' ? all.contacts : all.expired;
  return { Domain: name, [what === 'users' ? 'Users' : what === 'contacts' ? 'Contacts' : 'Expired']: n };
}

function showContact(list: readonly UlContact[], now: number): string[] {
  return list
    .filter((c) => isValid(c, now))
    .map((c) => {
      const q = c.q === Q_UNSPECIFIED ? '' : `;q=${qText(c.q)}`;
      const e = isPermanent(c) ? ';expires=permanent' : `;expires=${c.expires - now}`;
      return `<${c.uri}>${q}${e}`;
    });
}

export const ulRpc: Record<string, RpcSpec<RpcState>> = {
  'ul.dump': {
    help: 'dump every usrloc table (param: "brief" for address and expires only)',
    run: async (st, p) => dump(st, String(p[0] ?? '') === 'brief'),
  },
  'ul.lookup': { help: 'contacts of an AOR: table AOR', run: async (st, p) => lookup(st, p) },
  'ul.rm': { help: 'remove an AOR with all its contacts: table AOR', run: async (st, p) => rm(st, p) },
  'ul.rm_contact': { help: 'remove one contact: table AOR contact', run: async (st, p) => rmContact(st, p) },
  'ul.add': {
    help: 'add a contact: table AOR contact [expires [q [path [flags [cflags [methods]]]]]] (expires 0 = permanent)',
    run: async (st, p) =>
      add(st, {
        table: str(p, 0, 'table'),
        aor: str(p, 1, 'AOR'),
        uri: str(p, 2, 'contact'),
        expires: optNum(p, 3, 'expires', 0),
        q: qOf(p, 4),
        path: p[5] === undefined || p[5] === null || String(p[5]) === '' || String(p[5]) === '0' ? null : String(p[5]),
        flags: optNum(p, 6, 'flags', 0),
        cflags: optNum(p, 7, 'cflags', 0),
        methods: optNum(p, 8, 'methods', ALL_METHODS),
      }),
  },
  'ul.flush': {
    help: 'write every dirty contact to the DB now',
    run: async (st) => {
      if (!(await st.store.flush())) throw new UlRpcError(500, 'DB write failed; contacts kept in memory');
      return { Flushed: true };
    },
  },
  'ul.db_users': { help: 'AORs with unexpired contacts in the DB table', run: async (st, p) => dbCount(st, p, 'users') },
  'ul.db_contacts': { help: 'contacts in the DB table', run: async (st, p) => dbCount(st, p, 'contacts') },
  'ul.db_expired_contacts': { help: 'expired contacts in the DB table', run: async (st, p) => dbCount(st, p, 'expired') },

  // SER 0.9 FIFO commands
  ul_dump: { help: 'SER 0.9: dump every table', run: async (st) => dump(st, false) },
  ul_flush: { help: 'SER 0.9: flush to the DB', run: async (st) => st.store.flush().then(() => 'flushed') },
  ul_rm: {
    help: 'SER 0.9: table AOR',
    run: async (st, p) => {
      await rm(st, p);
      return `User (${str(p, 1, 'AOR')}) deleted`;
    },
  },
  ul_rm_contact: {
    help: 'SER 0.9: table AOR contact',
    run: async (st, p) => {
      await rmContact(st, p);
      return 'Contact deleted';
    },
  },
  ul_add: {
    help: 'SER 0.9: table AOR contact expires q replicate flags',
    run: async (st, p) => {
      const expires = Number(str(p, 3, 'expires'));
      if (!Number.isFinite(expires)) throw new UlRpcError(400, 'Invalid expires format');
      await add(st, {
        table: str(p, 0, 'table'),
        aor: str(p, 1, 'AOR'),
        uri: str(p, 2, 'contact'),
        expires,
        q: qOf(p, 4),
        path: null,
        flags: optNum(p, 6, 'flags', 0),
        cflags: 0,
        methods: ALL_METHODS,
      });
      return 'Added to table';
    },
  },
  ul_show_contact: {
    help: 'SER 0.9: table AOR',
    run: async (st, p) => {
      const d = table(st, str(p, 0, 'table'));
      const { list } = await find(st, d, str(p, 1, 'AOR'));
      const lines = showContact(list, st.store.now());
      if (lines.length === 0) throw new UlRpcError(404, `Username ${str(p, 1, 'AOR')} in table ${d.name} not found`);
      return lines;
    },
  },
  ul_stats: {
    help: 'SER 0.9: users and contacts per table',
    run: async (st) => st.store.domains().map((d) => ({ Domain: d.name, ...d.counts() })),
  },
};
