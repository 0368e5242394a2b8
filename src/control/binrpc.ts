// BINRPC, the binary RPC of Kamailio's ctl module (what `kamcmd` speaks): packet header,
// request decoding and reply/fault encoding. Pure functions over Buffers; the transports
// live in socket-server.ts. Result values are mapped the way Kamailio's own rpc API lays
// them out on this wire, so kamcmd prints tser's answers as it prints Kamailio's.
//
// Header: 0xA1 (magic 0xA, version 1), then one byte `type<<4 | (LL-1)<<2 | (CL-1)`, the
// body length on LL bytes and the cookie on CL bytes (big endian). Records: one byte
// `S|size(3)|type(4)`; S=0: size is the value length; S=1: size is the length of the
// length field that follows (S=1, size 0 on a struct/array marks its end).
import type { RpcParams } from '../core/module-api.js';

export const BINRPC_MAGIC = 0xa;
export const BINRPC_VERSION = 1;
export const BINRPC_FIRST_BYTE = (BINRPC_MAGIC << 4) | BINRPC_VERSION;

/** packet types */
export const BinRpcPacket = { REQ: 0, REPL: 1, FAULT: 3 } as const;

/** record value types */
export const BinRpcType = { INT: 0, STR: 1, DOUBLE: 2, STRUCT: 3, ARRAY: 4, AVP: 5, BYTES: 6 } as const;

/** a malformed packet; `code` is the fault code to answer with */
export class BinRpcError extends Error {
  constructor(
    message: string,
    readonly code = 400,
  ) {
    super(message);
  }
}

export interface BinRpcHeader {
  type: number;
  bodyLength: number;
  cookie: number;
  headerLength: number;
}

/**
 * Header of the packet at the start of `buf`: `null` while more bytes are needed, else the
 * header. A wrong magic or version throws (the stream cannot be resynchronised).
 */
export function parseHeader(buf: Buffer): BinRpcHeader | null {
  if (buf.length < 1) return null;
  if (buf[0] >> 4 !== BINRPC_MAGIC) throw new BinRpcError(`not a BINRPC packet (first byte 0x${buf[0].toString(16).padStart(2, '0')})`);
  if ((buf[0] & 0xf) !== BINRPC_VERSION) throw new BinRpcError(`unsupported BINRPC version ${buf[0] & 0xf}`);
  if (buf.length < 2) return null;
  const type = buf[1] >> 4;
  const lenLen = ((buf[1] >> 2) & 3) + 1;
  const cookieLen = (buf[1] & 3) + 1;
  const headerLength = 2 + lenLen + cookieLen;
  if (buf.length < headerLength) return null;
  let bodyLength = 0;
  for (let i = 0; i < lenLen; i++) bodyLength = bodyLength * 256 + buf[2 + i];
  let cookie = 0;
  for (let i = 0; i < cookieLen; i++) cookie = cookie * 256 + buf[2 + lenLen + i];
  return { type, bodyLength, cookie, headerLength };
}

/** one decoded record: a scalar, or the start/end of a struct or array, or an AVP name */
export type BinRpcRecord =
  | { kind: 'value'; value: string | number }
  | { kind: 'open'; type: number }
  | { kind: 'close'; type: number }
  | { kind: 'avp'; name: string };

function readUint(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + buf[at + i];
  return v;
}

