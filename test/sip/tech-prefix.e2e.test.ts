// Issue 19 end to end over real UDP sockets: an INVITE whose R-URI, To and From carry a raw
// '#' (a carrier tech prefix, "1234#442071234567") is routed by the script — statefully with
// t_relay — and reaches the next hop byte for byte as sent, apart from what a proxy must
// change (its own Via on top, received/rport on the caller's Via, Max-Forwards). The answer
// comes back with the '#' intact too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { startProxy } from '../helpers/proxy.js';
import { header, statusOf, UdpPeer } from '../helpers/sip-client.js';

let tser: { server: Server; port: number };
let ua: UdpPeer;
let gw: UdpPeer;

beforeAll(async () => {
  ua = await UdpPeer.open();
  gw = await UdpPeer.open();
  tser = await startProxy(`#!KAMAILIO
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("ACK") && t_check_trans()) {
		t_relay();
		exit;
	}
	# customers of a shared platform: "1234#" in front of the number
	if ($rU =~ "^1234#[0-9]+$" && $tU == $rU && $fU =~ "#") {
		$du = "sip:127.0.0.1:${gw.port}";
		t_relay();
		exit;
	}
	sl_send_reply("404", "Unknown Prefix");
}
`, { listen: ['udp:127.0.0.1:0'] });
});

afterAll(async () => {
  await tser?.server.stop();
  ua?.close();
  gw?.close();
});

function invite(cid: string, user: string): string {
  return (
    `INVITE sip:${user}@proxy.example.com SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${cid};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: "Acme #2" <sip:1234#442079460000@client.example.com>;tag=f-${cid}\r\n` +
    `To: <sip:${user}@proxy.example.com>\r\n` +
    `Call-ID: ${cid}@tech-prefix.test\r\n` +
    'CSeq: 1 INVITE\r\n' +
    `Contact: <sip:1234#442079460000@127.0.0.1:${ua.port}>\r\n` +
    'Content-Type: application/sdp\r\n' +
    'Content-Length: 31\r\n' +
    '\r\n' +
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n'
  );
}

describe('INVITE with a raw # tech prefix in R-URI, To and From', () => {
  it('is relayed statefully and reaches the next hop as sent, the answer comes back', async () => {
    const sent = invite('tp1', '1234#442071234567');
    await ua.send(sent, tser.port);
    const fwd = await gw.next((m) => m.text.startsWith('INVITE '));
    const lines = fwd.text.split('\r\n');
    expect(lines[0]).toBe('INVITE sip:1234#442071234567@proxy.example.com SIP/2.0');
    expect(lines[1]).toMatch(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK\S+$/);
    // everything after tser's Via: the caller's message with only rport/received and Max-Forwards changed
    const expected = sent
      .split('\r\n')
      .slice(1)
      .join('\r\n')
      .replace(';rport\r\n', `;rport=${ua.port};received=127.0.0.1\r\n`)
      .replace('Max-Forwards: 70', 'Max-Forwards: 69');
    expect(lines.slice(2).join('\r\n')).toBe(expected);

    // the gateway answers; the 200 goes back through tm with the To as the caller wrote it
    const [topVia, ...restVias] = fwd.text.match(/^Via: .*$/gm)!;
    const ok =
      'SIP/2.0 200 OK\r\n' + [topVia, ...restVias].join('\r\n') + '\r\n' +
      `From: ${header(fwd.text, 'From')}\r\nTo: ${header(fwd.text, 'To')};tag=gw1\r\n` +
      `Call-ID: ${header(fwd.text, 'Call-ID')}\r\nCSeq: 1 INVITE\r\nContact: <sip:gw@127.0.0.1:${gw.port}>\r\nContent-Length: 0\r\n\r\n`;
    await gw.send(ok, fwd.from.port);
    const reply = await ua.next((m) => statusOf(m.text) === 200);
    expect(header(reply.text, 'To')).toBe('<sip:1234#442071234567@proxy.example.com>;tag=gw1');
    expect(header(reply.text, 'From')).toBe('"Acme #2" <sip:1234#442079460000@client.example.com>;tag=f-tp1');
  });

  it('lets the script refuse a number without the prefix (the request is parsed, not rejected by the core)', async () => {
    await ua.send(invite('tp2', '9999#442071234567'), tser.port);
    const r = await ua.next((m) => m.text.includes('tp2@tech-prefix.test'));
    expect(statusOf(r.text)).toBe(404);
    expect(header(r.text, 'To')).toMatch(/^<sip:9999#442071234567@proxy\.example\.com>;tag=/);
  });
});
