import { describe, expect, it } from 'vitest';
import { parseCSeq, SipParseError } from '../../src/sip/index.js';

describe('parseCSeq', () => {
  it('parses number and method, leading zeros and LWS allowed', () => {
    expect(parseCSeq('314159 INVITE')).toEqual({ seq: 314159, method: 'INVITE' });
    expect(parseCSeq('0009   INVITE ')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq("139122385 !interesting-Method0123456789_*+`.%indeed'~").method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(parseCSeq('4294967295 ACK').seq).toBe(4294967295);
  });

  it.each(['', 'INVITE', '1', '1INVITE', '-1 INVITE', '4294967296 INVITE', '36893488147419103232 REGISTER', '1 INVITE x', '1 IN,VITE', 'x1 INVITE'])(
    'throws SipParseError for %j',
    (s) => {
      expect(() => parseCSeq(s)).toThrow(SipParseError);
    },
  );
});
