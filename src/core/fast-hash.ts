// A fast non-cryptographic 53-bit string hash (cyrb53 construction) for values that must be
// stable per request but need no secrecy beyond a salt: local To-tags, stateless branches.
// An MD5 per reply cost ~15% of the stateless reply path.

export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** hex text of hash53 */
export function hashHex(s: string, seed = 0): string {
  return hash53(s, seed).toString(16).padStart(14, '0');
}
