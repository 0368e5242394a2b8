// Challenge → answer → verify flows on constructed SIP requests, in both dialects, with the
// return codes of modules.md §7–§8 (SER 0.9 vs Kamailio 5.6).
import { describe, expect, test } from 'vitest';
import pino from 'pino';
import authModule from '../../modules/auth/index.js';
import { AuthCore, type AuthSettings } from '../../modules/auth/core.js';
import { NonceSigner, secretFrom } from '../../modules/auth/nonce.js';
import type { SecretLookup, SecretResult } from '../../modules/auth/api.js';
import { computeHa1 } from '../../modules/auth/digest.js';
import type { Dialect } from '../../src/core/dialect.js';
import type { MsgContext } from '../../src/script/context.js';
import { answer, contextFor, fakeCore, parseChallenge, sipRequest, type FakeCore, type ReqOpts } from './helpers.js';

const base: AuthSettings = {
  nonceExpire: 300,
  maxDrift: 3,
  algorithms: ['MD5'],
  emitAlgorithm: false,
  qop: null,
  nonceCount: false,
  oneTimeNonce: false,
  replayProtection: true,
  replayTableSize: 1 << 16,
  guessLimits: null,
  blockReply: 403,
  checksRegister: 0,
  checksNoDlg: 0,
  checksInDlg: 0,
  realmPrefix: '',
  addAuthInfo: false,
  uriCheck: true,
};

interface Rig {
  fc: FakeCore;
  core: AuthCore;
  clock: { t: number };
  dialect: Dialect;
}

function rig(dialect: Dialect, s: Partial<AuthSettings> = {}): Rig {
  const fc = fakeCore(dialect);
  const clock = { t: 1_700_000_000 };
  const core = new AuthCore({ ...base, ...s }, new NonceSigner(secretFrom('k')), pino({ level: 'silent' }), fc.stats, () => clock.t);
  return { fc, core, clock, dialect };
}

const users: Record<string, string> = { alice: 'wonderland', bob: 'builder' };
let lookups = 0;
const plain: SecretLookup = (q): SecretResult => {
  lookups++;
  const pw = users[q.user];
  return pw === undefined ? { status: 'unknown' } : { status: 'found', secrets: [{ type: 'password', value: pw }] };
};

function req(r: Rig, o: ReqOpts = {}): MsgContext {
  return contextFor(sipRequest(o), r.dialect, r.fc);
}

/** challenge with `flags`, return the params of the first challenge header */
async function challenge(r: Rig, realm = 'example.com', flags = 0, kind: 'www' | 'proxy' = 'www'): Promise<Record<string, string>> {
  const ctx = req(r);
  await r.core.challenge(ctx, realm, kind, { flags });
  return parseChallenge(r.fc.replies.at(-1)!.headers[0]!);
}

async function verify(r: Rig, auth: string, o: ReqOpts = {}, lookup: SecretLookup = plain, kind: 'www' | 'proxy' = 'www', realm = 'example.com') {
  const hdr = kind === 'www' ? 'Authorization' : 'Proxy-Authorization';
  const ctx = req(r, { ...o, headers: [...(o.headers ?? []), `${hdr}: ${auth}`] });
  const outcome = await r.core.verifyCredentials(ctx, realm, kind, lookup);
  const code = await r.core.scriptCode(ctx, outcome);
  return { ctx, outcome, code };
}

const reg = { method: 'REGISTER', uri: 'sip:example.com' };

