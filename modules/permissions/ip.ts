// IPv4/IPv6 addresses as numbers for exact and CIDR matching (RFC 4632, RFC 4291 §2.5.5:
// IPv4-mapped IPv6 addresses compare as the IPv4 address).
import { isIP } from 'node:net';

export interface IpAddr {
  af: 4 | 6;
  /** 32-bit (v4) or 128-bit (v6) value */
  value: bigint;
}

function v4(s: string): bigint | null {
  const p = s.split('.');
  if (p.length !== 4) return null;
  let v = 0n;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x)) return null;
    const n = Number(x);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function v6(s: string): bigint | null {
  let text = s;
  // embedded dotted quad at the end (::ffff:1.2.3.4)
  const dot = text.lastIndexOf('.');
  let tail: bigint | null = null;
  if (dot >= 0) {
    const colon = text.lastIndexOf(':');
    tail = v4(text.slice(colon + 1));
    if (tail === null) return null;
    text = `${text.slice(0, colon + 1)}${(tail >> 16n).toString(16)}:${(tail & 0xffffn).toString(16)}`;
  }
  const dbl = text.indexOf('::');
  let groups: string[];
  if (dbl >= 0) {
    const head = text.slice(0, dbl).split(':').filter((g) => g !== '');
    const rest = text.slice(dbl + 2).split(':').filter((g) => g !== '');
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...Array<string>(fill).fill('0'), ...rest];
  } else groups = text.split(':');
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** parse an IP literal ("[::1]" brackets allowed); IPv4-mapped IPv6 becomes IPv4 */
export function parseIp(text: string): IpAddr | null {
  const s = text.trim().replace(/^\[(.*)\]$/, '$1');
  const kind = isIP(s);
  if (kind === 4) {
    const v = v4(s);
    return v === null ? null : { af: 4, value: v };
  }
  if (kind === 6) {
    const v = v6(s.replace(/%.*$/, ''));
    if (v === null) return null;
    if (v >> 32n === MAPPED_PREFIX >> 32n) return { af: 4, value: v & 0xffffffffn };
    return { af: 6, value: v };
  }
  return null;
}

export function bitsOf(af: 4 | 6): number {
  return af === 4 ? 32 : 128;
}

/** the network part of `value` for a prefix length */
export function maskValue(value: bigint, af: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(af));
  const p = BigInt(prefix);
  if (p <= 0n) return 0n;
  const all = (1n << bits) - 1n;
  return value & (all ^ ((1n << (bits - p)) - 1n));
}

export function formatIp(a: IpAddr): string {
  if (a.af === 4) {
    const v = a.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((a.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // compress the longest run of zero groups (RFC 5952 §4.2)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}
