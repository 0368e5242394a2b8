// A fast non-cryptographic 53-bit string hash (cyrb53 construction) for values that must be
// stable per request but need no secrecy beyond a salt: local To-tags, stateless branches.
// An MD5 per reply cost ~15% of the stateless reply path.

export function hash53(s: string, seed = 0): number {
  hashPair(s, seed);
  return 4294967296 * (2097151 & pairHi) + (pairLo >>> 0);
}

// the two halves of the last hashPair(): module state instead of an allocated tuple
let pairHi = 0;
let pairLo = 0;

function hashPair(s: string, seed: number): void {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  pairHi = h2;
  pairLo = h1;
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 14 hex digits of hash53 (Number#toString(16) of a 53-bit double takes V8's slow path) */
export function hashHex(s: string, seed = 0): string {
  hashPair(s, seed);
  const hi = pairHi & 0x1fffff;
  const lo = pairLo;
  return (
    HEX2[(hi >>> 16) & 0xff] + HEX2[(hi >>> 8) & 0xff] + HEX2[hi & 0xff] +
    HEX2[(lo >>> 24) & 0xff] + HEX2[(lo >>> 16) & 0xff] + HEX2[(lo >>> 8) & 0xff] + HEX2[lo & 0xff]
  );
}
