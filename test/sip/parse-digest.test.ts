import { describe, expect, it } from 'vitest';
import { parseDigest, SipParseError } from '../../src/sip/index.js';

describe('parseDigest', () => {
  it('parses Digest credentials and unquotes values', () => {
    const c = parseDigest(
      'Digest username="bob", realm="biloxi.com",nonce="dcd98b", uri="sip:bob@biloxi.com", response="245f", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b", opaque="5ccc", Extra = "a\\"b"',
    );
    expect(c).toMatchObject({
      scheme: 'Digest', username: 'bob', realm: 'biloxi.com', nonce: 'dcd98b', uri: 'sip:bob@biloxi.com',
      response: '245f', algorithm: 'MD5', qop: 'auth', nc: '00000001', cnonce: '0a4f113b', opaque: '5ccc',
    });
    expect(c.params.get('extra')).toBe('a"b');
  });

  it('keeps commas inside quoted values and tolerates empty list elements', () => {
    const c = parseDigest('Digest realm="a,b",, nonce="n"');
    expect([c.realm, c.nonce, c.username]).toEqual(['a,b', 'n', null]);
  });

  it('accepts unknown schemes and token68 forms', () => {
    expect(parseDigest('NoOneKnowsThisScheme opaque-data=here').params.get('opaque-data')).toBe('here');
    expect(parseDigest('Basic dXNlcjpwYXNz==')).toMatchObject({ scheme: 'Basic', username: null });
  });

  it.each(['', 'Digest username', 'Digest username=', 'Digest a=b c=d', 'Digest realm="x', 'Digest realm=a, realm=b', 'Digest,realm=a'])(
    'throws SipParseError for %j',
    (s) => {
      expect(() => parseDigest(s)).toThrow(SipParseError);
    },
  );
});
