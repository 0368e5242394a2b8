// RFC 4475 torture messages (fixtures in test/fixtures/messages/rfc4475, CRLF kept).
// mpart01's binary CMS part is replaced by other binary octets; everything else follows the RFC.
import { describe, expect, it } from 'vitest';
import { SipParseError } from '../../src/sip/index.js';
import { parseFixture } from './helpers.js';

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const parse = (name: string) => parseFixture(`rfc4475/${name}.sip`);

describe('RFC 4475 §3.1.1 valid messages', () => {
  it('wsinv: short tortuous INVITE', () => {
    const m = parse('wsinv');
    expect(m.checkRequired()).toBeNull();
    expect(m.ruriParsed().params).toEqual([['unknownparam', null]]);
    expect(m.callId()).toBe('wsinv.ndaksdj@192.0.2.1');
    expect(m.cseq()).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.vias().map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(m.to()).toMatchObject({ uri: 'sip:vivekg@chair-dnrc.example.com', tag: '1918181833n', display: null });
    expect(m.from()).toMatchObject({ uri: 'sip:jdrosen@example.com', tag: '98asjd8', display: 'J Rosenberg \\\\\\"' });
    expect(m.maxForwards()).toBe(68);
    const c = m.contacts();
    if (c === '*') throw new Error('star');
    expect(c[0]).toMatchObject({ display: 'Quoted string \\"\\"', q: 0.33, params: [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']] });
    expect(m.routes()[0].uri).toBe('sip:services.example.com;lr;unknownwith=value;unknown-no-value');
    expect(m.body.length).toBe(150);
  });

  it('intmeth: wide range of valid characters', () => {
    const m = parse('intmeth');
    expect(m.checkRequired()).toBeNull();
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.ruriParsed()).toMatchObject({ user: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", password: "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", host: 'example.com' });
    expect(m.topVia().branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(m.to().display).toBe('BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F');
    expect(m.from()).toMatchObject({ display: "token1~` token2'+_ token3*%!.-", tag: "_token~1'+`*%!-." });
    expect(m.from().params[0]).toEqual(["fromParam''~+*_!.-%", '"' + latin1('работающий') + '"']);
    expect(m.callId()).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    expect(m.cseq().seq).toBe(139122385);
    expect(m.maxForwards()).toBe(255);
    expect(m.value("extensionHeader-!.%*+_`'~")).toBe(latin1('\uFEFF大停電'));
  });

  it('esc01: valid % escaping', () => {
    const m = parse('esc01');
    expect(m.checkRequired()).toBeNull();
    expect(m.ruriParsed().user).toBe('sips%3Auser%40example.com');
    expect(m.callId()).toBe('esc01.239409asdfakjkn23onasd0-3234');
    expect(m.to().uri).toBe('sip:%75se%72@example.com');
    const c = m.contacts();
    if (c === '*') throw new Error('star');
    expect(c[0].uri).toBe('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    expect(m.value('c')).toBe('application/sdp');
  });

  it('escnull: escaped nulls in URIs', () => {
    const m = parse('escnull');
    expect(m.checkRequired()).toBeNull();
    expect(m.to().uri).toBe('sip:null-%00-null@example.com');
    const c = m.contacts();
    expect(c !== '*' && c.map((x) => x.uri)).toEqual(['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com']);
  });

  it('esc02: % where it is not an escape', () => {
    const m = parse('esc02');
    expect(m.checkRequired()).toBeNull();
    expect([m.method, m.cseq().method]).toEqual(['RE%47IST%45R', 'RE%47IST%45R']);
    expect(m.to().display).toBe('%Z%45');
    expect(m.topVia().branch).toBe('z9hG4bK209%fzsnel234');
    const c = m.contacts();
    expect(c !== '*' && c.length).toBe(2);
    expect(m.value('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
  });

  it('lwsdisp: no LWS between display name and <', () => {
    const m = parse('lwsdisp');
    expect(m.checkRequired()).toBeNull();
    expect(m.from()).toMatchObject({ display: 'caller', tag: '323' });
  });

  it('longreq: long values and many Via spellings', () => {
    const m = parse('longreq');
    expect(m.checkRequired()).toBeNull();
    expect(m.vias().length).toBe(34);
    expect(m.vias()[33].branch).toMatch(/^verylong(long)+branchvalue$/);
    expect(m.to().uri.startsWith('sip:user@example.com:6000;unknownparam1=')).toBe(true);
    expect(m.from().tag).toMatch(/^12(982)+424$/);
    expect(m.callId()).toMatch(/^longreq\.one(really)+longcallid$/);
    expect(m.body.length).toBe(150);
  });

  it('dblreq: extra trailing octets in a datagram are ignored', () => {
    const m = parse('dblreq');
    expect(m.checkRequired()).toBeNull();
    expect([m.method, m.callId(), m.body]).toEqual(['REGISTER', 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', '']);
  });

  it('semiuri: semicolons in the URI user part', () => {
    const m = parse('semiuri');
    expect(m.checkRequired()).toBeNull();
    expect(m.ruriParsed()).toMatchObject({ user: 'user;par=u%40example.net', host: 'example.com', params: [] });
    expect(m.value('Accept')).toBe('application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag');
  });

  it('transports: varied and unknown transports', () => {
    const m = parse('transports');
    expect(m.checkRequired()).toBeNull();
    expect(m.vias().map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    expect(m.callId()).toBe('transports.kijh4akdnaqjkwendsasfdj');
  });

  it('mpart01: multipart body kept byte for byte', () => {
    const m = parse('mpart01');
    expect(m.checkRequired()).toBeNull();
    expect(m.body.length).toBe(Number(m.value('Content-Length')));
    expect(m.body.endsWith('--7a9cbec02ceef655--\r\n')).toBe(true);
    expect(m.cseq()).toEqual({ seq: 2, method: 'MESSAGE' });
  });

  it('unreason: unusual reason phrase', () => {
    const m = parse('unreason');
    expect(m.checkRequired()).toBeNull();
    expect([m.status, m.reason, m.method]).toEqual([200, latin1('= 2**3 * 5**2 но сто девяносто девять - простое'), 'INVITE']);
  });

  it('noreason: empty reason phrase', () => {
    const m = parse('noreason');
    expect(m.checkRequired()).toBeNull();
    expect([m.status, m.reason, m.callId()]).toEqual([100, '', 'noreason.asndj203insdf99223ndf']);
  });
});

describe('RFC 4475 §3.3/§3.4 syntactically valid messages', () => {
  it.each([
    ['badbranch', 'badbranch.sadonfo23i420jv0as0derf3j3n'],
    ['unkscm', 'unkscm.nasdfasser0q239nwsdfasdkl34'],
    ['novelsc', 'novelsc.asdfasser0q239nwsdfasdkl34'],
    ['unksm2', 'unksm2.daksdj@hyphenated-host.example.com'],
    ['bext01', 'bext01.0ha0isndaksdj'],
    ['invut', 'invut.0ha0isndaksdjadsfij34n23d'],
    ['regaut01', 'regaut01.0ha0isndaksdj'],
    ['bcast', 'bcast.0384840201234ksdfak3j2erwedfsASdf'],
    ['zeromf', 'zeromf.jfasdlfnm2o2l43r5u0asdfas'],
    ['cparam01', 'cparam01.70710@saturn.example.com'],
    ['cparam02', 'cparam02.70710@saturn.example.com'],
    ['regescrt', 'regescrt.k345asrl3fdbv@192.0.2.1'],
    ['sdp01', 'sdp01.ndaksdj9342dasdd'],
    ['inv2543', 'inv2543.1717@ift.client.example.com'],
  ])('%s parses and passes checkRequired', (name, callId) => {
    const m = parse(name);
    expect(m.checkRequired()).toBeNull();
    expect(m.callId()).toBe(callId);
    expect(m.contacts()).toBeDefined();
    expect(m.vias().length).toBeGreaterThan(0);
  });

  it('cparam01: an unbracketed contact param belongs to the contact, not the URI', () => {
    const c = parse('cparam01').contacts();
    expect(c !== '*' && [c[0].uri, c[0].params]).toEqual(['sip:+19725552222@gw1.example.net', [['unknownparam', null]]]);
  });

  it('regaut01: unknown authorization scheme is parsed generically', () => {
    expect(parse('regaut01').credentials('www')[0].cred).toMatchObject({ scheme: 'NoOneKnowsThisScheme', username: null });
  });

  it('unkscm/novelsc: the Request-URI is not a SIP URI', () => {
    expect(() => parse('novelsc').ruriParsed()).toThrow(SipParseError);
  });
});

type Detector = 'parse' | 'checkRequired' | 'contacts' | 'tolerated';

function expectParseError(fn: () => unknown, reason: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    expect((e as SipParseError).message).toBe(reason);
    return;
  }
  throw new Error('no error thrown');
}

describe('RFC 4475 §3.1.2 invalid messages', () => {
  it.each<[string, Detector, string]>([
    ['badinv01', 'checkRequired', 'bad Via: empty parameter name'],
    ['clerr', 'parse', 'truncated body'],
    ['ncl', 'parse', 'bad Content-Length'],
    ['scalar02', 'checkRequired', 'bad CSeq: bad sequence number'],
    ['scalarlg', 'checkRequired', 'bad CSeq: bad sequence number'],
    ['quotbal', 'checkRequired', 'bad To: unterminated quoted string'],
    ['ltgtruri', 'parse', 'bad Request-URI'],
    ['lwsruri', 'parse', 'malformed request line'],
    ['lwsstart', 'parse', 'malformed request line'],
    ['trws', 'parse', 'malformed request line'],
    ['escruri', 'checkRequired', 'Request-URI with headers'],
    ['regbadct', 'contacts', "address: URI with '?' or ',' must be enclosed in <>"],
    ['badaspec', 'checkRequired', 'bad To: address: bad URI'],
    ['baddn', 'checkRequired', "bad To: address: URI with '?' or ',' must be enclosed in <>"],
    ['badvers', 'parse', 'unsupported SIP version'],
    ['mismatch01', 'checkRequired', 'CSeq method does not match the request method'],
    ['mismatch02', 'checkRequired', 'CSeq method does not match the request method'],
    ['bigcode', 'parse', 'bad status code'],
    ['insuf', 'checkRequired', 'missing From'],
    ['multi01', 'checkRequired', 'multiple From'],
    ['mcl01', 'checkRequired', 'multiple Content-Length'],
    // §3.1.2.12 lets an element that does not need Date forward the message; tser never reads Date
    ['baddate', 'tolerated', ''],
  ])('%s is caught by %s', (name, detector, reason) => {
    if (detector === 'parse') {
      expectParseError(() => parse(name), reason);
      return;
    }
    const m = parse(name);
    if (detector === 'checkRequired') {
      expect(m.checkRequired()).toBe(reason);
    } else if (detector === 'contacts') {
      expect(m.checkRequired()).toBeNull();
      expectParseError(() => m.contacts(), reason);

    } else {
      expect(m.checkRequired()).toBeNull();
    }
  });

  it('baddn: its From is refused when something reads it (From is parsed lazily, as in Kamailio)', () => {
    expectParseError(() => parse('baddn').from(), "address: URI with '?' or ',' must be enclosed in <>");
  });

  it('badinv01 also has an unparseable Contact', () => {
    expect(() => parse('badinv01').contacts()).toThrow(SipParseError);
  });

  it('scalar02: out-of-range Max-Forwards and Expires read as -1, huge contact expires as null', () => {
    const m = parse('scalar02');
    expect([m.maxForwards(), m.expires()]).toEqual([-1, -1]);
    const c = m.contacts();
    expect(c !== '*' && c[0].expires).toBeNull();
  });
});
