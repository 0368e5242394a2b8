import { describe, expect, it } from 'vitest';
import { formatUri, getUriParam, parseUri } from '../../src/sip/index.js';

describe('parseUri', () => {
  it('parses a full sip URI', () => {
    expect(parseUri('sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=x&priority=urgent')).toEqual({
      scheme: 'sip',
      user: 'alice',
      password: 'secret',
      host: 'atlanta.example.com',
      port: 5061,
      params: [['transport', 'tcp'], ['lr', null]],
      headers: 'subject=x&priority=urgent',
    });
  });

  it('lower-cases the scheme and accepts sips', () => {
    expect(parseUri('SIPS:bob@example.com')?.scheme).toBe('sips');
  });

  it('parses host-only, IPv4 and IPv6 hosts', () => {
    expect(parseUri('sip:example.com')).toMatchObject({ user: null, host: 'example.com', port: null });
    expect(parseUri('sip:192.0.2.1:5060')).toMatchObject({ host: '192.0.2.1', port: 5060 });
    expect(parseUri('sip:bob@[2001:db8::1]:5070;lr')).toMatchObject({ host: '[2001:db8::1]', port: 5070, params: [['lr', null]] });
  });

  it('keeps escapes as written and accepts the unusual user characters of RFC 4475', () => {
    expect(parseUri('sip:sips%3Auser%40example.com@example.net')?.user).toBe('sips%3Auser%40example.com');
    const u = parseUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
    expect(u?.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(u?.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(parseUri('sip:user;par=u%40example.net@example.com')?.user).toBe('user;par=u%40example.net');
  });

  it('parses tel URIs with the number as user', () => {
    expect(parseUri('tel:+1-201-555-0123;phone-context=example.com')).toEqual({
      scheme: 'tel', user: '+1-201-555-0123', password: null, host: '', port: null,
      params: [['phone-context', 'example.com']], headers: null,
    });
  });

  it.each([
    '', 'sip:', 'sip:@example.com', 'sip:user@', 'sip:user@host:', 'sip:user@host:123456', 'sip:user@host:70000',
    'sip:user@ho st', 'sip:user@host;=x', 'sip:user@[::1',
    'sip:user@[]', '<sip:user@host>', 'http://example.com', 'nobodyKnowsThisScheme:x', 'tel:', 'tel:12 34',
    'sip:user@host?a=<b>', 'sip:us"er@host', 'sip:us>er@host', 'sip:us\ter@host', 'sip:us\r\ner@host', 'sip:user@host;a=\x7f',
    'tel:12<34', 'sip:a:b c@host',
  ])('returns null for %j', (s) => {
    expect(parseUri(s)).toBeNull();
  });
});

describe('parseUri is liberal like Kamailio (issue 19)', () => {
  it.each([
    ['sip:1234#442071234567@proxy', '1234#442071234567'],
    ['sip:*67#1000@example.com', '*67#1000'],
    ['sip:#31#+442071234567@10.0.0.1;user=phone', '#31#+442071234567'],
    ['sip:us%zzer@host', 'us%zzer'],
    ['sip:100%@host', '100%'],
    ['sip:{a}|[b]^`\\@host', '{a}|[b]^`\\'],
    ['sip:j\xfcrgen@host', 'j\xfcrgen'],
  ])('accepts the user part of %j raw', (s, user) => {
    const u = parseUri(s);
    expect(u?.user).toBe(user);
    expect(u && formatUri(u)).toBe(s);
  });

  it('accepts a raw # in a password and in params and headers', () => {
    const u = parseUri('sip:alice:pa#ss@host;tp=12#3;x?subject=#1');
    expect(u).toMatchObject({ user: 'alice', password: 'pa#ss', params: [['tp', '12#3'], ['x', null]], headers: 'subject=#1' });
  });

  it('keeps empty params and empty values so a rewritten URI still carries them', () => {
    for (const s of ['sip:user@host;', 'sip:user@host;;lr', 'sip:user@host;a=;b', 'sip:user@host;maddr=;lr=on']) {
      const u = parseUri(s);
      expect(u).not.toBeNull();
      if (u !== null) expect(formatUri(u)).toBe(s);
    }
    expect(parseUri('sip:user@host;a=;lr')?.params).toEqual([['a', ''], ['lr', null]]);
  });

  it('takes tel: numbers with star codes, # and visual separators', () => {
    expect(parseUri('tel:*67;phone-context=+44')?.user).toBe('*67');
    expect(parseUri('tel:1234#442071234567')?.user).toBe('1234#442071234567');
    expect(parseUri('tel:+44(20)7946-0000')?.user).toBe('+44(20)7946-0000');
  });
});

describe('formatUri', () => {
  it.each([
    'sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=x',
    'sips:[2001:db8::1]',
    'tel:+1-201-555-0123;phone-context=example.com',
    'sip:%00@host5.example.com',
  ])('round-trips %s', (s) => {
    const u = parseUri(s);
    expect(u).not.toBeNull();
    if (u !== null) expect(formatUri(u)).toBe(s);
  });

  it('writes edits made to the object', () => {
    const u = parseUri('sip:bob@example.com');
    if (u === null) throw new Error('parse');
    expect(formatUri({ ...u, host: '192.0.2.9', port: 5080, params: [['lr', null]] })).toBe('sip:bob@192.0.2.9:5080;lr');
  });
});

describe('getUriParam', () => {
  const u = parseUri('sip:h;LR;Transport=TCP');
  it('finds params case-insensitively; null for flags, undefined when absent', () => {
    if (u === null) throw new Error('parse');
    expect(getUriParam(u, 'lr')).toBeNull();
    expect(getUriParam(u, 'transport')).toBe('TCP');
    expect(getUriParam(u, 'maddr')).toBeUndefined();
  });
});

describe('hashHex', () => {
  it('is the 14-digit hex of hash53, salted by the seed', async () => {
    const { hash53, hashHex } = await import('../../src/core/fast-hash.js');
    for (const s of ['', 'a', 'z9hG4bK-1-1', 'call-id@host 1234', 'ü']) {
      expect(hashHex(s, 77)).toBe(hash53(s, 77).toString(16).padStart(14, '0'));
      expect(hashHex(s, 77)).toHaveLength(14);
    }
    expect(hashHex('x', 1)).not.toBe(hashHex('x', 2));
  });
});
