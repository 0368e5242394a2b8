// The cached `address` table (Kamailio permissions hash.c): exact host entries, subnets and
// DNS-name entries, matched by group, IP and port (port 0 = any). Rows that cannot be used
// (bad IP, bad prefix length) are skipped with a log line, never fatal.
import type { Logger } from 'pino';
import { bitsOf, formatIp, maskValue, parseIp } from './ip.js';

/** one row as stored (DB `address` table or address_file line) */
export interface AddressRow {
  grp: number;
  ip_addr: string;
  /** prefix length; null = not given (host entry) */
  mask: number | null;
  port: number;
  tag: string | null;
  /** "file:line" or "row id", for log lines */
  where: string;
}

export interface AddrEntry {
  grp: number;
  kind: 'host' | 'subnet' | 'domain';
  af: 4 | 6 | 0;
  /** host address, or the network address of a subnet */
  value: bigint;
  /** prefix length (32/128 for hosts, 0 for names) */
  mask: number;
  port: number;
  tag: string | null;
  /** address as written for dumps: IP, network, or the DNS name (lower case) */
  ip: string;
}

export interface BuildResult {
  table: AddressTable;
  skipped: number;
}

const HOSTNAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

function key(af: number, v: bigint): string {
  return `${af}:${v}`;
}

function portOk(e: AddrEntry, port: number): boolean {
  return e.port === 0 || e.port === port;
}

export class AddressTable {
  private constructor(
    readonly hosts: readonly AddrEntry[],
    readonly subnets: readonly AddrEntry[],
    readonly domains: readonly AddrEntry[],
    private readonly byIp: Map<string, AddrEntry[]>,
  ) {}

  static empty(): AddressTable {
    return new AddressTable([], [], [], new Map());
  }

  static build(rows: readonly AddressRow[], maxSubnets: number, log: Logger): BuildResult {
    const hosts: AddrEntry[] = [];
    const subnets: AddrEntry[] = [];
    const domains: AddrEntry[] = [];
    const byIp = new Map<string, AddrEntry[]>();
    let skipped = 0;
    const skip = (r: AddressRow, why: string) => {
      skipped++;
      log.warn({ where: r.where, ip_addr: r.ip_addr, mask: r.mask, grp: r.grp }, `permissions: address entry skipped: ${why}`);
    };
    for (const r of rows) {
      const text = r.ip_addr.trim();
      if (!Number.isInteger(r.grp) || r.grp < 0) {
        skip(r, 'bad group');
        continue;
      }
      if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) {
        skip(r, 'bad port');
        continue;
      }
      // "10.0.0.0/8" in ip_addr: a CIDR written in one column (the mask column is then ignored)
      const slash = text.indexOf('/');
      const ipText = slash >= 0 ? text.slice(0, slash) : text;
      let mask = r.mask;
      if (slash >= 0) {
        const m = text.slice(slash + 1);
        if (!/^\d{1,3}$/.test(m)) {
          skip(r, 'bad CIDR prefix length');
          continue;
        }
        mask = Number(m);
      }
      const ip = parseIp(ipText);
      if (!ip) {
        if (slash < 0 && HOSTNAME.test(text) && !/^[\d.]+$/.test(text)) {
          domains.push({ grp: r.grp, kind: 'domain', af: 0, value: 0n, mask: 0, port: r.port, tag: r.tag, ip: text.toLowerCase() });
        } else skip(r, 'not an IP address, CIDR or host name');
        continue;
      }
      const bits = bitsOf(ip.af);
      // Kamailio: mask 0 (or none) means a single host
      if (mask === null || mask === 0) mask = bits;
      if (!Number.isInteger(mask) || mask < 0 || mask > bits) {
        skip(r, `prefix length ${mask} out of range 1..${bits}`);
        continue;
      }
      if (mask === bits) {
        const e: AddrEntry = { grp: r.grp, kind: 'host', af: ip.af, value: ip.value, mask, port: r.port, tag: r.tag, ip: formatIp(ip) };
        hosts.push(e);
        const k = key(ip.af, ip.value);
        const list = byIp.get(k);
        if (list) list.push(e);
        else byIp.set(k, [e]);
        continue;
      }
      if (subnets.length >= maxSubnets) {
        skip(r, `more than max_subnets (${maxSubnets}) subnets`);
        continue;
      }
      const net = maskValue(ip.value, ip.af, mask);
      subnets.push({ grp: r.grp, kind: 'subnet', af: ip.af, value: net, mask, port: r.port, tag: r.tag, ip: formatIp({ af: ip.af, value: net }) });
    }
    // Kamailio keeps the subnet table ordered by group
    subnets.sort((a, b) => a.grp - b.grp);
    return { table: new AddressTable(hosts, subnets, domains, byIp), skipped };
  }

  get size(): number {
    return this.hosts.length + this.subnets.length + this.domains.length;
  }

  /**
   * First entry matching addr/port in group `grp` (null = any group): exact hosts first,
   * then subnets; a non-IP `addr` is compared with the DNS-name entries (no DNS lookup).
   */
  match(grp: number | null, addr: string, port: number): AddrEntry | null {
    const ip = parseIp(addr);
    if (!ip) {
      const name = addr.trim().toLowerCase();
      for (const e of this.domains) if ((grp === null || e.grp === grp) && e.ip === name && portOk(e, port)) return e;
      return null;
    }
    for (const e of this.byIp.get(key(ip.af, ip.value)) ?? []) if ((grp === null || e.grp === grp) && portOk(e, port)) return e;
    for (const e of this.subnets) {
      if (e.af !== ip.af || (grp !== null && e.grp !== grp) || !portOk(e, port)) continue;
      if (maskValue(ip.value, ip.af, e.mask) === e.value) return e;
    }
    return null;
  }
}
