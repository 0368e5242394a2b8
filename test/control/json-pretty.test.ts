// jsonrpcs pretty_format=1 layout, byte for byte as Kamailio 5.6 writes it to the FIFO
// (captured from `kamailio` 5.6.3 replies to ul.dump brief, core.psx and ul.rm).
import { describe, expect, it } from 'vitest';
import { kamailioPrettyJson } from '../../src/control/json-pretty.js';

describe('kamailioPrettyJson', () => {
  it('nests objects in arrays as Kamailio does (ul.dump brief)', () => {
    const doc = {
      jsonrpc: '2.0',
      result: { Domains: [{ Domain: { Domain: 'location', Size: 1024, AoRs: [{ AoR: 'alice' }], Stats: { Records: 1, 'Max-Slots': 1 } } }] },
      id: 1,
    };
    expect(kamailioPrettyJson(doc)).toBe(
      '{\n\t"jsonrpc":\t"2.0",\n\t"result":\t{\n\t\t"Domains":\t[{\n\t\t\t\t"Domain":\t{\n\t\t\t\t\t"Domain":\t"location",\n\t\t\t\t\t"Size":\t1024,\n' +
        '\t\t\t\t\t"AoRs":\t[{\n\t\t\t\t\t\t\t"AoR":\t"alice"\n\t\t\t\t\t\t}],\n\t\t\t\t\t"Stats":\t{\n\t\t\t\t\t\t"Records":\t1,\n\t\t\t\t\t\t"Max-Slots":\t1\n' +
        '\t\t\t\t\t}\n\t\t\t\t}\n\t\t\t}]\n\t},\n\t"id":\t1\n}',
    );
  });

  it('separates array elements with ", " and prints empty arrays and objects as Kamailio', () => {
    expect(kamailioPrettyJson({ result: [{ IDX: 0 }, { IDX: 1 }] })).toBe('{\n\t"result":\t[{\n\t\t\t"IDX":\t0\n\t\t}, {\n\t\t\t"IDX":\t1\n\t\t}]\n}');
    expect(kamailioPrettyJson({ result: [], r: {} })).toBe('{\n\t"result":\t[],\n\t"r":\t{\n\t}\n}');
    expect(kamailioPrettyJson({ result: ['a = 1', 'b = "x"'] })).toBe('{\n\t"result":\t["a = 1", "b = \\"x\\""]\n}');
  });
});