describe('www_challenge / proxy_challenge', () => {
  test('SER: empty realm comes from the To host for REGISTER, "0" = no qop, returns 0 (stop)', async () => {
    const r = rig('ser');
    const ctx = req(r, { to: 'sip:alice@ser.example.org', from: 'sip:alice@other.org' });
    expect(await r.core.challenge(ctx, '', 'www', { flags: 0 })).toBe(0);
    expect(ctx.replied).toBe(true);
    const rep = r.fc.replies[0]!;
    expect([rep.code, rep.reason]).toEqual([401, 'Unauthorized']);
    expect(rep.headers).toHaveLength(1);
    expect(rep.headers[0]).toMatch(/^WWW-Authenticate: Digest realm="ser\.example\.org", nonce="[A-Za-z0-9_-]+"$/);
  });

  test('SER: "1" adds qop="auth"; proxy_challenge takes the From host and sends 407', async () => {
    const r = rig('ser');
    const ctx = req(r, { method: 'INVITE', ruri: 'sip:bob@example.com', to: 'sip:bob@example.com', from: 'sip:alice@from.example' });
    expect(await r.core.challenge(ctx, '', 'proxy', { flags: 1 })).toBe(0);
    const rep = r.fc.replies[0]!;
    expect([rep.code, rep.reason]).toEqual([407, 'Proxy Authentication Required']);
    expect(rep.headers[0]).toMatch(/^Proxy-Authenticate: Digest realm="from\.example", nonce="[^"]+", qop="auth"$/);
  });

  test('Kamailio: empty realm is an error (-1) and nothing is sent', async () => {
    const r = rig('kamailio');
    const ctx = req(r);
    expect(await r.core.challenge(ctx, '', 'www', { flags: 1 })).toBe(-1);
    expect(r.fc.replies).toHaveLength(0);
    expect(ctx.replied).toBe(false);
  });

  test('Kamailio: flags bitmask 1 auth, 2 auth-int, 16 stale; returns 1', async () => {
    const r = rig('kamailio');
    const ctx = req(r);
    expect(await r.core.challenge(ctx, 'example.com', 'www', { flags: 1 | 16 })).toBe(1);
    expect(parseChallenge(r.fc.replies[0]!.headers[0]!)).toMatchObject({ realm: 'example.com', qop: 'auth', stale: 'true' });
    await r.core.challenge(req(r), 'example.com', 'www', { flags: 2 });
    expect(parseChallenge(r.fc.replies[1]!.headers[0]!).qop).toBe('auth-int');
    await r.core.challenge(req(r), 'example.com', 'www', { flags: 3 });
    expect(parseChallenge(r.fc.replies[2]!.headers[0]!).qop).toBe('auth,auth-int');
    await r.core.challenge(req(r), 'example.com', 'www', { flags: 0 });
    expect(parseChallenge(r.fc.replies[3]!.headers[0]!).qop).toBeUndefined();
  });

  test('several algorithms: one header each, SHA-256 first (RFC 8760 §2.4), same nonce', async () => {
    const r = rig('kamailio', { algorithms: ['SHA-256', 'MD5'], emitAlgorithm: true });
    await r.core.challenge(req(r), 'example.com', 'www', { flags: 1 });
    const [h1, h2] = r.fc.replies[0]!.headers;
    expect(parseChallenge(h1!).algorithm).toBe('SHA-256');
    expect(parseChallenge(h2!).algorithm).toBe('MD5');
    expect(parseChallenge(h1!).nonce).toBe(parseChallenge(h2!).nonce);
    expect(r.fc.stats.get('auth:challenges')).toEqual({ 'auth:challenges': 1 });
  });

  test('realm_prefix is stripped', async () => {
    const r = rig('ser', { realmPrefix: 'sip.' });
    await r.core.challenge(req(r, { to: 'sip:alice@sip.example.com' }), '', 'www', { flags: 0 });
    expect(parseChallenge(r.fc.replies[0]!.headers[0]!).realm).toBe('example.com');
  });
});

