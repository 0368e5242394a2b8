// Digest computations against the published vectors (RFC 2617 §3.5, RFC 2069, RFC 7616
// §3.9.1) and independently computed -sess / auth-int values.
import { describe, expect, test } from 'vitest';
import { computeHa1, computeResponse, hexEqual, parseAlgorithm } from '../../modules/auth/digest.js';

const md5 = parseAlgorithm('MD5')!;
const sha = parseAlgorithm('SHA-256')!;

describe('computeResponse', () => {
  test('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const r = computeResponse({ algorithm: md5, ha1, nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' });
    expect(r).toBe('6629fae49393a05397450978507c4ef1');
  });

  test('RFC 2069 compatibility (no qop), with the erratum value', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'CircleOfLife');
    expect(computeResponse({ algorithm: md5, ha1, nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html', qop: null })).toBe(
      '1949323746fe6a43ef61f9606e7febea',
    );
  });

  const v7616 = {
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    method: 'GET',
    uri: '/dir/index.html',
    qop: 'auth' as const,
    nc: '00000001',
  };

  test('RFC 7616 §3.9.1 MD5 and SHA-256', () => {
    const m = computeResponse({ ...v7616, algorithm: md5, ha1: computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life') });
    expect(m).toBe('8ca523f5e9506fed4657c9700eebdbec');
    const s = computeResponse({ ...v7616, algorithm: sha, ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life') });
    expect(s).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('-sess variants hash the hex HA1 with nonce and cnonce (RFC 7616 §3.4.2)', () => {
    const md5sess = computeResponse({ ...v7616, algorithm: parseAlgorithm('md5-sess')!, ha1: computeHa1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life') });
    expect(md5sess).toBe('e783283f46242139c486a698fec7211d');
    const shasess = computeResponse({ ...v7616, algorithm: parseAlgorithm('SHA-256-sess')!, ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life') });
    expect(shasess).toBe('2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7');
  });

  test('qop=auth-int hashes the SIP body into HA2', () => {
    const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
    const base = { nonce: 'abc', cnonce: 'xyz', nc: '0000000a', method: 'INVITE', uri: 'sip:bob@example.com', qop: 'auth-int' as const, body };
    expect(computeResponse({ ...base, algorithm: md5, ha1: computeHa1('MD5', 'alice', 'example.com', 'secret') })).toBe('08df157ac2654e7fde1748808e0acae9');
    expect(computeResponse({ ...base, algorithm: sha, ha1: computeHa1('SHA-256', 'alice', 'example.com', 'secret') })).toBe(
      '796d2380b27b909668c34608e3e3cde5a47d3dc72032bd67b57c4f9a112dbf5b',
    );
  });

  test('SHA-256 HA1 as the flexisip setup stores it', () => {
    expect(computeHa1('SHA-256', 'bob', 'localhost', 'password')).toBe('1b0c9cc5738bbc3997b7a7a9f330017697df6953961d48085fba88c2efc6e1d8');
  });
});

describe('parseAlgorithm', () => {
  test('is case-insensitive, defaults to MD5, knows -sess and refuses the rest', () => {
    expect(parseAlgorithm(null)).toEqual({ name: 'MD5', base: 'MD5', sess: false });
    expect(parseAlgorithm('sha-256-SESS')).toEqual({ name: 'SHA-256-sess', base: 'SHA-256', sess: true });
    expect(parseAlgorithm('SHA-512-256')?.base).toBe('SHA-512-256');
    expect(parseAlgorithm('SHA-1')).toBeNull();
    expect(parseAlgorithm('AKAv1-MD5')).toBeNull();
  });
});

test('hexEqual compares case-insensitively and refuses other lengths', () => {
  expect(hexEqual('ABCDEF', 'abcdef')).toBe(true);
  expect(hexEqual('abcdef', 'abcdee')).toBe(false);
  expect(hexEqual('abc', 'abcd')).toBe(false);
});
