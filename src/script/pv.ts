// Core pseudo-variables ($ru, $fU, $hdr(Name), $var(x), $avp(x) ...). Each PV reference is
// resolved once at load into a getter/setter pair with its inner name already parsed; the
// getter reads the message lazily, which is the only thing that triggers header parsing.
import { createHash } from 'node:crypto';
import type { PvValue } from '../core/module-api.js';
import type { MsgContext } from './context.js';
import { formatUri, parseUri, parseNameAddr } from '../sip/index.js';
import type { SipUri } from '../sip/types.js';
import type { ErrorCode } from '../core/errors.js';

export interface PvAccess {
  get: (ctx: MsgContext) => PvValue;
  set: ((ctx: MsgContext, v: PvValue) => void) | null;
  /** the text as written, for messages */
  text: string;
}

export class PvError extends Error {
  readonly code: ErrorCode = 'TSER_E_BAD_PV';
}

/** per-script $var slots; $var is per process and survives between messages */
export class VarStore {
  readonly names = new Map<string, number>();
  values: PvValue[] = [];
  slot(name: string): number {
    let i = this.names.get(name);
    if (i === undefined) {
      i = this.values.length;
      this.names.set(name, i);
      this.values.push(0);
    }
    return i;
  }
}

// ---------------- R-URI helpers ----------------

function ruriParsed(ctx: MsgContext): SipUri | null {
  return parseUri(ctx.ruri);
}

function setRuriPart(ctx: MsgContext, f: (u: SipUri) => void): void {
  const u = ruriParsed(ctx);
  if (!u) return;
  f(u);
  ctx.newUri = formatUri(u);
}

function uriPart(uri: string | null | undefined, part: 'user' | 'host' | 'port' | 'scheme'): PvValue {
  if (!uri) return null;
  const u = parseUri(uri);
  if (!u) return null;
  if (part === 'port') return u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
  if (part === 'host') return u.host;
  return u[part];
}

function str(v: PvValue): string {
  return v === null ? '' : String(v);
}

// ---------------- From/To helpers ----------------

type Party = 'from' | 'to';

function party(ctx: MsgContext, p: Party) {
  return p === 'from' ? ctx.msg.from() : ctx.msg.to();
}

/** From/To as the script left it, so $fn then $fU (CLI rewriting) keeps both edits */
function currentParty(ctx: MsgContext, p: Party, hf: { newValue: string | null }) {
  if (hf.newValue !== null) {
    try {
      return parseNameAddr(hf.newValue);
    } catch {
      // an edit that does not parse: fall back to the header as received
    }
  }
  return party(ctx, p);
}

/** rewrite the URI of From/To in place (keeps display name and params) */
function setPartyUri(ctx: MsgContext, p: Party, f: (u: SipUri) => void): void {
  const hf = ctx.msg.header(p);
  if (!hf) return;
  const na = currentParty(ctx, p, hf);
  const u = parseUri(na.uri);
  if (!u) return;
  f(u);
  const params = na.params.map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
  const disp = na.display ? `"${na.display.replace(/"/g, '\\"')}" ` : '';
  ctx.msg.setHeaderValue(hf, `${disp}<${formatUri(u)}>${params}`);
}

function setPartyDisplay(ctx: MsgContext, p: Party, display: string): void {
  const hf = ctx.msg.header(p);
  if (!hf) return;
  const na = currentParty(ctx, p, hf);
  const params = na.params.map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
  const disp = display === '' ? '' : `"${display.replace(/"/g, '\\"')}" `;
  ctx.msg.setHeaderValue(hf, `${disp}<${na.uri}>${params}`);
}

// ---------------- the table ----------------

type Getter = (ctx: MsgContext, inner: string | null) => PvValue;
type Setter = (ctx: MsgContext, v: PvValue, inner: string | null) => void;

interface CorePv {
  get: Getter;
  set?: Setter;
  /** needs an inner name: $hdr(Name) */
  inner?: 'required' | 'optional';
}

const ro = (get: Getter): CorePv => ({ get });

