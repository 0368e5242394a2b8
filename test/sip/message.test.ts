import { describe, expect, it } from 'vitest';
import { HT, MAX_HEADERS, SipMessage, SipParseError } from '../../src/sip/index.js';
import { fixture, parseFixture, request, sip } from './helpers.js';

function parseError(buf: Buffer): string {
  try {
    SipMessage.parse(buf);
  } catch (e) {
    if (e instanceof SipParseError) return e.message;
    throw e;
  }
  throw new Error('parsed');
}

describe('SipMessage.parse: start line', () => {
  it('reads a request line', () => {
    const m = parseFixture('invite.sip');
    expect([m.isRequest, m.method, m.ruri, m.status, m.reason]).toEqual([true, 'INVITE', 'sip:bob@biloxi.example.com', 0, '']);
    expect(m.startLine).toBe('INVITE sip:bob@biloxi.example.com SIP/2.0');
  });

  it('reads a status line; a reply method comes from CSeq', () => {
    const m = parseFixture('reply-200.sip');
    expect([m.isRequest, m.status, m.reason, m.ruri, m.method]).toEqual([false, 200, 'OK', '', 'INVITE']);
  });

  it('accepts an empty reason phrase with or without the SP', () => {
    expect(SipMessage.parse(sip('SIP/2.0 100 ', 'CSeq: 1 INVITE', '', '')).reason).toBe('');
    expect(SipMessage.parse(sip('SIP/2.0 180', 'CSeq: 1 INVITE', '', '')).status).toBe(180);
  });

  it('ignores CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = SipMessage.parse(Buffer.concat([Buffer.from('\r\n\r\n'), request()]));
    expect(m.method).toBe('OPTIONS');
  });

  it.each([
    ['', 'empty message'],
    ['\r\n\r\n', 'empty message'],
    ['garbage\r\n\r\n', 'malformed request line'],
    ['INVITE sip:a@b SIP/2.0', 'missing body separator'],
    ['INVITE  sip:a@b SIP/2.0\r\n\r\n', 'malformed request line'],
    ['INVITE sip:a@b SIP/2.0 \r\n\r\n', 'malformed request line'],
    ['INVITE sip:a@b SIP/3.0\r\n\r\n', 'unsupported SIP version'],
    ['INVITE <sip:a@b> SIP/2.0\r\n\r\n', 'bad Request-URI'],
    ['INV(TE sip:a@b SIP/2.0\r\n\r\n', 'bad method'],
    ['SIP/2.0 2000 OK\r\n\r\n', 'bad status code'],
    ['SIP/2.0 099 Low\r\n\r\n', 'bad status code'],
    ['SIP/2.0 7xx Hm\r\n\r\n', 'bad status code'],
    ['SIP/1.0 200 OK\r\n\r\n', 'unsupported SIP version'],
  ])('rejects %j: %s', (text, reason) => {
    expect(parseError(Buffer.from(text, 'latin1'))).toBe(reason);
  });
});

