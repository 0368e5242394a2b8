// Transport-level types shared by the core and the modules.

export type Proto = 'udp' | 'tcp';

export interface ListenSocket {
  proto: Proto;
  /** bound IP address (IPv6 without brackets) */
  ip: string;
  port: number;
  af: 4 | 6;
  /** address/port written into Via and Record-Route (advertise) */
  advertiseHost: string;
  advertisePort: number;
  /** "udp:127.0.0.1:5060" */
  id: string;
}

/** where a message came from */
export interface ReceiveInfo {
  proto: Proto;
  srcIp: string;
  srcPort: number;
  /** the local socket it arrived on */
  local: ListenSocket;
  /** TCP connection id, so replies reuse the connection */
  connId: number | null;
  /** ms timestamp */
  time: number;
}

/** a resolved next hop */
export interface Destination {
  proto: Proto;
  ip: string;
  port: number;
  /** send through this TCP connection when set (replies) */
  connId?: number | null;
}

/** "udp:1.2.3.4:5060" / "tcp:[::1]:5060" */
export function socketId(proto: Proto, ip: string, port: number): string {
  return `${proto}:${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}
