// BINRPC codec: the byte layouts documented in Kamailio's ctl/binrpc.h (ints, strings,
// structs, header), request decoding, reply and fault encoding, and malformed packets.
import { describe, expect, it } from 'vitest';
import { BinRpcError, encodeFault, encodeReply, encodeRequest, parseHeader, parseRequest, readRecords } from '../../src/control/binrpc.js';

const hex = (b: Buffer) => b.toString('hex');
/** body of a packet built by the encoder (header skipped) */
const bodyOf = (pkt: Buffer) => {
  const h = parseHeader(pkt)!;
  return pkt.subarray(h.headerLength, h.headerLength + h.bodyLength);
};

describe('parseHeader', () => {
  it('reads type, body length and cookie of any width', () => {
    const pkt = Buffer.from([0xa1, 0x01 << 4 | (1 << 2) | 3, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef]);
    expect(parseHeader(pkt)).toEqual({ type: 1, bodyLength: 0x102, cookie: 0xdeadbeef, headerLength: 8 });
  });

  it('asks for more bytes while the header is incomplete', () => {
    expect(parseHeader(Buffer.from([0xa1]))).toBeNull();
    expect(parseHeader(Buffer.from([0xa1, 0x0f, 0x00]))).toBeNull();
  });

  it('refuses a wrong magic or version', () => {
    expect(() => parseHeader(Buffer.from('{"x":1}'))).toThrow(BinRpcError);
    expect(() => parseHeader(Buffer.from([0xa2, 0x00, 0x00, 0x00]))).toThrow(/version 2/);
  });
});

describe('encodeReply', () => {
  it('writes minimal ints and 0-terminated strings as binrpc.h documents', () => {
    expect(hex(bodyOf(encodeReply(1, [0x1234, 7, 0])))).toBe('201234' + '1007' + '00');
    expect(hex(bodyOf(encodeReply(1, 'abcdef')))).toBe('71' + hex(Buffer.from('abcdef\0')));
    expect(hex(bodyOf(encodeReply(1, 'abcdefhij')))).toBe('910a' + hex(Buffer.from('abcdefhij\0')));
    expect(hex(bodyOf(encodeReply(1, '')))).toBe('1100');
  });

  it('writes an object as a struct of AVPs (the binrpc.h struct example)', () => {
    expect(hex(bodyOf(encodeReply(1, { intval: 3, s: 'abc' })))).toBe(
      '03' + '75' + hex(Buffer.from('intval\0')) + '1003' + '25' + hex(Buffer.from('s\0')) + '41' + hex(Buffer.from('abc\0')) + '83',
    );
  });

  it('writes nested arrays as structs and named elements as members, as Kamailio rpc does', () => {
    const recs = readRecords(bodyOf(encodeReply(1, { Domains: [{ Domain: { Size: 1 } }], list: ['a', 2] })));
    expect(recs).toEqual([
      { kind: 'open', type: 3 },
      { kind: 'avp', name: 'Domains' },
      { kind: 'open', type: 3 },
      { kind: 'avp', name: 'Domain' },
      { kind: 'open', type: 3 },
      { kind: 'avp', name: 'Size' },
      { kind: 'value', value: 1 },
      { kind: 'close', type: 3 },
      { kind: 'close', type: 3 },
      { kind: 'avp', name: 'list' },
      { kind: 'open', type: 3 },
      { kind: 'value', value: 'a' },
      { kind: 'value', value: 2 },
      { kind: 'close', type: 3 },
      { kind: 'close', type: 3 },
    ]);
  });

  it('top-level arrays are several values; big and fractional numbers are fixed-point doubles', () => {
    expect(readRecords(bodyOf(encodeReply(7, [4294967295, -5, 2.5, true, null])))).toEqual([
      { kind: 'value', value: 4294967295 },
      { kind: 'value', value: -5 },
      { kind: 'value', value: 2.5 },
      { kind: 'value', value: 1 },
      { kind: 'value', value: '<null string>' },
    ]);
    expect(bodyOf(encodeReply(7, null)).length).toBe(0);
  });

  it('keeps the cookie and marks the packet as a reply', () => {
    const h = parseHeader(encodeReply(0x1234567, 'x'))!;
    expect(h).toMatchObject({ type: 1, cookie: 0x1234567 });
  });
});

describe('encodeFault', () => {
  it('is a fault packet with the code and message', () => {
    const pkt = encodeFault(99, 404, 'AOR not found');
    expect(parseHeader(pkt)).toMatchObject({ type: 3, cookie: 99 });
    expect(readRecords(bodyOf(pkt))).toEqual([
      { kind: 'value', value: 404 },
      { kind: 'value', value: 'AOR not found' },
    ]);
  });
});

describe('parseRequest', () => {
  it('returns the method and scalar params (kamcmd sends ints, doubles and strings)', () => {
    const pkt = encodeRequest(5, 'ul.lookup', ['location', 1000, -1, 0.25]);
    expect(parseRequest(bodyOf(pkt))).toEqual({ method: 'ul.lookup', params: ['location', 1000, -1, 0.25] });
  });

  it('rejects empty, truncated and structured requests with a BinRpcError', () => {
    expect(() => parseRequest(Buffer.alloc(0))).toThrow(BinRpcError);
    expect(() => parseRequest(Buffer.from([0x71, 0x61]))).toThrow(/truncated/);
    expect(() => parseRequest(Buffer.from([0x10, 0x01]))).toThrow(/method name/);
    expect(() => parseRequest(Buffer.from([0x21, 0x61, 0x00, 0x03, 0x83]))).toThrow(/structured/);
    expect(() => parseRequest(Buffer.from([0x21, 0x61, 0x00, 0x0e]))).toThrow(/unknown record type/);
    expect(() => parseRequest(Buffer.from([0x21, 0x61, 0x00, 0x50, 1, 2, 3, 4, 5]))).toThrow(/5 bytes/);
  });
});
