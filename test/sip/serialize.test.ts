import { describe, expect, it } from 'vitest';
import { markViaText, normalizeLines, SipMessage, SipParseError } from '../../src/sip/index.js';
import { fixture, parseFixture, request, sip } from './helpers.js';

const text = (b: Buffer) => b.toString('latin1');
const headerLines = (b: Buffer) => text(b).split('\r\n\r\n')[0].split('\r\n');

describe('normalizeLines', () => {
  it('adds CRLF, keeps an existing one, splits multi-line text and drops blank lines', () => {
    expect(normalizeLines('X-A: 1')).toBe('X-A: 1\r\n');
    expect(normalizeLines('X-A: 1\r\n')).toBe('X-A: 1\r\n');
    expect(normalizeLines('X-A: 1\r\nX-B: 2')).toBe('X-A: 1\r\nX-B: 2\r\n');
    expect(normalizeLines('X-A: 1\n\r\n\r\nX-B: 2\n')).toBe('X-A: 1\r\nX-B: 2\r\n');
    expect(normalizeLines('')).toBe('');
  });
});

describe('serializeReply', () => {
  it('reproduces an unedited message byte for byte', () => {
    const buf = fixture('reply-200.sip');
    expect(SipMessage.parse(buf).serializeReply({ removeTopVia: false }).equals(buf)).toBe(true);
  });

  it('removes only the first via-parm of a multi-valued top Via', () => {
    const out = parseFixture('reply-200.sip').serializeReply({ removeTopVia: true });
    expect(headerLines(out).slice(0, 3)).toEqual([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
      'Via: SIP/2.0/TCP client.example.com:5061;branch=z9hG4bK74bf9',
    ]);
    expect(SipMessage.parse(out).vias().length).toBe(2);
  });

  it('drops a single-valued top Via header entirely', () => {
    const m = parseFixture('rfc4475/bcast.sip');
    const vias = SipMessage.parse(m.serializeReply({ removeTopVia: true })).vias();
    expect(vias.map((v) => v.host)).toEqual(['255.255.255.255']);
  });

  it('throws SipParseError when there is no Via to remove', () => {
    const m = SipMessage.parse(sip('SIP/2.0 200 OK', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''));
    expect(() => m.serializeReply({ removeTopVia: true })).toThrow(SipParseError);
  });

  it('refuses requests', () => {
    expect(() => parseFixture('invite.sip').serializeReply({ removeTopVia: false })).toThrow(TypeError);
  });
});