function readRecord(body: Buffer, at: number): { rec: BinRpcRecord; next: number } {
  const b = body[at];
  const type = b & 0xf;
  let size = b >> 4;
  let p = at + 1;
  let ended = false;
  if (type !== BinRpcType.DOUBLE && size & 8) {
    const lenLen = size & 7;
    if (p + lenLen > body.length) throw new BinRpcError('truncated record length');
    ended = lenLen === 0;
    size = readUint(body, p, lenLen);
    p += lenLen;
  }
  if (p + size > body.length) throw new BinRpcError('truncated record');
  const next = p + size;
  switch (type) {
    case BinRpcType.INT: {
      if (size > 4) throw new BinRpcError(`integer on ${size} bytes`);
      return { rec: { kind: 'value', value: size === 0 ? 0 : body.readUIntBE(p, size) | 0 }, next };
    }
    case BinRpcType.DOUBLE: {
      if (size > 8) throw new BinRpcError(`double on ${size} bytes`);
      let v = 0n;
      for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(body[p + i]);
      // minimal bytes of a C long long: only a full 8-byte value carries a sign
      return { rec: { kind: 'value', value: Number(BigInt.asIntN(64, v)) / 1000 }, next };
    }
    case BinRpcType.STR:
      return { rec: { kind: 'value', value: body.toString('utf8', p, size > 0 && body[next - 1] === 0 ? next - 1 : next) }, next };
    case BinRpcType.BYTES:
      return { rec: { kind: 'value', value: body.toString('utf8', p, next) }, next };
    case BinRpcType.AVP:
      return { rec: { kind: 'avp', name: body.toString('utf8', p, size > 0 && body[next - 1] === 0 ? next - 1 : next) }, next };
    case BinRpcType.STRUCT:
    case BinRpcType.ARRAY:
      return { rec: ended ? { kind: 'close', type } : { kind: 'open', type }, next };
    default:
      throw new BinRpcError(`unknown record type ${type}`);
  }
}

/** method name and positional parameters of a request body (strings, ints, doubles) */
export function parseRequest(body: Buffer): { method: string; params: RpcParams } {
  if (body.length === 0) throw new BinRpcError('empty request');
  const first = readRecord(body, 0);
  if (first.rec.kind !== 'value' || typeof first.rec.value !== 'string') throw new BinRpcError('request does not start with the method name');
  const method = first.rec.value;
  if (method === '') throw new BinRpcError('empty method name');
  const params: (string | number)[] = [];
  let at = first.next;
  while (at < body.length) {
    const { rec, next } = readRecord(body, at);
    // kamcmd sends only scalars; structured parameters have no place in tser's methods
    if (rec.kind !== 'value') throw new BinRpcError('structured parameters are not supported');
    params.push(rec.value);
    at = next;
  }
  return { method, params };
}

// ---------------- encoding ----------------

/** growable byte buffer for one reply */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** minimal big-endian bytes of a non-negative integer (none for 0) */
function minimalBytes(v: bigint): number[] {
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

function writeInt(w: Writer, n: number): void {
  const u = n >>> 0; // two's complement on 4 bytes, as Kamailio writes a C int
  const bytes = minimalBytes(BigInt(u));
  w.byte((bytes.length << 4) | BinRpcType.INT);
  for (const b of bytes) w.byte(b);
}

/** fixed point: value × 1000 in a long long (Kamailio's encoding of doubles and longs) */
function writeDouble(w: Writer, n: number): void {
  let v = BigInt(Math.round(n * 1000));
  if (v < 0n) v += 1n << 64n;
  const bytes = minimalBytes(v);
  w.byte((bytes.length << 4) | BinRpcType.DOUBLE);
  for (const b of bytes) w.byte(b);
}

function writeText(w: Writer, s: string, type: number): void {
  const data = Buffer.from(`${s}\0`, 'utf8');
  if (data.length < 8) {
    w.byte((data.length << 4) | type);
  } else {
    const len = minimalBytes(BigInt(data.length));
    w.byte(0x80 | (len.length << 4) | type);
    for (const b of len) w.byte(b);
  }
  w.bytes(data);
}

const isInt32 = (n: number) => Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;

function writeScalar(w: Writer, v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      writeText(w, v, BinRpcType.STR);
      return true;
    case 'number':
      if (isInt32(v)) writeInt(w, v);
      else if (Number.isFinite(v)) writeDouble(w, v);
      else writeText(w, String(v), BinRpcType.STR);
      return true;
    case 'bigint':
      writeDouble(w, Number(v));
      return true;
    case 'boolean':
      writeInt(w, v ? 1 : 0);
      return true;
    default:
      if (v === null || v === undefined) {
        writeText(w, '<null string>', BinRpcType.STR); // what Kamailio sends for a NULL string
        return true;
      }
      return false;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const STRUCT_OPEN = BinRpcType.STRUCT;
const STRUCT_CLOSE = 0x80 | BinRpcType.STRUCT;

/**
 * A value as records. Kamailio's BINRPC has no arrays inside structs: its rpc API writes
 * every array as a struct, and an array element added with a name ({"Domain": {...}} in
 * jsonrpcs) as a named member of that struct. The same layout is produced here from the
 * jsonrpcs-shaped results of tser's methods.
 */
function writeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > 64) throw new BinRpcError('result nested too deeply', 500);
  if (writeScalar(w, v)) return;
  if (Array.isArray(v)) {
    w.byte(STRUCT_OPEN);
    for (const el of v) {
      const named = isPlainObject(el) ? Object.entries(el) : null;
      if (named && named.length === 1 && typeof named[0][1] === 'object' && named[0][1] !== null) writeMember(w, named[0][0], named[0][1], depth + 1);
      else writeValue(w, el, depth + 1);
    }
    w.byte(STRUCT_CLOSE);
    return;
  }
  if (isPlainObject(v)) {
    w.byte(STRUCT_OPEN);
    for (const [k, val] of Object.entries(v)) writeMember(w, k, val, depth + 1);
    w.byte(STRUCT_CLOSE);
    return;
  }
  writeText(w, String(v), BinRpcType.STR);
}

