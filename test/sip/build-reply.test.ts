import { describe, expect, it } from 'vitest';
import { buildReply, formatVia, SipMessage } from '../../src/sip/index.js';
import { parseFixture, sip } from './helpers.js';

const lines = (b: Buffer) => b.toString('latin1').split('\r\n');

describe('buildReply', () => {
  it('copies Via (as edited), From, To with our tag, Call-ID, CSeq, Record-Route (RFC 3261 §8.2.6)', () => {
    const req = parseFixture('invite.sip');
    const top = req.header('Via');
    if (top === undefined) throw new Error('no Via');
    req.setHeaderValue(top, formatVia({ ...req.topVia(), received: '192.0.2.99', rport: '5062' }));
    const out = buildReply(req, 200, 'OK', { toTag: 'abc', headers: ['Contact: <sip:proxy@192.0.2.1>'], server: 'tser' });
    expect(lines(out)).toEqual([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport=5062;received=192.0.2.99',
      'To: Bob <sip:bob@biloxi.example.com>;tag=abc',
      'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
      'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
      'CSeq: 314159 INVITE',
      'Record-Route: <sip:rr.example.com;lr>',
      'Contact: <sip:proxy@192.0.2.1>',
      'Server: tser',
      'Content-Length: 0',
      '',
      '',
    ]);
  });

  it('adds no tag to 100 Trying or when To already has one; no Record-Route outside 101..299', () => {
    const req = parseFixture('invite.sip');
    const trying = SipMessage.parse(buildReply(req, 100, 'Trying', { toTag: 'abc' }));
    expect([trying.to().tag, trying.recordRoutes().length]).toEqual([null, 0]);
    expect(SipMessage.parse(buildReply(req, 404, 'Not Found', { toTag: 'abc' })).recordRoutes()).toEqual([]);
    const tagged = parseFixture('rfc4475/wsinv.sip');
    expect(SipMessage.parse(buildReply(tagged, 486, 'Busy', { toTag: 'abc' })).to().tag).toBe('1918181833n');
  });

  it('copies all Via headers in order and parses back', () => {
    const req = parseFixture('rfc4475/transports.sip');
    const r = SipMessage.parse(buildReply(req, 200, 'OK', { toTag: 'x' }));
    expect(r.vias().map((v) => v.host)).toEqual(req.vias().map((v) => v.host));
    expect(r.checkRequired()).toBeNull();
    expect(r.status).toBe(200);
  });

  it('adds body, Content-Type and Content-Length', () => {
    const r = SipMessage.parse(buildReply(parseFixture('invite.sip'), 488, 'Not Here', { body: 'v=0\r\n', contentType: 'application/sdp' }));
    expect([r.body, r.value('Content-Type'), r.value('Content-Length')]).toEqual(['v=0\r\n', 'application/sdp', '5']);
  });

  it('builds a 400 even for a request with broken or missing headers', () => {
    const req = SipMessage.parse(sip('INVITE sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h', 'To: "broken <sip:a@b>', '', ''));
    expect(req.checkRequired()).not.toBeNull();
    const r = lines(buildReply(req, 400, 'Bad Request', { toTag: 'x' }));
    expect(r).toContain('To: "broken <sip:a@b>');
  });

  it('keeps the status line on one line', () => {
    expect(lines(buildReply(parseFixture('invite.sip'), 500, 'bad\r\nX-Injected: 1'))[0]).toBe('SIP/2.0 500 bad X-Injected: 1');
  });
});
