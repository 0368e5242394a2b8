// Address matching without a proxy: IPv4/IPv6 parsing, hosts, CIDR subnets, ports, DNS
// names, group lookup, skipped bad rows, and the address file format.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AddressTable, type AddressRow } from '../../modules/permissions/address-table.js';
import { formatIp, parseIp } from '../../modules/permissions/ip.js';
import { parseAddressFile } from '../../modules/permissions/source.js';

const log = pino({ level: 'silent' });

function row(grp: number, ip: string, mask: number | null = null, port = 0, tag: string | null = null): AddressRow {
  return { grp, ip_addr: ip, mask, port, tag, where: 'test' };
}

function build(rows: AddressRow[], max = 512) {
  return AddressTable.build(rows, max, log);
}

describe('parseIp', () => {
  it('parses IPv4 and IPv6, brackets, and maps ::ffff:a.b.c.d to IPv4', () => {
    expect(parseIp('10.1.2.3')).toEqual({ af: 4, value: 0x0a010203n });
    expect(parseIp('[::1]')).toEqual({ af: 6, value: 1n });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ af: 4, value: 0x0a010203n });
    expect(parseIp('2001:db8::1')?.af).toBe(6);
    expect(parseIp('10.0.0.256')).toBeNull();
    expect(parseIp('gw.example.com')).toBeNull();
  });

  it('formats IPv6 with the longest zero run compressed', () => {
    expect(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')!)).toBe('2001:db8::1');
    expect(formatIp(parseIp('192.168.0.1')!)).toBe('192.168.0.1');
  });
});

describe('AddressTable.match', () => {
  const { table } = build([
    row(1, '192.168.1.10', 32, 0, 'acme'),
    row(1, '10.20.0.0', 16, 0, 'globex'),
    row(2, '192.168.1.10', null, 5080, 'acme-2'),
    row(3, '2001:db8:1::', 48, 0, 'v6net'),
    row(3, '2001:db8::5', 128, 0, 'v6host'),
    row(4, 'pbx.example.com', null, 0, 'byname'),
    row(5, '172.16.0.0/12', 32, 0, 'cidr-in-ip'),
  ]);

  it('matches an exact IPv4 host in its group, any port when port is 0', () => {
    expect(table.match(1, '192.168.1.10', 5060)?.tag).toBe('acme');
    expect(table.match(1, '192.168.1.11', 5060)).toBeNull();
    expect(table.match(7, '192.168.1.10', 5060)).toBeNull();
  });

  it('honours a non-zero port', () => {
    expect(table.match(2, '192.168.1.10', 5080)?.tag).toBe('acme-2');
    expect(table.match(2, '192.168.1.10', 5060)).toBeNull();
  });

  it('matches inside a subnet and not outside', () => {
    expect(table.match(1, '10.20.255.1', 1)?.tag).toBe('globex');
    expect(table.match(1, '10.21.0.1', 1)).toBeNull();
  });

  it('matches IPv6 hosts and subnets', () => {
    expect(table.match(3, '2001:db8:1:ffff::9', 5060)?.tag).toBe('v6net');
    expect(table.match(3, '[2001:db8::5]', 5060)?.tag).toBe('v6host');
    expect(table.match(3, '2001:db8:2::1', 5060)).toBeNull();
  });

  it('compares a host name only with name entries, case-insensitively', () => {
    expect(table.match(4, 'PBX.example.com', 5060)?.tag).toBe('byname');
    expect(table.match(4, '10.0.0.1', 5060)).toBeNull();
  });

  it('accepts ip/len written in the ip_addr column', () => {
    expect(table.match(5, '172.31.1.1', 5060)?.tag).toBe('cidr-in-ip');
    expect(table.match(5, '172.32.1.1', 5060)).toBeNull();
  });

  it('any-group lookup returns the first matching entry (group)', () => {
    expect(table.match(null, '10.20.1.1', 5060)?.grp).toBe(1);
    expect(table.match(null, '192.168.1.10', 5080)?.grp).toBe(1);
    expect(table.match(null, '8.8.8.8', 5060)).toBeNull();
  });

  it('treats mask 0 as a single host (Kamailio)', () => {
    const t = build([row(1, '10.0.0.1', 0)]).table;
    expect(t.match(1, '10.0.0.1', 5060)).not.toBeNull();
    expect(t.match(1, '10.0.0.2', 5060)).toBeNull();
  });
});

describe('bad rows', () => {
  it('are skipped and counted; good rows still load', () => {
    const { table, skipped } = build([
      row(1, '10.0.0.0', 33),
      row(1, '10.0.0.0/40'),
      row(1, '10.0.0/8'),
      row(1, '300.1.1.1'),
      row(1, 'not an ip!'),
      row(1, '2001:db8::', 129),
      row(1, '10.9.9.9', 32, 70000),
      row(1, '10.1.1.1', 32),
    ]);
    expect(skipped).toBe(7);
    expect(table.size).toBe(1);
    expect(table.match(1, '10.1.1.1', 5060)).not.toBeNull();
  });

  it('stop adding subnets past max_subnets', () => {
    const { table, skipped } = build([row(1, '10.0.0.0', 8), row(1, '11.0.0.0', 8), row(1, '12.0.0.0', 8)], 2);
    expect(table.subnets.length).toBe(2);
    expect(skipped).toBe(1);
  });
});

describe('address file format', () => {
  it('reads group, address, optional mask, port and tag, with comments', () => {
    const r = parseAddressFile(
      ['# comment', '1 127.0.0.1 32 0 tag1', '1 10.0.0.10   # trailing comment', '', '2 192.168.1.0 24 0 tag2', 'x 1.2.3.4', '3 1.2.3.4 abc'].join('\n'),
      'address.list',
    );
    expect(r.rows.map((x) => [x.grp, x.ip_addr, x.mask, x.port, x.tag])).toEqual([
      [1, '127.0.0.1', 32, 0, 'tag1'],
      [1, '10.0.0.10', null, 0, null],
      [2, '192.168.1.0', 24, 0, 'tag2'],
    ]);
    expect(r.bad.map((b) => b.line)).toEqual([6, 7]);
  });
});