function writeMember(w: Writer, name: string, v: unknown, depth: number): void {
  if (v === undefined) return;
  writeText(w, name, BinRpcType.AVP);
  writeValue(w, v, depth);
}

function packet(type: number, cookie: number, body: Buffer): Buffer {
  const lenBytes = minimalBytes(BigInt(body.length));
  const cookieBytes = minimalBytes(BigInt(cookie >>> 0));
  if (lenBytes.length === 0) lenBytes.push(0);
  if (cookieBytes.length === 0) cookieBytes.push(0);
  const head = Buffer.from([BINRPC_FIRST_BYTE, (type << 4) | ((lenBytes.length - 1) << 2) | (cookieBytes.length - 1), ...lenBytes, ...cookieBytes]);
  return Buffer.concat([head, body]);
}

/**
 * A reply packet. A top-level array is a list of values (Kamailio methods that add several
 * values, e.g. system.listMethods or core.ps, are arrays in jsonrpcs); nothing for null.
 */
export function encodeReply(cookie: number, result: unknown): Buffer {
  const w = new Writer();
  if (Array.isArray(result)) for (const v of result) writeValue(w, v, 0);
  else if (result !== null && result !== undefined) writeValue(w, result, 0);
  return packet(BinRpcPacket.REPL, cookie, w.done());
}

/** a fault packet: code and message, which kamcmd prints as "error: CODE - MESSAGE" */
export function encodeFault(cookie: number, code: number, message: string): Buffer {
  const w = new Writer();
  writeInt(w, code);
  writeText(w, message, BinRpcType.STR);
  return packet(BinRpcPacket.FAULT, cookie, w.done());
}

/** a request packet (tests and clients) */
export function encodeRequest(cookie: number, method: string, params: readonly (string | number)[]): Buffer {
  const w = new Writer();
  writeText(w, method, BinRpcType.STR);
  for (const p of params) {
    if (typeof p === 'string') writeText(w, p, BinRpcType.STR);
    else writeScalar(w, p);
  }
  return packet(BinRpcPacket.REQ, cookie, w.done());
}

/** every record of a body, in order (tests and clients) */
export function readRecords(body: Buffer): BinRpcRecord[] {
  const out: BinRpcRecord[] = [];
  for (let at = 0; at < body.length; ) {
    const { rec, next } = readRecord(body, at);
    out.push(rec);
    at = next;
  }
  return out;
}
