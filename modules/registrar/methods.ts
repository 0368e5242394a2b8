// Method bitmask as Kamailio stores it in the `methods` column (parser/msg_parser.h
// METHOD_*): from the Allow header or a Contact's `methods` param; used by method_filtering.
import { ALL_METHODS } from '../usrloc/api.js';

const BITS: Record<string, number> = {
  INVITE: 1,
  CANCEL: 2,
  ACK: 4,
  BYE: 8,
  INFO: 16,
  REGISTER: 32,
  SUBSCRIBE: 64,
  NOTIFY: 128,
  MESSAGE: 256,
  OPTIONS: 512,
  PRACK: 1024,
  UPDATE: 2048,
  REFER: 4096,
  PUBLISH: 8192,
  KDMQ: 16384,
  GET: 32768,
  POST: 65536,
  PUT: 131072,
  DELETE: 262144,
};
const METHOD_OTHER = 524288;

export function methodBit(method: string): number {
  return BITS[method.toUpperCase()] ?? METHOD_OTHER;
}

/** "INVITE, ACK,BYE" → bitmask; null when the list is empty */
export function methodsOf(list: string): number | null {
  let m = 0;
  for (const t of list.replace(/^"|"$/g, '').split(/[,\s]+/)) if (t) m |= methodBit(t);
  return m === 0 ? null : m >>> 0;
}

/** Allow header(s) of a message → bitmask; ALL_METHODS without one */
export function allowedMethods(values: readonly string[]): number {
  if (values.length === 0) return ALL_METHODS;
  return methodsOf(values.join(',')) ?? ALL_METHODS;
}