describe.each(['ser', 'kamailio'] as const)('authorize (%s dialect)', (dialect) => {
  const K = dialect === 'kamailio';

  test('correct password: 1, credentials kept for check_to/consume_credentials', async () => {
    const r = rig(dialect);
    for (const qop of [null, 'auth', 'auth-int'] as const) {
      const ch = await challenge(r, 'example.com', 1);
      const { ctx, code } = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, qop, ...reg }));
      expect(code).toBe(1);
      expect(ctx.getExt('auth.authorized')).toMatchObject({ user: 'alice', realm: 'example.com', kind: 'www', algorithm: 'MD5' });
    }
    expect(r.fc.stats.get('auth:successful')).toEqual({ 'auth:successful': 3 });
  });

  test('wrong password / unknown user / no credentials', async () => {
    const r = rig(dialect);
    const ch = await challenge(r);
    expect((await verify(r, answer({ user: 'alice', password: 'nope', ch, ...reg }))).code).toBe(K ? -2 : -1);
    expect((await verify(r, answer({ user: 'mallory', password: 'x', ch, ...reg }))).code).toBe(K ? -3 : -1);
    const none = await r.core.verifyCredentials(req(r), 'example.com', 'www', plain);
    expect(await r.core.scriptCode(req(r), none)).toBe(K ? -5 : -1);
    expect(r.fc.stats.get('auth:failed')).toEqual({ 'auth:failed': 2 });
    expect(r.fc.replies.filter((x) => x.code !== 401)).toHaveLength(0);
  });

  test('credentials for another realm are ignored (no credentials)', async () => {
    const r = rig(dialect);
    const ch = { ...(await challenge(r)), realm: 'elsewhere.org' };
    const { outcome } = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, ...reg }));
    expect(outcome.code).toBe('no_credentials');
  });

  test('stale nonce: Kamailio -4 before any lookup; SER -1 only after a correct response; challenge then says stale=true', async () => {
    const r = rig(dialect, { nonceExpire: 30 });
    const ch = await challenge(r, 'example.com', 1);
    r.clock.t += 60;
    lookups = 0;
    const wrong = await verify(r, answer({ user: 'alice', password: 'bad', ch, ...reg }));
    expect(wrong.code).toBe(K ? -4 : -1);
    expect(wrong.ctx.getExt('auth.stale')).toBe(K ? true : undefined);
    expect(lookups).toBe(K ? 0 : 1);
    const right = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, ...reg }));
    expect(right.code).toBe(K ? -4 : -1);
    expect(right.outcome.code).toBe('stale');
    await r.core.challenge(right.ctx, 'example.com', 'www', { flags: 1 });
    expect(parseChallenge(r.fc.replies.at(-1)!.headers[0]!).stale).toBe('true');
  });

  test('nonce_count: a replayed nc is refused, a higher one accepted', async () => {
    const r = rig(dialect, { nonceCount: true });
    const ch = await challenge(r, 'example.com', 1);
    const a1 = answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth', nc: 1, ...reg });
    expect((await verify(r, a1)).code).toBe(1);
    const again = await verify(r, a1);
    expect(again.code).toBe(K ? -6 : -1);
    expect(again.outcome.code).toBe('nonce_reused');
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth', nc: 2, ...reg }))).code).toBe(1);
    expect(r.fc.stats.get('auth:nonce_replays')).toEqual({ 'auth:nonce_replays': 1 });
  });

  test('replay protection (default): an accepted answer in another request is refused as stale, its retransmission and a higher nc pass', async () => {
    const r = rig(dialect);
    const ch = await challenge(r, 'example.com', 1);
    const a1 = answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth', nc: 1, ...reg });
    const first = await verify(r, a1);
    expect(first.code).toBe(1);
    // the very same datagram again (same Call-ID, CSeq, branch, source): a retransmission
    const again = contextFor(first.ctx.msg.raw, dialect, r.fc);
    expect((await r.core.verifyCredentials(again, 'example.com', 'www', plain)).code).toBe('ok');
    // the captured header in a new request (another Call-ID and branch): a replay
    const replay = await verify(r, a1);
    expect(replay.outcome.code).toBe('nonce_reused');
    expect(replay.code).toBe(K ? -6 : -1);
    await r.core.challenge(replay.ctx, 'example.com', 'www', { flags: 1 });
    expect(parseChallenge(r.fc.replies.at(-1)!.headers[0]!).stale).toBe('true');
    // the upper-cased response is the same response
    expect((await verify(r, a1.replace(/response="([0-9a-f]+)"/, (_m, h: string) => `response="${h.toUpperCase()}"`))).outcome.code).toBe('nonce_reused');
    // the client reusing the nonce with a growing nc is fine, far past the slots kept per nonce
    for (let nc = 2; nc <= 12; nc++) expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth', nc, ...reg }))).code).toBe(1);
    // an old nc whose slot was forgotten is still refused (nc floor)
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth', nc: 3, cnonce: 'other', ...reg }))).outcome.code).toBe('nonce_reused');
    // off: Kamailio's default, the same answer is accepted again during the nonce's life
    const off = rig(dialect, { replayProtection: false });
    const ch2 = await challenge(off, 'example.com', 1);
    const a2 = answer({ user: 'alice', password: 'wonderland', ch: ch2, qop: 'auth', nc: 1, ...reg });
    expect((await verify(off, a2)).code).toBe(1);
    expect((await verify(off, a2)).code).toBe(1);
  });

  test('one_time_nonce: the second use of a nonce is refused', async () => {
    const r = rig(dialect, { oneTimeNonce: true });
    const ch = await challenge(r, 'example.com', 1);
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, nc: 1, ...reg }))).code).toBe(1);
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, nc: 2, ...reg }))).outcome.code).toBe('nonce_reused');
  });

  test('forged nonce, unknown algorithm and digest-uri mismatch: not authenticated, re-challenge', async () => {
    const r = rig(dialect);
    const ch = await challenge(r);
    const forged = await verify(r, answer({ user: 'alice', password: 'wonderland', ch: { ...ch, nonce: 'AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, ...reg }));
    expect([forged.outcome.code, forged.code]).toEqual(['rejected', -1]);
    const sha = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, algorithm: 'SHA-256', ...reg }));
    expect([sha.outcome.code, sha.code]).toEqual(['rejected', -1]);
    const uri = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, method: 'REGISTER', uri: 'sip:other.example.com' }));
    expect([uri.outcome.code, uri.code]).toEqual(['rejected', -1]);
    expect(r.fc.replies.filter((x) => x.code === 400)).toHaveLength(0);
  });

  test(`malformed credentials: ${K ? '-1, no reply' : '400 sent and 0 (SER pre_auth)'}`, async () => {
    const ch = await challenge(rig(dialect));
    const bad = [
      `Digest username="alice", realm="example.com", nonce="${ch.nonce}", uri="sip:example.com"`, // no response
      `Digest username="alice", realm="example.com", nonce="${ch.nonce}", uri="sip:example.com", response="zz"`,
      `Digest username="alice", realm="example.com", nonce="${ch.nonce}", uri="sip:example.com", response="${'0'.repeat(32)}", qop=auth`,
      `Digest username="${'a'.repeat(100000)}", realm="example.com", nonce="${ch.nonce}", uri="sip:example.com", response="${'0'.repeat(32)}"`,
      `Digest username="alice, realm="example.com", nonce="x"`, // broken quoting
      `Digest username="alice", username="bob", realm="example.com"`, // duplicate directive
    ];
    for (const value of bad) {
      const r = rig(dialect);
      const { code, outcome, ctx } = await verify(r, value);
      expect(outcome.code).toBe('malformed');
      expect(code).toBe(K ? -1 : 0);
      expect(r.fc.replies.map((x) => x.code)).toEqual(K ? [] : [400]);
      expect(ctx.replied).toBe(!K);
    }
  });

  test(`credentials lookup failure (DB down): ${K ? '-1' : '500 sent and 0'}`, async () => {
    const r = rig(dialect);
    const ch = await challenge(r);
    const down: SecretLookup = () => ({ status: 'error', message: 'database unreachable' });
    const { code } = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, ...reg }), {}, down);
    expect(code).toBe(K ? -1 : 0);
    expect(r.fc.replies.at(-1)!.code).toBe(K ? 401 : 500);
    const thrower: SecretLookup = () => {
      throw new Error('boom');
    };
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, ...reg }), {}, thrower)).outcome.code).toBe('error');
  });

  test('ACK and CANCEL are never checked', async () => {
    const r = rig(dialect);
    for (const method of ['ACK', 'CANCEL']) {
      const ctx = req(r, { method, ruri: 'sip:bob@example.com' });
      expect(await r.core.scriptCode(ctx, await r.core.verifyCredentials(ctx, 'example.com', 'proxy', plain))).toBe(1);
    }
  });

  test('stored HA1s: used verbatim, ha1 of another algorithm cannot verify', async () => {
    const r = rig(dialect, { algorithms: ['SHA-256', 'MD5'], emitAlgorithm: true });
    const ch = await challenge(r, 'example.com', 1);
    const md5ha1: SecretLookup = () => ({ status: 'found', secrets: [{ type: 'ha1', value: computeHa1('MD5', 'alice', 'example.com', 'wonderland'), algorithm: null }] });
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, algorithm: 'MD5', ...reg }), {}, md5ha1)).code).toBe(1);
    const sha = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, algorithm: 'SHA-256', ...reg }), {}, md5ha1);
    expect(sha.outcome).toMatchObject({ code: 'invalid_password', reason: 'no SHA-256 secret stored' });
    const shaHa1: SecretLookup = () => ({ status: 'found', secrets: [{ type: 'ha1', value: computeHa1('SHA-256', 'alice', 'example.com', 'wonderland'), algorithm: 'SHA-256' }] });
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, algorithm: 'SHA-256', ...reg }), {}, shaHa1)).code).toBe(1);
    expect((await verify(r, answer({ user: 'alice', password: 'wonderland', ch, algorithm: 'SHA-256-sess', ...reg }), {}, shaHa1)).code).toBe(1);
  });

  test('proxy credentials on an INVITE, and the body in auth-int', async () => {
    const r = rig(dialect);
    const ch = await challenge(r, 'example.com', 2, 'proxy');
    const body = 'v=0\r\ns=-\r\n';
    const inv = { method: 'INVITE', ruri: 'sip:bob@example.com', to: 'sip:bob@example.com', body };
    const auth = answer({ user: 'alice', password: 'wonderland', ch, qop: 'auth-int', method: 'INVITE', uri: 'sip:bob@example.com', body });
    expect((await verify(r, auth, inv, plain, 'proxy')).code).toBe(1);
    // the same credentials over another body fail
    expect((await verify(r, auth, { ...inv, body: 'v=1\r\n' }, plain, 'proxy')).outcome.code).toBe('invalid_password');
  });
});

