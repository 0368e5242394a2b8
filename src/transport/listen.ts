// `listen` values → sockets to bind: `[proto:]addr[:port] [advertise host[:port]]`, where
// addr is an IP, `[ipv6]`, `*`/0.0.0.0, localhost, or an interface name.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { socketId, type ListenSocket, type Proto } from './types.js';
import type { ErrorCode } from '../core/errors.js';

export interface ListenSpec {
  protos: Proto[];
  host: string;
  port: number | null;
  advertise: { host: string; port: number | null } | null;
}

export class ListenError extends Error {
  readonly code: ErrorCode = 'TSER_E_LISTEN';
}

function splitHostPort(s: string): { host: string; port: number | null } {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) throw new ListenError(`bad address "${s}"`);
    const host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (rest === '') return { host, port: null };
    if (!/^:\d+$/.test(rest)) throw new ListenError(`bad port in "${s}"`);
    return { host, port: Number(rest.slice(1)) };
  }
  if (isIP(s) === 6) return { host: s, port: null };
  const i = s.lastIndexOf(':');
  if (i < 0) return { host: s, port: null };
  const port = s.slice(i + 1);
  if (!/^\d+$/.test(port)) throw new ListenError(`bad port in "${s}"`);
  return { host: s.slice(0, i), port: Number(port) };
}

export function parseListen(text: string): ListenSpec {
  const parts = text.trim().split(/\s+/);
  let main = parts[0] ?? '';
  let protos: Proto[] = ['udp', 'tcp'];
  const m = /^(udp|tcp|tls|sctp|ws|wss|\*):(.*)$/i.exec(main);
  if (m) {
    const p = m[1].toLowerCase();
    if (p === 'udp' || p === 'tcp') protos = [p];
    else if (p !== '*') throw new ListenError(`transport "${p}" is not supported by tser (udp and tcp are)`);
    main = m[2]!;
  }
  const { host, port } = splitHostPort(main);
  let advertise: ListenSpec['advertise'] = null;
  const ai = parts.findIndex((p) => p.toLowerCase() === 'advertise');
  if (ai >= 0 && parts[ai + 1]) advertise = splitHostPort(parts[ai + 1]);
  return { protos, host, port, advertise };
}

/** expand a spec into concrete sockets (interface names and wildcards to addresses) */
export function expandListen(spec: ListenSpec, defaultPort: number, disableTcp: boolean): ListenSocket[] {
  let hosts: string[];
  if (spec.host === '*' || spec.host === '') hosts = ['0.0.0.0'];
  else if (spec.host === 'localhost') hosts = ['127.0.0.1'];
  else if (isIP(spec.host)) hosts = [spec.host];
  else {
    const ifs = networkInterfaces()[spec.host];
    if (!ifs) throw new ListenError(`"${spec.host}" is neither an IP address nor a network interface`);
    hosts = ifs.map((i) => i.address);
  }
  const port = spec.port ?? defaultPort;
  const out: ListenSocket[] = [];
  for (const proto of spec.protos) {
    if (proto === 'tcp' && disableTcp) continue;
    for (const ip of hosts) {
      const af = isIP(ip) === 6 ? 6 : 4;
      out.push({
        proto,
        ip,
        port,
        af,
        advertiseHost: spec.advertise?.host ?? (af === 6 ? `[${ip}]` : ip),
        advertisePort: spec.advertise?.port ?? port,
        id: socketId(proto, ip, port),
      });
    }
  }
  return out;
}