describe('SipMessage.parse: header section', () => {
  it('indexes headers with names as written and canonical types for compact forms', () => {
    const m = parseFixture('register.sip');
    const contacts = m.headersNamed('Contact');
    expect(contacts.map((h) => h.name)).toEqual(['Contact', 'm']);
    expect(contacts.every((h) => h.type === HT.CONTACT && h.lname === 'contact')).toBe(true);
    expect(m.header('m')).toBe(contacts[0]);
    expect(m.hasHeader('CALL-ID')).toBe(true);
    expect(m.value('i')).toBe('843817637684230@998sdasdh09');
    expect(m.value('X-Nope')).toBeUndefined();
  });

  it('unfolds continuation lines into single spaces', () => {
    const m = parseFixture('rfc4475/wsinv.sip');
    expect(m.value('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.value('to')).toBe('sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n');
    expect(m.value('cseq')).toBe('0009 INVITE');
    expect(m.value('s')).toBe('');
    expect(m.value('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
  });

  it('tolerates LF-only line ends, folding included', () => {
    const m = parseFixture('options-lf.sip');
    expect(m.crlf).toBe(false);
    expect(m.value('From')).toBe('Alice <sip:alice@atlanta.example.com> ;tag=1928301774');
    expect(m.from().tag).toBe('1928301774');
    expect(m.checkRequired()).toBeNull();
  });

  it.each([
    [sip('OPTIONS sip:a@b SIP/2.0', 'Via SIP/2.0/UDP h', '', ''), 'header line without colon'],
    [sip('OPTIONS sip:a@b SIP/2.0', ': x', '', ''), 'bad header name'],
    [sip('OPTIONS sip:a@b SIP/2.0', 'Fo@o: x', '', ''), 'bad header name'],
    [sip('OPTIONS sip:a@b SIP/2.0', ' folded: x', '', ''), 'continuation line before the first header'],
    [sip('OPTIONS sip:a@b SIP/2.0', 'Via: x'), 'missing body separator'],
    [sip('OPTIONS sip:a@b SIP/2.0', 'Via: x', ''), 'missing body separator'],
    [Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\rjunk', 'latin1'), 'bare CR in header section'],
  ])('rejects a bad header section (case %#)', (buf, reason) => {
    expect(parseError(buf)).toBe(reason);
  });

  it(`accepts ${MAX_HEADERS} headers and refuses one more`, () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}`);
    expect(SipMessage.parse(sip('OPTIONS sip:a@b SIP/2.0', ...lines(MAX_HEADERS), '', '')).headers.length).toBe(MAX_HEADERS);
    expect(parseError(sip('OPTIONS sip:a@b SIP/2.0', ...lines(MAX_HEADERS + 1), '', ''))).toBe('too many headers');
  });
});

describe('SipMessage.parse: body', () => {
  it('splits the body at the empty line', () => {
    const m = parseFixture('invite.sip');
    expect(m.body.startsWith('v=0\r\n')).toBe(true);
    expect(m.body.length).toBe(Number(m.value('Content-Length')));
  });

  it('drops octets beyond Content-Length (RFC 3261 §18.3)', () => {
    const m = parseFixture('rfc4475/dblreq.sip');
    expect(m.body).toBe('');
    expect(m.method).toBe('REGISTER');
  });

  it('takes the rest of the datagram when Content-Length is absent', () => {
    expect(parseFixture('rfc4475/inv2543.sip').body.endsWith('m=audio 49217 RTP/AVP 0\r\n')).toBe(true);
  });

  it('keeps binary bodies byte for byte', () => {
    const buf = fixture('rfc4475/mpart01.sip');
    const m = SipMessage.parse(buf);
    expect(Buffer.from(m.body, 'latin1').equals(buf.subarray(buf.length - m.body.length))).toBe(true);
  });

  it.each([
    [request([], ''), 'x', 'truncated body', 'Content-Length: 5'],
    [request([], ''), 'x', 'bad Content-Length', 'Content-Length: -1'],
    [request([], ''), 'x', 'bad Content-Length', 'Content-Length: 1x'],
    [request([], ''), 'x', 'bad Content-Length', 'Content-Length: 99999999999'],
  ])('rejects a bad Content-Length (%#)', (base, body, reason, cl) => {
    const text = base.toString('latin1').replace('Content-Length: 0', cl) + body;
    expect(parseError(Buffer.from(text, 'latin1'))).toBe(reason);
  });
});

describe('SipMessage accessors', () => {
  const inv = parseFixture('invite.sip');

  it('vias/topVia', () => {
    const r = parseFixture('reply-200.sip');
    expect(r.vias().map((v) => v.host)).toEqual(['proxy.example.com', 'pc33.atlanta.example.com', 'client.example.com']);
    expect(r.topVia()).toBe(r.vias()[0]);
    expect(r.topVia().received).toBe('192.0.2.1');
  });

  it('from/to/callId/cseq', () => {
    expect(inv.from()).toMatchObject({ display: '"Alice A."'.slice(1, -1), uri: 'sip:alice@atlanta.example.com', tag: '1928301774' });
    expect(inv.to()).toMatchObject({ display: 'Bob', tag: null });
    expect(inv.callId()).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(inv.cseq()).toEqual({ seq: 314159, method: 'INVITE' });
  });

  it('caches parsed values', () => {
    expect(inv.from()).toBe(inv.from());
    expect(inv.vias()).toBe(inv.vias());
    expect(inv.header('From')?.parsed).toBe(inv.from());
  });

  it('contacts over several headers, and the wildcard', () => {
    const c = parseFixture('register.sip').contacts();
    if (c === '*') throw new Error('star');
    expect(c.map((x) => [x.uri, x.expires, x.q])).toEqual([
      ['sip:bob@192.0.2.4', 3600, 0.7],
      ['sip:bob@192.0.2.5;transport=tcp', null, 1],
      ['sip:bob@[2001:db8::5]:5070', 60, null],
    ]);
    expect(SipMessage.parse(request(['Contact: *', 'Expires: 0'], '', 'REGISTER')).contacts()).toBe('*');
    expect(SipMessage.parse(request()).contacts()).toEqual([]);
    const mixed = SipMessage.parse(request(['Contact: *', 'Contact: <sip:a@b>'], '', 'REGISTER'));
    expect(() => mixed.contacts()).toThrow(SipParseError);
  });

  it('routes and recordRoutes', () => {
    expect(inv.routes().map((r) => r.uri)).toEqual(['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr']);
    expect(inv.recordRoutes().map((r) => r.uri)).toEqual(['sip:rr.example.com;lr']);
    expect(parseFixture('register.sip').routes()).toEqual([]);
  });

  it('maxForwards: null when absent, -1 when unusable', () => {
    expect(inv.maxForwards()).toBe(70);
    expect(parseFixture('rfc4475/wsinv.sip').maxForwards()).toBe(68);
    expect(parseFixture('rfc4475/zeromf.sip').maxForwards()).toBe(0);
    expect(parseFixture('rfc4475/inv2543.sip').maxForwards()).toBeNull();
    expect(parseFixture('rfc4475/scalar02.sip').maxForwards()).toBe(-1);
    expect(SipMessage.parse(request(['Max-Forwards: ten'])).maxForwards()).toBe(-1);
  });

  it('expires: null when absent, -1 when unusable', () => {
    expect(parseFixture('register.sip').expires()).toBe(7200);
    expect(inv.expires()).toBeNull();
    expect(parseFixture('rfc4475/scalar02.sip').expires()).toBe(-1);
  });

  it('ruriParsed', () => {
    expect(inv.ruriParsed()).toMatchObject({ scheme: 'sip', user: 'bob', host: 'biloxi.example.com' });
    expect(inv.ruriParsed()).toBe(inv.ruriParsed());
    expect(() => parseFixture('rfc4475/unkscm.sip').ruriParsed()).toThrow('unsupported Request-URI scheme');
    expect(() => parseFixture('reply-200.sip').ruriParsed()).toThrow(SipParseError);
  });

  it('credentials: each header parsed on its own', () => {
    const cr = inv.credentials('proxy');
    expect(cr.map((c) => [c.hf.name, c.cred.realm, c.cred.username])).toEqual([
      ['Proxy-Authorization', 'atlanta.example.com', 'alice'],
      ['Proxy-Authorization', 'other.example.com', 'alice'],
    ]);
    expect(inv.credentials('www')).toEqual([]);
    expect(parseFixture('register.sip').credentials('www')[0].cred.opaque).toBe('5ccc069c403ebaf9f0171e9517f40e41');
  });

  it('throws SipParseError for missing or broken headers, every time', () => {
    const m = SipMessage.parse(sip('OPTIONS sip:a@b SIP/2.0', 'To: <sip:a@b', '', ''));
    expect(() => m.from()).toThrow('missing From');
    expect(() => m.to()).toThrow(SipParseError);
    expect(() => m.to()).toThrow(SipParseError);
    expect(() => m.callId()).toThrow(SipParseError);
    expect(() => m.topVia()).toThrow(SipParseError);
    expect(m.vias()).toEqual([]);
  });

  it('reads the message as received even after edits', () => {
    const m = parseFixture('invite.sip');
    const from = m.header('From');
    if (from === undefined) throw new Error('no From');
    m.setHeaderValue(from, '<sip:x@y>;tag=2');
    m.removeHeaders('Route');
    expect(m.from().uri).toBe('sip:alice@atlanta.example.com');
    expect(m.routes().length).toBe(3);
  });
});

describe('SipMessage.checkRequired', () => {
  it('accepts a complete request and reply', () => {
    expect(parseFixture('invite.sip').checkRequired()).toBeNull();
    expect(parseFixture('reply-200.sip').checkRequired()).toBeNull();
  });

  it.each([
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS'], null],
    [['From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS'], 'missing Via'],
    [['Via: SIP/2.0/UDP h', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS'], 'missing From'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>;tag=1', 'Call-ID: x', 'CSeq: 1 OPTIONS'], 'missing To'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'CSeq: 1 OPTIONS'], 'missing Call-ID'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: x'], 'missing CSeq'],
    [['Via: SIP/2.0/UDP h', 'f: <sip:a@b>;tag=1', 'From: <sip:a@b>;tag=2', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS'], 'multiple From'],
    [['Via: SIP/2.0/UDP', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS'], 'bad Via: missing host'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b', 'Call-ID: x', 'CSeq: 1 OPTIONS'], "bad To: address: missing '>'"],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: x y', 'CSeq: 1 OPTIONS'], 'bad Call-ID'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: one OPTIONS'], 'bad CSeq: bad sequence number'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 INVITE'], 'CSeq method does not match the request method'],
    [['Via: SIP/2.0/UDP h', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: x', 'CSeq: 1 OPTIONS', 'l: 0', 'Content-Length: 0'], 'multiple Content-Length'],
  ])('%j → %s', (lines, reason) => {
    expect(SipMessage.parse(sip('OPTIONS sip:a@b SIP/2.0', ...lines, '', '')).checkRequired()).toBe(reason);
  });

  it('refuses a malformed sip Request-URI but leaves unknown schemes to the script', () => {
    const bad = Buffer.from(request().toString('latin1').replace('sip:bob@example.com', 'sip:bob@[::1'), 'latin1');
    expect(SipMessage.parse(bad).checkRequired()).toBe('bad Request-URI: bad Request-URI');
    const other = Buffer.from(request().toString('latin1').replace('sip:bob@example.com', 'urn:service:sos'), 'latin1');
    expect(SipMessage.parse(other).checkRequired()).toBeNull();
  });
});
