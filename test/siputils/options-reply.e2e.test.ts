// siputils options_reply() over real UDP, as Kamailio 5.6 answers (checked against it): a
// 200 with Accept/Accept-Encoding/Accept-Language/Supported for an OPTIONS to the proxy
// itself, -1 for a user part or another method, and the script goes on either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { startProxy } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';

let server: Server;
let port: number;
let peer: UdpPeer;

beforeAll(async () => {
  ({ server, port } = await startProxy(`#!KAMAILIO
loadmodule "sl.so"
loadmodule "siputils.so"
modparam("siputils", "options_accept_language", "en,de")
request_route {
	if (method == "OPTIONS" || method == "INFO") {
		if (!options_reply()) { sl_send_reply("404", "Not Answered"); exit; }
		sl_send_reply("500", "After");
		exit;
	}
}
`));
  peer = await UdpPeer.open();
});

afterAll(async () => {
  peer.close();
  await server.stop();
});

async function replies(method: string, ruri: string, callId: string, n: number): Promise<string[]> {
  await peer.send(request({ method, ruri, port: peer.port, callId }), port);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await peer.next((m) => m.text.includes(callId))).text);
  return out;
}

describe('options_reply()', () => {
  it('answers an OPTIONS to the proxy with 200 and the configured headers, then the script goes on', async () => {
    const [first, second] = await replies('OPTIONS', `sip:127.0.0.1:${port}`, 'or-self', 2);
    expect(statusOf(first!)).toBe(200);
    expect(first).toContain('\r\nAccept: */*\r\nAccept-Encoding: \r\nAccept-Language: en,de\r\nSupported: \r\n');
    expect(statusOf(second!)).toBe(500);
  });

  it('is false for an R-URI with a user part or another method', async () => {
    const [toUser] = await replies('OPTIONS', `sip:bob@127.0.0.1:${port}`, 'or-user', 1);
    expect(statusOf(toUser!)).toBe(404);
    expect(toUser).not.toContain('Accept:');
    const [info] = await replies('INFO', `sip:127.0.0.1:${port}`, 'or-info', 1);
    expect(statusOf(info!)).toBe(404);
  });
});
