// Reading a REGISTER (RFC 3261 §10.3 steps 5–6, Kamailio sip_msg.c/save.c pack_ci): the
// AOR, the Contact list or `*`, and per contact its expires (Contact param, else Expires
// header, else default_expires; min/max applied), q, received, instance and methods. Every
// check happens here, before usrloc is touched, so a bad request changes nothing.
import { findParam, parseNameAddrList, parseUri, splitHeaderValues, unquote, SipParseError } from '../../src/sip/index.js';
import type { Contact } from '../../src/sip/index.js';
import type { MsgContext } from '../../src/script/context.js';
import type { PvValue } from '../../src/core/module-api.js';
import { extractAor } from './aor.js';
import { R, RegError } from './errors.js';
import { allowedMethods, methodsOf } from './methods.js';
import type { RegConfig } from './config.js';

export interface RegContact {
  uri: string;
  /** seconds from now; 0 removes the binding */
  expires: number;
  /** q × 1000 or Q_UNSPECIFIED */
  q: number;
  received: string | null;
  instance: string | null;
  regId: number;
  methods: number;
}

export interface RegRequest {
  aor: string;
  star: boolean;
  /** without duplicates (the last of two equal contacts wins) */
  contacts: RegContact[];
  callid: string;
  cseq: number;
  userAgent: string;
  path: string | null;
  socket: string;
}

const CALLID_MAX = 255;
const UA_MAX = 255;
const RECEIVED_MAX = 255;
/** relative expires never go above this (2^31-1 s): absurd values are clamped */
export const EXPIRES_HARD_MAX = 0x7fffffff;

/** the REGISTER's AOR: from `uri` when given, else the To URI */
export function registerAor(ctx: MsgContext, cfg: RegConfig, uri: string | undefined): string {
  let text = uri;
  if (text === undefined || text === '') {
    try {
      text = ctx.msg.to().uri;
    } catch {
      throw new RegError(R.PARSE);
    }
  }
  const aor = extractAor(text, cfg.aor);
  if (aor === '') throw new RegError(R.TO_USER);
  return aor;
}

export function parseRegister(ctx: MsgContext, cfg: RegConfig, uri: string | undefined, novariation: boolean): RegRequest {
  const msg = ctx.msg;
  const aor = registerAor(ctx, cfg, uri);
  const expHdr = msg.expires();
  if (expHdr === -1) throw new RegError(R.PARSE_EXP);

  // `*` rules (RFC 3261 §10.3 step 6): alone, and only with Expires: 0
  const hfs = msg.headersNamed('contact');
  let star = false;
  let elements = 0;
  for (const h of hfs) {
    let parts: string[];
    try {
      parts = splitHeaderValues(h.value);
    } catch {
      throw new RegError(R.PARSE_CONT);
    }
    elements += parts.length;
    if (parts.some((p) => p === '*')) star = true;
  }
  if (star) {
    if (elements > 1) throw new RegError(R.STAR_CONT);
    if (expHdr !== 0) throw new RegError(R.STAR_EXP);
  }
  if (elements > cfg.maxPerRequest) throw new RegError(cfg.maxContacts > 0 ? R.TOO_MANY : R.TOO_MANY_IN_REQ);

  let parsed: Contact[] = [];
  if (!star && elements > 0) {
    try {
      const c = msg.contacts();
      parsed = c === '*' ? [] : c;
    } catch (e) {
      if (e instanceof SipParseError) throw new RegError(R.PARSE_CONT);
      throw e;
    }
  }

  const callid = msg.callId().trim();
  if (callid.length > CALLID_MAX) throw new RegError(R.CALLID_LEN);
  const cseq = msg.cseq().seq;
  const ua = msg.value('user-agent');
  const userAgent = ua && ua.length > 0 && ua.length < UA_MAX ? ua : cfg.noUserAgent;
  const { path, pathReceived } = readPath(ctx, cfg);
  const allow = allowedMethods(msg.headersNamed('allow').map((h) => h.value));
  const avpReceived = cfg.receivedAvp ? avpString(ctx, cfg.receivedAvp) : null;

  const byKey = new Map<string, RegContact>();
  for (const c of parsed) {
    const rc = readContact(c, expHdr, cfg, novariation, allow, pathReceived ?? avpReceived);
    const key = rc.instance ? `i:${rc.instance}:${rc.regId}` : `u:${rc.uri}`;
    byKey.delete(key);
    byKey.set(key, rc);
  }
  return { aor, star, contacts: [...byKey.values()], callid, cseq, userAgent, path, socket: ctx.rcv.local.id };
}