const table: Record<string, CorePv> = {
  ru: {
    get: (c) => c.ruri,
    set: (c, v) => {
      c.newUri = v === null ? null : String(v);
    },
  },
  rU: {
    get: (c) => uriPart(c.ruri, 'user'),
    set: (c, v) => setRuriPart(c, (u) => (u.user = v === null || v === '' ? null : String(v))),
  },
  rd: { get: (c) => uriPart(c.ruri, 'host'), set: (c, v) => setRuriPart(c, (u) => (u.host = str(v))) },
  rp: {
    get: (c) => uriPart(c.ruri, 'port'),
    set: (c, v) => setRuriPart(c, (u) => (u.port = v === null || v === '' ? null : Number(v))),
  },
  rz: ro((c) => uriPart(c.ruri, 'scheme')),
  ou: ro((c) => (c.msg.isRequest ? c.msg.ruri : null)),
  oU: ro((c) => (c.msg.isRequest ? uriPart(c.msg.ruri, 'user') : null)),
  du: {
    get: (c) => c.dstUri,
    set: (c, v) => {
      c.dstUri = v === null || v === '' ? null : String(v);
    },
  },
  dd: ro((c) => uriPart(c.dstUri, 'host')),
  dp: ro((c) => uriPart(c.dstUri, 'port')),
  fu: { get: (c) => c.msg.from().uri, set: (c, v) => setPartyUri(c, 'from', (u) => Object.assign(u, parseUri(str(v)) ?? u)) },
  fU: { get: (c) => uriPart(c.msg.from().uri, 'user'), set: (c, v) => setPartyUri(c, 'from', (u) => (u.user = str(v) || null)) },
  fd: { get: (c) => uriPart(c.msg.from().uri, 'host'), set: (c, v) => setPartyUri(c, 'from', (u) => (u.host = str(v))) },
  fn: { get: (c) => c.msg.from().display, set: (c, v) => setPartyDisplay(c, 'from', str(v)) },
  ft: ro((c) => c.msg.from().tag),
  tu: { get: (c) => c.msg.to().uri, set: (c, v) => setPartyUri(c, 'to', (u) => Object.assign(u, parseUri(str(v)) ?? u)) },
  tU: { get: (c) => uriPart(c.msg.to().uri, 'user'), set: (c, v) => setPartyUri(c, 'to', (u) => (u.user = str(v) || null)) },
  td: { get: (c) => uriPart(c.msg.to().uri, 'host'), set: (c, v) => setPartyUri(c, 'to', (u) => (u.host = str(v))) },
  tn: { get: (c) => c.msg.to().display, set: (c, v) => setPartyDisplay(c, 'to', str(v)) },
  tt: ro((c) => c.msg.to().tag),
  rm: ro((c) => c.msg.method),
  rs: ro((c) => (c.reply ? c.reply.status : c.msg.isRequest ? null : c.msg.status)),
  rr: ro((c) => (c.reply ? c.reply.reason : c.msg.isRequest ? null : c.msg.reason)),
  ci: ro((c) => c.msg.callId()),
  cs: ro((c) => c.msg.cseq().seq),
  cl: ro((c) => c.msg.body.length),
  cT: ro((c) => c.msg.value('content-type') ?? null),
  ct: ro((c) => c.msg.value('contact') ?? null),
  ua: ro((c) => c.msg.value('user-agent') ?? null),
  rb: ro((c) => c.msg.body),
  mb: ro((c) => c.msg.raw),
  ml: ro((c) => c.msg.buf.length),
  si: ro((c) => c.rcv.srcIp),
  sp: ro((c) => c.rcv.srcPort),
  // the source as a SIP URI, as Kamailio: transport only when not UDP
  su: ro((c) => {
    const r = c.rcv;
    const host = r.srcIp.includes(':') ? `[${r.srcIp}]` : r.srcIp;
    return `sip:${host}:${r.srcPort}${r.proto === 'udp' ? '' : `;transport=${r.proto}`}`;
  }),
  RAi: ro((c) => c.rcv.local.advertiseHost),
  RAp: ro((c) => c.rcv.local.advertisePort),
  Ri: ro((c) => c.rcv.local.ip),
  Rp: ro((c) => c.rcv.local.port),
  pr: ro((c) => c.rcv.proto),
  proto: ro((c) => c.rcv.proto),
  rc: ro((c) => c.rc),
  retcode: ro((c) => c.rc),
  '?': ro((c) => c.rc),
  mf: {
    get: (c) => c.flags,
    set: (c, v) => {
      c.flags = Number(v) | 0;
    },
  },
  bf: {
    get: (c) => c.bflags,
    set: (c, v) => {
      c.bflags = Number(v) | 0;
    },
  },
  hdr: { inner: 'required', get: (c, n) => c.msg.value(n!) ?? null },
  hdrc: { inner: 'required', get: (c, n) => c.msg.headersNamed(n!).length },
  Ts: ro(() => Math.floor(Date.now() / 1000)),
  TS: ro(() => Math.floor(Date.now() / 1000)),
  pp: ro(() => process.pid),
  null: ro(() => null),
  au: ro((c) => authField(c, 'user')),
  ad: ro((c) => authField(c, 'domain')),
  aU: ro((c) => authField(c, 'username')),
  ar: ro((c) => authField(c, 'realm')),
  aa: ro((c) => authField(c, 'algorithm')),
  adu: ro((c) => authField(c, 'uri')),
};

