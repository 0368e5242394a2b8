// examples/hello.cfg over real UDP and TCP: OPTIONS answered, everything else 404,
// Max-Forwards enforced, and garbage never stops the proxy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startProxy } from '../helpers/proxy.js';
import { header, headers, request, statusOf, TcpPeer, UdpPeer } from '../helpers/sip-client.js';
import type { Server } from '../../src/core/server.js';

let server: Server;
let port: number;
let peer: UdpPeer;

beforeAll(async () => {
  const text = readFileSync(join(repoRoot, 'examples/hello.cfg'), 'utf8');
  ({ server, port } = await startProxy(text));
  peer = await UdpPeer.open();
});

afterAll(async () => {
  peer.close();
  await server.stop();
});

const options = (extra: Partial<Parameters<typeof request>[0]> = {}) =>
  request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${port}`, port: peer.port, ...extra });

describe('hello.cfg over UDP', () => {
  it('answers OPTIONS to itself with 200 and a To-tag, copying Via with received/rport', async () => {
    const msg = options({ callId: 'opt-1@test' });
    await peer.send(msg, port);
    const r = await peer.next((m) => m.text.includes('opt-1@test'));
    expect(statusOf(r.text)).toBe(200);
    expect(header(r.text, 'To')).toMatch(/;tag=/);
    expect(header(r.text, 'Via')).toMatch(/rport=\d+/);
    expect(header(r.text, 'CSeq')).toBe('1 OPTIONS');
    expect(header(r.text, 'Call-ID')).toBe('opt-1@test');
  });

  it('answers an INVITE for someone else with 404', async () => {
    await peer.send(request({ method: 'INVITE', ruri: 'sip:bob@example.com', port: peer.port, callId: 'inv-404@test' }), port);
    const r = await peer.next((m) => m.text.includes('inv-404@test'));
    expect(statusOf(r.text)).toBe(404);
  });

  it('replies 483 when Max-Forwards is 0', async () => {
    await peer.send(options({ callId: 'mf0@test', maxForwards: 0 }), port);
    const r = await peer.next((m) => m.text.includes('mf0@test'));
    expect(statusOf(r.text)).toBe(483);
  });

  it('answers 400 to a request missing Call-ID, and keeps serving after garbage', async () => {
    const bad = options({ callId: 'x' }).replace(/Call-ID: x\r\n/, '');
    await peer.send(bad, port);
    const r = await peer.next((m) => statusOf(m.text) === 400);
    expect(r.text).toMatch(/Bad Request/);
    await peer.send(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]), port);
    await peer.send('NOT SIP AT ALL\r\n\r\n', port);
    await peer.send(options({ callId: 'after-garbage@test' }), port);
    const ok = await peer.next((m) => m.text.includes('after-garbage@test'));
    expect(statusOf(ok.text)).toBe(200);
    expect(server.stats.get('core:bad_msg_hdr')['core:bad_msg_hdr']).toBeGreaterThanOrEqual(2);
  });

  it('loose-routes an in-dialog request to the next hop with Max-Forwards decremented', async () => {
    const target = await UdpPeer.open();
    try {
      const msg = request({
        method: 'BYE',
        ruri: `sip:bob@127.0.0.1:${target.port}`,
        port: peer.port,
        toTag: 'tt1',
        callId: 'lr-1@test',
        maxForwards: 20,
        extra: [`Route: <sip:127.0.0.1:${port};lr>`],
      });
      await peer.send(msg, port);
      const fwd = await target.next((m) => m.text.includes('lr-1@test'));
      expect(fwd.text.startsWith(`BYE sip:bob@127.0.0.1:${target.port} SIP/2.0`)).toBe(true);
      expect(header(fwd.text, 'Max-Forwards')).toBe('19');
      expect(header(fwd.text, 'Route')).toBeUndefined();
      const vias = headers(fwd.text, 'Via');
      expect(vias).toHaveLength(2);
      expect(vias[0]).toMatch(new RegExp(`^SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK`));
      // the reply travels back through the proxy by Via
      const via1 = vias.join('\r\nVia: ');
      const reply = [
        'SIP/2.0 200 OK',
        `Via: ${via1}`,
        `From: ${header(fwd.text, 'From')}`,
        `To: ${header(fwd.text, 'To')}`,
        'Call-ID: lr-1@test',
        'CSeq: 1 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      await target.send(reply, port);
      const back = await peer.next((m) => m.text.includes('lr-1@test') && statusOf(m.text) === 200);
      expect(headers(back.text, 'Via')).toHaveLength(1);
    } finally {
      target.close();
    }
  });
});

describe('hello.cfg over TCP', () => {
  it('answers OPTIONS on a TCP connection, on the same connection', async () => {
    const tcpPort = server.listens().find((s) => s.proto === 'tcp')!.port;
    const c = await TcpPeer.connect(tcpPort);
    try {
      c.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${tcpPort}`, port: c.localPort, transport: 'TCP', callId: 'tcp-1@test' }));
      const r = await c.next();
      expect(statusOf(r)).toBe(200);
      expect(r).toContain('tcp-1@test');
    } finally {
      c.close();
    }
  });
});

describe('hello.cfg with SIPp', () => {
  it('answers 200 OK to every one of 200 SIPp OPTIONS over UDP', async () => {
    const { runSipp } = await import('../helpers/sipp.js');
    const r = await runSipp({
      scenario: join(repoRoot, 'test/fixtures/sipp/options-uac.xml'),
      target: `127.0.0.1:${port}`,
      calls: 200,
      rate: 200,
    });
    expect(r.failed).toBe(0);
    expect(r.successful).toBe(200);
    expect(r.exitCode).toBe(0);
  });
});
