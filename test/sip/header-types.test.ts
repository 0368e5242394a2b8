import { describe, expect, it } from 'vitest';
import { HT, lookupHeader } from '../../src/sip/index.js';

describe('lookupHeader', () => {
  it.each([
    ['Via', HT.VIA, 'via'], ['v', HT.VIA, 'via'], ['vIa', HT.VIA, 'via'], ['V', HT.VIA, 'via'],
    ['f', HT.FROM, 'from'], ['t', HT.TO, 'to'], ['i', HT.CALL_ID, 'call-id'], ['call-id', HT.CALL_ID, 'call-id'],
    ['m', HT.CONTACT, 'contact'], ['l', HT.CONTENT_LENGTH, 'content-length'], ['c', HT.CONTENT_TYPE, 'content-type'],
    ['k', HT.SUPPORTED, 'supported'], ['s', HT.SUBJECT, 'subject'], ['o', HT.EVENT, 'event'],
    ['MaX-fOrWaRdS', HT.MAX_FORWARDS, 'max-forwards'], ['cseq', HT.CSEQ, 'cseq'],
    ['e', HT.OTHER, 'content-encoding'], ['u', HT.OTHER, 'allow-events'], ['r', HT.OTHER, 'refer-to'],
    ['b', HT.OTHER, 'referred-by'], ['x', HT.OTHER, 'session-expires'],
    ['X-Custom', HT.OTHER, 'x-custom'], ['C%6Fntact', HT.OTHER, 'c%6fntact'],
  ])('%s → type %i, %s', (name, type, lname) => {
    expect(lookupHeader(name)).toMatchObject({ type, lname });
  });
});
