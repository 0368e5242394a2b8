import { describe, expect, it } from 'vitest';
import {
  parseContacts, parseNameAddr, parseNameAddrList, SipParseError, splitHeaderValues,
} from '../../src/sip/index.js';

describe('parseNameAddr', () => {
  it('parses quoted display name, URI and params', () => {
    expect(parseNameAddr('"Alice A." <sip:alice@example.com>;tag=1928;x')).toEqual({
      display: 'Alice A.', uri: 'sip:alice@example.com', params: [['tag', '1928'], ['x', null]], tag: '1928',
      raw: '"Alice A." <sip:alice@example.com>;tag=1928;x',
      parsedUri: { scheme: 'sip', user: 'alice', password: null, host: 'example.com', port: null, params: [], headers: null },
    });
  });

  it('keeps the URI parse for sip/sips/tel only', () => {
    expect(parseNameAddr('<tel:+15551234;phone-context=x>').parsedUri?.user).toBe('+15551234');
    expect(parseNameAddr('<mailto:a@b.c>').parsedUri).toBeNull();
  });

  it('keeps quoted-pairs in the display name as written', () => {
    expect(parseNameAddr('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com> ; tag = 98asjd8')).toMatchObject({
      display: 'J Rosenberg \\\\\\"', tag: '98asjd8',
    });
  });

  it('accepts token display names, with or without LWS before <', () => {
    expect(parseNameAddr('caller<sip:caller@example.com>;tag=323').display).toBe('caller');
    expect(parseNameAddr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>").display).toBe("token1~` token2'+_ token3*%!.-");
    expect(parseNameAddr('<sip:a@b>').display).toBeNull();
  });

  it('treats ;params after a bare addr-spec as header params', () => {
    expect(parseNameAddr('sip:+16505552222@ss1.example.net;user=phone')).toMatchObject({
      uri: 'sip:+16505552222@ss1.example.net', params: [['user', 'phone']], tag: null,
    });
  });

  it('accepts non-sip schemes without parsing them', () => {
    expect(parseNameAddr('isbn:2983792873').uri).toBe('isbn:2983792873');
    expect(parseNameAddr('<http://www.example.com>;tag=3').uri).toBe('http://www.example.com');
  });

  it.each([
    '', '"Mr. J. User <sip:j.user@example.com>', '"Watson, Thomas" < sip:t.watson@example.org >',
    'Bell, Alexander <sip:a.g.bell@example.com>;tag=43', 'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
    '"Joe" <sip:joe@example.org>;;;;', '<sip:a@b', '<>', '<sip:>', '<sip:a@b>;tag', '<sip:a@b> junk',
    '"x" sip:a@b', '<sip:a@b;=>', 'sip:a@b,sip:c@d',
  ])('throws SipParseError for %j', (s) => {
    expect(() => parseNameAddr(s)).toThrow(SipParseError);
  });
});

describe('parseNameAddr is liberal like Kamailio (issue 19)', () => {
  it('takes a tech prefix or star code with a raw # in the URI user part, and hands the parse on', () => {
    const to = parseNameAddr('<sip:1234#442071234567@proxy.example.com>');
    expect(to.uri).toBe('sip:1234#442071234567@proxy.example.com');
    expect(to.parsedUri?.user).toBe('1234#442071234567');
    expect(parseNameAddr('"Joe" <sip:*67#1000@example.com>;tag=a').parsedUri?.user).toBe('*67#1000');
    expect(parseNameAddr('sip:1234#4420@10.0.0.1;tag=x')).toMatchObject({ uri: 'sip:1234#4420@10.0.0.1', tag: 'x' });
  });

  it.each([
    ['J\xfcrgen M\xfcller <sip:j@example.com>', 'J\xfcrgen M\xfcller'],
    ['"J\xfcrgen" <sip:j@example.com>', 'J\xfcrgen'],
    ['Joe (home) <sip:j@example.com>', 'Joe (home)'],
    ['J.R. Smith<sip:j@example.com>', 'J.R. Smith'],
    ['Joe "the Man" Smith <sip:j@example.com>', 'Joe "the Man" Smith'],
    ['"Joe" Smith <sip:j@example.com>', '"Joe" Smith'],
    ['"" <sip:j@example.com>', ''],
    ['"a <b>, c" <sip:j@example.com>', 'a <b>, c'],
    ['+442079460000 <sip:+442079460000@example.com>', '+442079460000'],
  ])('takes the display name of %j', (v, display) => {
    const na = parseNameAddr(v);
    expect(na.display).toBe(display);
    expect(na.uri).toBe('sip:' + v.slice(v.lastIndexOf('<') + 5, -1));
  });

  it('takes header params without values, with empty values, repeated, and with odd bytes', () => {
    expect(parseNameAddr('<sip:a@b>;tag=1;x;x=;y=a/b#c;x=2').params).toEqual([['tag', '1'], ['x', null], ['x', ''], ['y', 'a/b#c'], ['x', '2']]);
    expect(parseNameAddr('<sip:a@b>;tag=1;x').tag).toBe('1');
  });

  it.each([
    ['"Mr. J. User <sip:j.user@example.com>', 'unterminated quoted string'],
    ['Bell, Alexander <sip:a.g.bell@example.com>;tag=43', "address: URI with '?' or ',' must be enclosed in <>"],
    ['"Watson, Thomas" < sip:t.watson@example.org >', 'address: bad URI'],
    ['<sip:a@b>;tag=', 'address: tag without value'],
    ['<sip:1234#44@b c>', 'address: bad character in URI'],
  ])('still refuses %j', (v, why) => {
    expect(() => parseNameAddr(v)).toThrow(why);
  });
});

describe('parseContacts', () => {
  it('splits contacts and decodes expires and q', () => {
    const c = parseContacts('<sip:bob@192.0.2.4>;expires=3600;q=0.7, "Mobile, Bob" <sip:bob@192.0.2.5>;q=1;expires=x');
    expect(c).not.toBe('*');
    if (c === '*') return;
    expect(c.map((x) => [x.display, x.uri, x.expires, x.q])).toEqual([
      [null, 'sip:bob@192.0.2.4', 3600, 0.7],
      ['Mobile, Bob', 'sip:bob@192.0.2.5', null, 1],
    ]);
  });

  it('returns null expires for values beyond 2^32-1 and null q when out of range', () => {
    const c = parseContacts('<sip:a@b>;expires=280297596632815;q=1.5');
    if (c === '*') throw new Error('star');
    expect([c[0].expires, c[0].q]).toEqual([null, null]);
  });

  it('recognises the wildcard', () => {
    expect(parseContacts(' * ')).toBe('*');
  });
});

describe('parseNameAddrList', () => {
  it('splits Route values on top-level commas only', () => {
    expect(parseNameAddrList('<sip:p1.example.com;lr>, "a,b" <sip:p2.example.com;lr>').map((r) => r.uri)).toEqual([
      'sip:p1.example.com;lr', 'sip:p2.example.com;lr',
    ]);
  });
});

describe('splitHeaderValues', () => {
  it('respects quotes, escapes and angle brackets and keeps empty elements', () => {
    expect(splitHeaderValues('a, "b,\\"c", <d,e>;x=1 ,, f')).toEqual(['a', '"b,\\"c"', '<d,e>;x=1', '', 'f']);
  });

  it('throws SipParseError on an unterminated quote or <', () => {
    expect(() => splitHeaderValues('a, "b,c')).toThrow(SipParseError);
    expect(() => splitHeaderValues('a, <b,c')).toThrow(SipParseError);
  });
});
