import { describe, expect, it } from 'vitest';
import { formatVia, markViaText, parseVia, SipParseError } from '../../src/sip/index.js';

describe('parseVia', () => {
  it('parses sent-protocol, sent-by and the well-known params', () => {
    const [v] = parseVia('SIP/2.0/udp pc33.example.com:5060;branch=z9hG4bK776;received=192.0.2.1;rport=5061;ttl=1');
    expect(v).toEqual({
      protocol: 'SIP/2.0', transport: 'UDP', host: 'pc33.example.com', port: 5060,
      params: [['branch', 'z9hG4bK776'], ['received', '192.0.2.1'], ['rport', '5061'], ['ttl', '1']],
      branch: 'z9hG4bK776', received: '192.0.2.1', rport: '5061',
      raw: 'SIP/2.0/udp pc33.example.com:5060;branch=z9hG4bK776;received=192.0.2.1;rport=5061;ttl=1',
    });
  });

  it('distinguishes rport without value from no rport', () => {
    expect(parseVia('SIP/2.0/UDP h;rport')[0].rport).toBe('');
    expect(parseVia('SIP/2.0/UDP h')[0].rport).toBeNull();
  });

  it('splits comma-separated via-parms and allows LWS everywhere LWS is legal', () => {
    const vs = parseVia('SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8  , SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239');
    expect(vs.map((v) => [v.transport, v.host, v.branch])).toEqual([
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(vs[1].raw).toBe('SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239');
  });

  it('accepts IPv6 hosts and IPv6 param values, quoted values with commas', () => {
    const [v, w] = parseVia('SIP/2.0/UDP [2001:db8::9]:5060;received=[2001:db8::1];x="a,b", SIP/2.0/WSS a.example.com');
    expect(v).toMatchObject({ host: '[2001:db8::9]', port: 5060, received: '[2001:db8::1]' });
    expect(v.params[1]).toEqual(['x', '"a,b"']);
    expect(w.transport).toBe('WSS');
  });

  it.each([
    '', 'SIP/2.0/UDP', 'SIP/2.0 host', 'SIP/2.0/UDP 192.0.2.15;;,;,,', 'SIP/2.0/UDP h;', 'SIP/2.0/UDP h,',
    'SIP/2.0/UDP h:99999', 'SIP/2.0/UDP h:', 'SIP/2.0/UDP h;branch=', 'SIP/2.0/UDP h x', 'SIP/2.0/UDP [::1',
    'SIP/2.0/UDP h;x="unterminated',
  ])('throws SipParseError for %j', (s) => {
    expect(() => parseVia(s)).toThrow(SipParseError);
  });
});

describe('formatVia', () => {
  it('writes a parsed via back', () => {
    const s = 'SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776;rport;x=y';
    expect(formatVia(parseVia(s)[0])).toBe(s);
  });

  it('adds received/rport from the fields, keeping param order', () => {
    const v = parseVia('SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bK1')[0];
    expect(formatVia({ ...v, received: '192.0.2.7', rport: '5062' })).toBe(
      'SIP/2.0/UDP pc33.example.com;rport=5062;branch=z9hG4bK1;received=192.0.2.7',
    );
    expect(formatVia({ ...v, rport: null })).toBe('SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1');
  });
});

describe('markViaText (issue 19: received/rport edited in place)', () => {
  it.each([
    ['SIP/2.0/UDP h;branch=z9hG4bK1;rport', 'SIP/2.0/UDP h;branch=z9hG4bK1;rport=5070;received=192.0.2.1'],
    ['SIP/2.0/UDP h;rport;branch=z9hG4bK1', 'SIP/2.0/UDP h;rport=5070;branch=z9hG4bK1;received=192.0.2.1'],
    ['SIP/2.0/UDP h;RPORT ;branch=z9hG4bK1', 'SIP/2.0/UDP h;rport=5070 ;branch=z9hG4bK1;received=192.0.2.1'],
    ['SIP/2.0/UDP h;rport=1;Received=10.0.0.1;branch=z9hG4bK1', 'SIP/2.0/UDP h;rport=5070;received=192.0.2.1;branch=z9hG4bK1'],
    ['SIP/2.0/UDP h;branch=z9hG4bK1;rportx', 'SIP/2.0/UDP h;branch=z9hG4bK1;rportx;rport=5070;received=192.0.2.1'],
    ['SIP/2.0/UDP h;branch=z9hG4bK1', 'SIP/2.0/UDP h;branch=z9hG4bK1;rport=5070;received=192.0.2.1'],
  ])('%s', (raw, out) => {
    expect(markViaText(raw, '192.0.2.1', '5070')).toBe(out);
  });

  it('leaves what it is not asked to set', () => {
    expect(markViaText('SIP/2.0/UDP h;rport;branch=b', null, '')).toBe('SIP/2.0/UDP h;rport;branch=b');
    expect(markViaText('SIP/2.0/UDP h;branch=b', '10.0.0.9', null)).toBe('SIP/2.0/UDP h;branch=b;received=10.0.0.9');
  });
});
