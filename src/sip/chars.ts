// Character classes of RFC 3261 §25.1 as bit flags in one 256-entry table, plus the small
// scanning helpers every header parser shares. Hot path: table lookups instead of regexes.
// Code units above 255 (only possible in strings built by scripts) index past the table,
// read as undefined and therefore belong to no class.

import { SipParseError } from './types.js';

export const C_TOKEN = 1;
/** hostname / IPv4 characters (underscore tolerated: seen in the wild) */
export const C_HOST = 2;
export const C_DIGIT = 4;
export const C_HEX = 8;
export const C_SCHEME = 16;
/** token plus ':', '[' and ']': generic-param values may be a host or IPv6 reference */
export const C_GENVAL = 32;

const TABLE = new Uint8Array(256);

function add(chars: string, flag: number): void {
  for (let i = 0; i < chars.length; i++) TABLE[chars.charCodeAt(i)] |= flag;
}

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = ALPHA + DIGITS;
const TOKEN = ALNUM + "-.!%*_+`'~";

add(TOKEN, C_TOKEN);
add(ALNUM + '-._', C_HOST);
add(DIGITS, C_DIGIT);
add(DIGITS + 'abcdefABCDEF', C_HEX);
add(ALNUM + '+-.', C_SCHEME);
add(TOKEN + ':[]', C_GENVAL);

export function is(c: number, flag: number): boolean {
  return (TABLE[c] & flag) !== 0;
}

export function skipWs(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

/** trim SP/HT only: String#trim would also eat 0xA0, a valid latin1 byte of UTF-8 text */
export function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** s[i] is '"'; returns the index just past the closing quote (quoted-pair aware) */
export function scanQuoted(s: string, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 34) return i + 1;
    i += c === 92 ? 2 : 1;
  }
  throw new SipParseError('unterminated quoted string');
}

/** index of the first char at or after i that is not in class `flag` */
export function scanClass(s: string, i: number, end: number, flag: number): number {
  while (i < end && (TABLE[s.charCodeAt(i)] & flag) !== 0) i++;
  return i;
}

/**
 * Checks s[i, end) has no byte that could end or break out of a URI wherever it is written:
 * controls, SP, DEL, '"', '<', '>'. What is left is accepted as Kamailio does (raw '#', '*',
 * '%' that is not an escape, UTF-8 octets).
 */
export function isLooseRun(s: string, i: number, end: number): boolean {
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 127 || c === 34 || c === 60 || c === 62) return false;
  }
  return true;
}

/** parses a decimal number spanning all of s (leading zeros allowed); -1 if not digits or > 2^32-1 */
export function parseUint(s: string): number {
  const n = s.length;
  let i = 0;
  while (i < n - 1 && s.charCodeAt(i) === 48) i++;
  if (n === 0 || n - i > 10) return -1;
  let v = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v > 0xffffffff ? -1 : v;
}
