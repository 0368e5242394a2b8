// An oversized message on TCP (issue 18): the header announces a body past the limit, so the
// proxy answers 513 Message Too Large from the header (RFC 3261 §21.5.7) and closes the
// connection (the stream cannot be re-framed); other connections keep working.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { startProxy } from '../helpers/proxy.js';
import { request, statusOf, TcpPeer } from '../helpers/sip-client.js';

const CFG = `#!KAMAILIO
loadmodule "sl.so"
request_route {
  if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
  sl_send_reply("404", "Not Found");
}
`;

describe('oversized TCP message', () => {
  let server: Server;
  let tcpPort: number;
  beforeAll(async () => {
    ({ server } = await startProxy(CFG));
    tcpPort = server.listens().find((s) => s.proto === 'tcp')!.port;
  });
  afterAll(async () => {
    await server.stop();
  });

  test('Content-Length past the limit: 513 Message Too Large, then the connection is closed', async () => {
    const sock = net.connect(tcpPort, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    const head = request({ method: 'INVITE', ruri: `sip:bob@127.0.0.1:${tcpPort}`, port: sock.localPort!, transport: 'TCP', callId: 'big-1' }).replace(/Content-Length: 0/, 'Content-Length: 10000000');
    sock.write(head);
    sock.write('x'.repeat(64 * 1024)); // the start of the announced body
    await closed;
    expect(statusOf(got)).toBe(513);
    expect(got).toMatch(/^SIP\/2\.0 513 Message Too Large\r\n/);
    expect(got).toContain('Call-ID: big-1');
    expect(got).toMatch(/Via: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK/);

    // the proxy keeps serving TCP
    const peer = await TcpPeer.connect(tcpPort);
    try {
      peer.sock.write(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${tcpPort}`, port: peer.sock.localPort!, transport: 'TCP' }));
      expect(statusOf(await peer.next())).toBe(200);
    } finally {
      peer.close();
    }
  });

  test('a header that never ends within the limit: no reply possible, the connection is closed', async () => {
    const sock = net.connect(tcpPort, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('error', () => undefined);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write(`INVITE sip:x@127.0.0.1 SIP/2.0\r\nX: ${'a'.repeat(300 * 1024)}`);
    await closed;
    expect(got).toBe('');
  });
});