describe('module functions', () => {
  const fns = authModule.functions as unknown as Record<string, { run: (ctx: MsgContext, self: unknown, ...a: unknown[]) => number | Promise<number> }>;

  test('consume_credentials removes exactly the authorized header', async () => {
    const r = rig('ser');
    const ch = await challenge(r);
    const { ctx } = await verify(r, answer({ user: 'alice', password: 'wonderland', ch, ...reg }), { headers: ['Authorization: Digest username="x", realm="other.org", nonce="n", uri="sip:a", response="00"'] });
    expect(await fns.consume_credentials!.run(ctx, r.core)).toBe(1);
    const out = ctx.msg.serializeRequest().toString('latin1');
    expect(out).toContain('realm="other.org"');
    expect(out).not.toContain('realm="example.com"');
    expect(await fns.consume_credentials!.run(req(r), r.core)).toBe(-1);
  });

  test('pv_www_authenticate takes the password or the HA1 (flag 1) from the script', async () => {
    // the same answer in several requests: replay protection off for this test
    const r = rig('kamailio', { replayProtection: false });
    const ch = await challenge(r, 'example.com', 1);
    const a = answer({ user: 'alice', password: 'pw', ch, ...reg });
    const mk = () => req(r, { headers: [`Authorization: ${a}`] });
    expect(await fns.pv_www_authenticate!.run(mk(), r.core, 'example.com', 'pw', 0)).toBe(1);
    expect(await fns.pv_www_authenticate!.run(mk(), r.core, 'example.com', 'bad', 0)).toBe(-2);
    expect(await fns.pv_www_authenticate!.run(mk(), r.core, 'example.com', computeHa1('MD5', 'alice', 'example.com', 'pw'), 1)).toBe(1);
  });

  test('pv_auth_check flag 1: the authorized user must be the To/From user (-8)', async () => {
    const r = rig('kamailio', { replayProtection: false });
    const ch = await challenge(r, 'example.com', 1);
    const a = answer({ user: 'alice', password: 'pw', ch, ...reg });
    const own = req(r, { headers: [`Authorization: ${a}`] });
    expect(await fns.pv_auth_check!.run(own, r.core, 'example.com', 'pw', 0, 1)).toBe(1);
    const other = req(r, { to: 'sip:bob@example.com', from: 'sip:bob@example.com', headers: [`Authorization: ${a}`] });
    expect(await fns.pv_auth_check!.run(other, r.core, 'example.com', 'pw', 0, 1)).toBe(-8);
  });

  test('has_credentials looks for the realm in either header', async () => {
    const r = rig('kamailio');
    const ctx = req(r, { headers: ['Proxy-Authorization: Digest username="a", realm="example.com", nonce="n", uri="sip:x", response="00"'] });
    expect(fns.has_credentials!.run(ctx, r.core, 'example.com')).toBe(1);
    expect(fns.has_credentials!.run(ctx, r.core, 'other.org')).toBe(-1);
  });
});