describe('serializeRequest', () => {
  it('writes new R-URI, new Via, extraTop, inserted lines, originals, appended lines, extraBottom', () => {
    const m = SipMessage.parse(request(['X-Orig: 1']));
    m.insertHeaderTop('Record-Route: <sip:p1;lr>');
    m.insertHeaderTop('Record-Route: <sip:p2;lr>\r\n');
    m.appendHeader('X-App: 1');
    const out = m.serializeRequest({
      ruri: 'sip:bob@192.0.2.4:5060',
      via: 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1',
      extraTop: ['X-Top: 1'],
      extraBottom: ['X-Bottom: 1'],
    });
    expect(headerLines(out)).toEqual([
      'OPTIONS sip:bob@192.0.2.4:5060 SIP/2.0',
      'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1',
      'X-Top: 1',
      'Record-Route: <sip:p1;lr>',
      'Record-Route: <sip:p2;lr>',
      'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
      'From: <sip:alice@example.com>;tag=1',
      'To: <sip:bob@example.com>',
      'Call-ID: c1@host',
      'CSeq: 1 OPTIONS',
      'X-Orig: 1',
      'Content-Length: 0',
      'X-App: 1',
      'X-Bottom: 1',
    ]);
  });

  it('serialises several branches from one message without changing it', () => {
    const m = parseFixture('invite.sip');
    const a = m.serializeRequest({ ruri: 'sip:bob@192.0.2.1', via: 'SIP/2.0/UDP p;branch=z9hG4bKa' });
    const b = m.serializeRequest({ ruri: 'sip:bob@192.0.2.2', via: 'SIP/2.0/UDP p;branch=z9hG4bKb' });
    expect(SipMessage.parse(a).ruri).toBe('sip:bob@192.0.2.1');
    expect(SipMessage.parse(b).topVia().branch).toBe('z9hG4bKb');
    expect(text(m.serializeRequest()).slice(m.startLine.length)).toBe(text(fixture('invite.sip')).slice(m.startLine.length));
  });

  it('applies removals and replaced values as Name: value', () => {
    const m = parseFixture('invite.sip');
    expect(m.removeHeaders('route')).toBe(2);
    const mf = m.header('Max-Forwards');
    if (mf === undefined) throw new Error('no Max-Forwards');
    m.setHeaderValue(mf, '69');
    const out = SipMessage.parse(m.serializeRequest());
    expect(out.routes()).toEqual([]);
    expect(out.maxForwards()).toBe(69);
    expect(out.body).toBe(m.body);
  });

  it('keeps compact names when re-emitting an edited header', () => {
    const m = parseFixture('register.sip');
    const h = m.headersNamed('Contact')[1];
    expect(h.name).toBe('m');
    m.setHeaderValue(h, '<sip:bob@192.0.2.6>');
    expect(headerLines(m.serializeRequest())).toContain('m: <sip:bob@192.0.2.6>');
  });

  it('setBody rewrites Content-Length and Content-Type; empty body drops Content-Type', () => {
    const m = parseFixture('invite.sip');
    m.setBody('hello', 'text/plain');
    let out = SipMessage.parse(m.serializeRequest());
    expect([out.body, out.value('Content-Type'), out.value('Content-Length')]).toEqual(['hello', 'text/plain', '5']);
    m.setBody('');
    out = SipMessage.parse(m.serializeRequest());
    expect([out.body, out.hasHeader('Content-Type'), out.value('l')]).toEqual(['', false, '0']);
  });

  it('adds Content-Type and Content-Length when missing', () => {
    const m = parseFixture('rfc4475/inv2543.sip');
    const out = SipMessage.parse(m.serializeRequest());
    expect(out.value('Content-Length')).toBe(String(m.body.length));
    const n = SipMessage.parse(request());
    n.setBody('x=1', 'application/x-test');
    expect(SipMessage.parse(n.serializeRequest()).value('c')).toBe('application/x-test');
  });

  it('keeps one correct Content-Length when there were several or it was removed', () => {
    const m = parseFixture('rfc4475/mcl01.sip');
    const out = SipMessage.parse(m.serializeRequest());
    expect(out.headersNamed('Content-Length').map((h) => h.value)).toEqual(['13']);
    const r = parseFixture('invite.sip');
    r.removeHeaders('Content-Length');
    expect(SipMessage.parse(r.serializeRequest()).value('Content-Length')).toBe(String(r.body.length));
  });

  it('normalises an LF-only message to CRLF', () => {
    const out = text(parseFixture('options-lf.sip').serializeRequest());
    expect(out.replace(/\r\n/g, '').includes('\n')).toBe(false);
    expect(SipMessage.parse(Buffer.from(out, 'latin1')).from().tag).toBe('1928301774');
  });

  it('refuses replies', () => {
    expect(() => parseFixture('reply-200.sip').serializeRequest()).toThrow(TypeError);
  });
});

describe('editTopViaParm: received/rport written into the received bytes (issue 19)', () => {
  const mark = (parm: string) => markViaText(parm, '192.0.2.9', '5070');

  it('keeps the name spelling, spacing before the colon and the other via-parms as received', () => {
    const m = SipMessage.parse(sip(
      'OPTIONS sip:a@b SIP/2.0', 'Via : SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport ,\r\n  SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2',
      'From: <sip:1234#1@b>;tag=1', 'To: <sip:1234#1@b>', 'Call-ID: c', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''));
    const via = m.topVia();
    expect(m.editTopViaParm(via.raw, mark)).toBe('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5070;received=192.0.2.9');
    const out = m.serializeRequest().toString('latin1');
    expect(out).toContain('Via : SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=5070;received=192.0.2.9 ,\r\n  SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2\r\n');
    expect(out).toContain('From: <sip:1234#1@b>;tag=1\r\nTo: <sip:1234#1@b>\r\n');
  });

  it('edits a first via-parm that is itself folded without unfolding it', () => {
    const m = SipMessage.parse(sip(
      'OPTIONS sip:a@b SIP/2.0', 'Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;received=10.1.1.1;branch=390skdjuw',
      'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''));
    m.editTopViaParm(m.topVia().raw, mark);
    expect(m.serializeRequest().toString('latin1')).toContain('Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;received=192.0.2.9;branch=390skdjuw;rport=5070\r\n');
    expect(m.vias()[0]?.raw).toBe('SIP  /   2.0 /UDP 192.0.2.2;received=10.1.1.1;branch=390skdjuw');
  });

  it('falls back to Name: value once the header was edited another way', () => {
    const m = SipMessage.parse(sip(
      'OPTIONS sip:a@b SIP/2.0', 'v : SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: c', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''));
    const hf = m.header('via')!;
    m.editTopViaParm('SIP/2.0/UDP h;branch=z9hG4bK1', mark);
    m.setHeaderValue(hf, 'SIP/2.0/UDP other;branch=z9hG4bK3');
    expect(m.serializeRequest().toString('latin1')).toContain('\r\nv: SIP/2.0/UDP other;branch=z9hG4bK3\r\n');
  });
});