function authField(ctx: MsgContext, f: 'user' | 'domain' | 'username' | 'realm' | 'algorithm' | 'uri'): PvValue {
  const list = ctx.msg.isRequest ? [...ctx.msg.credentials('www'), ...ctx.msg.credentials('proxy')] : [];
  const cred = list[0]?.cred;
  if (!cred) return null;
  const username = cred.username ?? '';
  const at = username.indexOf('@');
  switch (f) {
    case 'username':
      return username;
    case 'user':
      return at >= 0 ? username.slice(0, at) : username;
    case 'domain':
      return at >= 0 ? username.slice(at + 1) : cred.realm;
    case 'realm':
      return cred.realm;
    case 'algorithm':
      return cred.algorithm ?? 'MD5';
    case 'uri':
      return cred.uri;
  }
}

/** all values of a header name, across repeated headers ($(hdr(Via)[*])) */
function headerValues(ctx: MsgContext, name: string): string[] {
  return ctx.msg.headersNamed(name).map((h) => h.newValue ?? h.value);
}

export interface PvRefSpec {
  name: string;
  inner: string | null;
  index: number | '*' | null;
  transforms: string[];
  text: string;
}

/**
 * Resolve a core PV. Returns null when the name is not a core PV (the caller then tries
 * module PVs). Throws PvError for a known PV used wrongly.
 */
export function resolveCorePv(ref: PvRefSpec, vars: VarStore): PvAccess | null {
  const { name, inner, index } = ref;
  let access: PvAccess | null = null;
  if (name === 'var') {
    if (!inner) throw new PvError('$var needs a name: $var(x)');
    const slot = vars.slot(inner);
    const values = vars;
    access = {
      text: ref.text,
      get: () => values.values[slot] ?? null,
      set: (_c, v) => {
        values.values[slot] = v === null ? 0 : v;
      },
    };
  } else if (name === 'avp') {
    if (!inner) throw new PvError('$avp needs a name: $avp(x)');
    const key = normaliseAvpName(inner);
    access = {
      text: ref.text,
      get: (c) => {
        const list = c.avps?.get(key);
        if (!list || list.length === 0) return null;
        if (index === null) return list[list.length - 1] ?? null;
        if (index === '*') return list.slice().reverse().map(str).join(',');
        const i = index < 0 ? -index - 1 : list.length - 1 - index;
        return list[i] ?? null;
      },
      set: (c, v) => {
        if (v === null) {
          c.avps?.delete(key);
          return;
        }
        const m = (c.avps ??= new Map<string, PvValue[]>());
        const list = m.get(key);
        if (list) list.push(v);
        else m.set(key, [v]);
      },
    };
  } else if (name === 'hdr' && index !== null) {
    if (!inner) throw new PvError('$hdr needs a header name');
    access = {
      text: ref.text,
      get: (c) => {
        const all = headerValues(c, inner);
        if (index === '*') return all.length ? all.join(',') : null;
        const i = index < 0 ? all.length + index : index;
        return all[i] ?? null;
      },
      set: null,
    };
  } else {
    const pv = table[name];
    if (!pv) return null;
    if (pv.inner === 'required' && !inner) throw new PvError(`$${name} needs a name in parentheses`);
    const get = pv.get;
    const set = pv.set;
    access = {
      text: ref.text,
      get: (c) => get(c, inner),
      set: set ? (c, v) => set(c, v, inner) : null,
    };
  }
  return access;
}

