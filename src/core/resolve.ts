// Next-hop resolution (RFC 3263, simplified): an IP literal is used as is; a host name with
// an explicit port resolves by A/AAAA; without a port, SRV (_sip._udp / _sip._tcp) first.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { parseUri } from '../sip/index.js';
import type { Destination, Proto } from '../transport/types.js';

export async function resolveUri(uri: string): Promise<Destination | null> {
  const u = parseUri(uri);
  if (!u) return null;
  const transport = u.params.find(([k]) => k.toLowerCase() === 'transport')?.[1]?.toLowerCase();
  const proto: Proto = transport === 'tcp' || transport === 'tls' ? 'tcp' : 'udp';
  const host = u.host.replace(/^\[|\]$/g, '');
  const defPort = u.scheme === 'sips' ? 5061 : 5060;
  if (isIP(host)) return { proto, ip: host, port: u.port ?? defPort };
  try {
    if (u.port === null) {
      const srv = await dns.resolveSrv(`_sip._${proto}.${host}`).catch(() => []);
      if (srv.length > 0) {
        srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight);
        const target = srv[0];
        const addr = await dns.lookup(target.name);
        return { proto, ip: addr.address, port: target.port };
      }
    }
    const addr = await dns.lookup(host);
    return { proto, ip: addr.address, port: u.port ?? defPort };
  } catch {
    return null;
  }
}
