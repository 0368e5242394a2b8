// kex's $du helpers over real UDP: setdsturi sends the request to $du, resetdsturi and
// isdsturiset see it cleared.
import { describe, expect, it } from 'vitest';
import { startProxy } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';

describe('kex', () => {
  it('setdsturi / isdsturiset / resetdsturi', async () => {
    const target = await UdpPeer.open();
    const peer = await UdpPeer.open();
    const { server, port } = await startProxy(`#!KAMAILIO
loadmodule "sl.so"
loadmodule "kex.so"
request_route {
	setdsturi("sip:127.0.0.1:${target.port}");
	if ($rU == "reset") {
		resetdsturi();
	}
	if (isdsturiset()) {
		forward();
		exit;
	}
	setdebug("3");
	resetdebug();
	sl_send_reply("404", "No du");
}
`);
    try {
      await peer.send(request({ method: 'MESSAGE', ruri: 'sip:bob@example.com', port: peer.port, callId: 'kex-1' }), port);
      const fwd = await target.next((m) => m.text.includes('kex-1'));
      expect(fwd.text.startsWith('MESSAGE sip:bob@example.com SIP/2.0')).toBe(true);
      await peer.send(request({ method: 'MESSAGE', ruri: 'sip:reset@example.com', port: peer.port, callId: 'kex-2' }), port);
      expect(statusOf((await peer.next((m) => m.text.includes('kex-2'))).text)).toBe(404);
    } finally {
      target.close();
      peer.close();
      await server.stop();
    }
  });
});
