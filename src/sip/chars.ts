// Character classes of RFC 3261 §25.1 as bit flags in one 256-entry table, plus the small
// scanning helpers every header parser shares. Hot path: table lookups instead of regexes.
// Code units above 255 (only possible in strings built by scripts) index past the table,
// read as undefined and therefore belong to no class.

import { SipParseError } from './types.js';

export const C_TOKEN = 1;
/** hostname / IPv4 characters (underscore tolerated: seen in the wild) */
export const C_HOST = 2;
export const C_USER = 4;
export const C_PASS = 8;
export const C_PARAM = 16;
/** hname / hvalue characters of URI headers, plus '&' and '=' separators */
export const C_HNV = 32;
export const C_DIGIT = 64;
export const C_HEX = 128;
export const C_SCHEME = 256;
/** telephone-subscriber characters (RFC 3966, with common pause chars) */
export const C_TEL = 512;
/** token plus ':', '[' and ']': generic-param values may be a host or IPv6 reference */
export const C_GENVAL = 1024;

const TABLE = new Uint16Array(256);

function add(chars: string, flag: number): void {
  for (let i = 0; i < chars.length; i++) TABLE[chars.charCodeAt(i)] |= flag;
}

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = ALPHA + DIGITS;
const MARK = "-_.!~*'()";
const TOKEN = ALNUM + "-.!%*_+`'~";

add(TOKEN, C_TOKEN);
add(ALNUM + '-._', C_HOST);
add(ALNUM + MARK + '&=+$,;?/', C_USER);
add(ALNUM + MARK + '&=+$,', C_PASS);
add(ALNUM + MARK + '[]/:&+$', C_PARAM);
add(ALNUM + MARK + '[]/?:+$&=', C_HNV);
add(DIGITS, C_DIGIT);
add(DIGITS + 'abcdefABCDEF', C_HEX);
add(ALNUM + '+-.', C_SCHEME);
add(DIGITS + 'abcdefABCDEF*#+-.()pwPW', C_TEL);
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
 * Checks s[i, end) contains only chars of class `flag` or %HH escapes (RFC 3261 `escaped`).
 */
export function isEscapedRun(s: string, i: number, end: number, flag: number): boolean {
  while (i < end) {
    const c = s.charCodeAt(i);
    if ((TABLE[c] & flag) !== 0) {
      i++;
    } else if (c === 37 && i + 2 < end && (TABLE[s.charCodeAt(i + 1)] & TABLE[s.charCodeAt(i + 2)] & C_HEX) !== 0) {
      i += 3;
    } else {
      return false;
    }
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
