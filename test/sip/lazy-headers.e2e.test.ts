// Issue 19: a header the script never touches never rejects a request; one it reads but that
// does not parse reads as $null, and a function that needs it fails (-1) so the script
// decides — as in Kamailio, where From is parsed only on demand. Real UDP sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { startProxy } from '../helpers/proxy.js';
import { header, statusOf, UdpPeer } from '../helpers/sip-client.js';

let tser: { server: Server; port: number };
let ua: UdpPeer;
let next: UdpPeer;

beforeAll(async () => {
  ua = await UdpPeer.open();
  next = await UdpPeer.open();
  tser = await startProxy(`#!KAMAILIO
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "textops.so"
modparam("rr", "append_fromtag", 1)
request_route {
	if (is_present_hf("X-Read-From")) {
		if ($fU == $null) {
			sl_send_reply("403", "From unreadable");
			exit;
		}
	}
	if (is_present_hf("X-Record-Route")) {
		if (!record_route()) {
			sl_send_reply("488", "record_route failed");
			exit;
		}
	}
	$du = "sip:127.0.0.1:${next.port}";
	forward();
}
`, { listen: ['udp:127.0.0.1:0'] });
});

afterAll(async () => {
  await tser?.server.stop();
  ua?.close();
  next?.close();
});

function options(cid: string, extra = ''): string {
  return (
    'OPTIONS sip:alice@proxy.example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${cid};rport\r\n` +
    'From: <sip:1000@client.example.com;tag=broken\r\n' + // no '>'
    'To: <sip:alice@proxy.example.com>\r\n' +
    `Call-ID: ${cid}@lazy.test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

describe('an unparsable From', () => {
  it('does not stop a request whose script never reads it: forwarded as received', async () => {
    await ua.send(options('lz1'), tser.port);
    const fwd = await next.next((m) => m.text.includes('lz1@lazy.test'));
    expect(header(fwd.text, 'From')).toBe('<sip:1000@client.example.com;tag=broken');
    expect(await ua.nothing((m) => m.text.includes('lz1@lazy.test'), 200)).toBe(true);
  });

  it('reads as $null where the script looks at it', async () => {
    await ua.send(options('lz2', 'X-Read-From: 1\r\n'), tser.port);
    const r = await ua.next((m) => m.text.includes('lz2@lazy.test'));
    expect([statusOf(r.text), r.text.split('\r\n')[0]]).toEqual([403, 'SIP/2.0 403 From unreadable']);
  });

  it('makes a function that needs it fail, and the script answers', async () => {
    await ua.send(options('lz3', 'X-Record-Route: 1\r\n'), tser.port);
    const r = await ua.next((m) => m.text.includes('lz3@lazy.test'));
    expect(statusOf(r.text)).toBe(488);
  });

  it('an unparsable To still gets 400 before the script, as Kamailio parses To on receipt', async () => {
    await ua.send(options('lz4').replace('To: <sip:alice@proxy.example.com>', 'To: "Alice <sip:alice@proxy.example.com>'), tser.port);
    const r = await ua.next((m) => m.text.includes('lz4@lazy.test'));
    expect(statusOf(r.text)).toBe(400);
  });
});