function readContact(
  c: Contact,
  expHdr: number | null,
  cfg: RegConfig,
  novariation: boolean,
  allow: number,
  received: string | null,
): RegContact {
  const u = parseUri(c.uri);
  if (!u || !/^(sips?|tel)$/.test(u.scheme)) throw new RegError(R.PARSE_CONT);
  if (c.uri.length > cfg.contactMaxSize) throw new RegError(R.CONTACT_LEN);

  const q = readQ(c, cfg);
  const rcvParam = findParam(c.params, 'received');
  const rcv = typeof rcvParam === 'string' ? unquote(rcvParam) : received;
  if (rcv !== null && rcv.length > RECEIVED_MAX) throw new RegError(R.CONTACT_LEN);
  const inst = findParam(c.params, '+sip.instance');
  const instance = typeof inst === 'string' && inst.length > 0 ? unquote(inst) : null;
  let regId = 0;
  const rid = findParam(c.params, 'reg-id');
  if (instance && typeof rid === 'string') {
    regId = /^\d{1,9}$/.test(rid) ? Number(rid) : 0;
    if (regId === 0) throw new RegError(R.INV_REGID);
  }
  const mp = findParam(c.params, 'methods');
  const methods = typeof mp === 'string' ? (methodsOf(unquote(mp)) ?? allow) : allow;
  return { uri: c.uri, expires: contactExpires(c, expHdr, cfg, novariation), q, received: rcv, instance, regId, methods };
}

function readQ(c: Contact, cfg: RegConfig): number {
  const raw = findParam(c.params, 'q');
  if (raw === undefined || raw === null || raw === '') return cfg.defaultQ;
  if (c.q === null) throw new RegError(R.INV_Q);
  return Math.round(c.q * 1000);
}

/** Kamailio calc_contact_expires: relative seconds, 0 = remove */
export function contactExpires(c: Contact, expHdr: number | null, cfg: RegConfig, novariation: boolean): number {
  const raw = findParam(c.params, 'expires');
  let e: number;
  let range: number;
  if (typeof raw === 'string' && raw.length > 0) {
    // a non-numeric expires param counts as absent (Kamailio: default_expires)
    if (c.expires !== null) {
      e = c.expires;
      range = cfg.expiresRange;
    } else {
      e = cfg.defaultExpires;
      range = cfg.defaultExpiresRange;
    }
  } else if (expHdr !== null && expHdr >= 0) {
    e = expHdr;
    range = cfg.expiresRange;
  } else {
    e = cfg.defaultExpires;
    range = cfg.defaultExpiresRange;
  }
  if (e === 0) return 0;
  if (e < cfg.minExpires) {
    if (cfg.minExpiresMode === 1) throw new RegError(R.LOW_EXP);
    e = cfg.minExpires;
  }
  if (!novariation && range > 0) {
    // RFC 3261 allows only values up to the one asked for
    const low = e - Math.floor((range / 100) * e);
    e = Math.max(cfg.minExpires, low + Math.floor(Math.random() * (e - low + 1)));
  }
  if (cfg.maxExpires > 0 && e > cfg.maxExpires) e = cfg.maxExpires;
  return Math.min(e, EXPIRES_HARD_MAX);
}

/** Path vector (RFC 3327) when use_path is on; strict path_mode needs `Supported: path` */
function readPath(ctx: MsgContext, cfg: RegConfig): { path: string | null; pathReceived: string | null } {
  if (!cfg.usePath) return { path: null, pathReceived: null };
  const values = ctx.msg.headersNamed('path').map((h) => h.value);
  if (values.length === 0) return { path: null, pathReceived: null };
  let first;
  try {
    first = parseNameAddrList(values.join(','))[0];
  } catch {
    throw new RegError(R.PARSE_PATH);
  }
  if (cfg.pathMode === 2) {
    const sup = ctx.msg
      .headersNamed('supported')
      .flatMap((h) => h.value.split(','))
      .map((s) => s.trim().toLowerCase());
    if (!sup.includes('path')) throw new RegError(R.PATH_UNSUP);
  }
  let pathReceived: string | null = null;
  if (cfg.pathUseReceived && first) {
    const u = parseUri(first.uri);
    const r = u?.params.find(([k]) => k.toLowerCase() === 'received')?.[1];
    if (r) pathReceived = decodeURIComponent(unquote(r));
  }
  return { path: values.join(','), pathReceived };
}

function avpString(ctx: MsgContext, key: string): string | null {
  const list: PvValue[] | undefined = ctx.avps?.get(key);
  const v = list && list.length > 0 ? list[list.length - 1] : null;
  return v === null || v === undefined || v === '' ? null : String(v);
}