function normaliseAvpName(inner: string): string {
  // $avp(s:name) and $avp(name) are the same AVP; $avp(i:5) keeps its numeric id
  if (inner.startsWith('s:')) return inner.slice(2);
  return inner;
}

// ---------------- transformations ----------------

export type Transform = (v: PvValue) => PvValue;

function splitTrParams(spec: string): string[] {
  return spec.split(',');
}

/** compile `{s.len}` style transformations once; throws PvError for unknown ones */
export function compileTransform(spec: string): Transform {
  const [name = '', ...params] = splitTrParams(spec);
  const p0 = params[0];
  const p1 = params[1];
  switch (name.trim()) {
    case 's.len':
      return (v) => str(v).length;
    case 's.int':
      return (v) => Number.parseInt(str(v), 10) || 0;
    case 's.tolower':
      return (v) => str(v).toLowerCase();
    case 's.toupper':
      return (v) => str(v).toUpperCase();
    case 's.trim':
      return (v) => str(v).trim();
    case 's.md5':
      return (v) => createHash('md5').update(str(v)).digest('hex');
    case 's.sha256':
      return (v) => createHash('sha256').update(str(v)).digest('hex');
    case 's.substr': {
      const off = Number(p0 ?? 0);
      const len = Number(p1 ?? 0);
      return (v) => {
        const s = str(v);
        const start = off < 0 ? Math.max(0, s.length + off) : off;
        return len === 0 ? s.slice(start) : s.substr(start, len);
      };
    }
    case 's.select': {
      const idx = Number(p0 ?? 0);
      const sep = p1 ?? ',';
      return (v) => {
        const parts = str(v).split(sep);
        return parts[idx < 0 ? parts.length + idx : idx] ?? null;
      };
    }
    case 's.strip': {
      const n = Number(p0 ?? 0);
      return (v) => str(v).slice(n);
    }
    case 's.striptail': {
      const n = Number(p0 ?? 0);
      return (v) => {
        const s = str(v);
        return s.slice(0, Math.max(0, s.length - n));
      };
    }
    case 's.replace': {
      const a = p0 ?? '';
      const b = p1 ?? '';
      return (v) => str(v).split(a).join(b);
    }
    case 's.numeric':
      return (v) => str(v).replace(/[^0-9]/g, '');
    case 'uri.user':
      return (v) => uriPart(str(v), 'user');
    case 'uri.host':
    case 'uri.domain':
      return (v) => uriPart(str(v), 'host');
    case 'uri.port':
      return (v) => {
        const u = parseUri(str(v));
        return u?.port ?? null;
      };
    case 'uri.scheme':
      return (v) => uriPart(str(v), 'scheme');
    case 'uri.param': {
      const pname = (p0 ?? '').toLowerCase();
      return (v) => {
        const u = parseUri(str(v));
        const found = u?.params.find(([k]) => k.toLowerCase() === pname);
        return found ? (found[1] ?? '') : null;
      };
    }
    case 'uri.transport':
      return (v) => {
        const u = parseUri(str(v));
        return u?.params.find(([k]) => k.toLowerCase() === 'transport')?.[1] ?? null;
      };
    case 'param.value': {
      const pname = (p0 ?? '').toLowerCase();
      const sep = p1 ?? ';';
      return (v) => {
        for (const part of str(v).split(sep)) {
          const eq = part.indexOf('=');
          const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
          if (k === pname) return eq < 0 ? '' : part.slice(eq + 1).trim();
        }
        return null;
      };
    }
    case 'nameaddr.uri':
    case 'tobody.uri':
      return (v) => parseNameAddr(str(v))?.uri ?? null;
    case 'nameaddr.name':
    case 'tobody.display':
      return (v) => parseNameAddr(str(v))?.display ?? null;
    case 'tobody.tag':
      return (v) => parseNameAddr(str(v))?.tag ?? null;
    case 'tobody.user':
      return (v) => uriPart(parseNameAddr(str(v))?.uri, 'user');
    case 'tobody.host':
      return (v) => uriPart(parseNameAddr(str(v))?.uri, 'host');
    default:
      throw new PvError(`unknown transformation {${spec}}`);
  }
}
