import { afterAll, beforeAll, expect, test } from 'vitest';
import { startProxy } from '../helpers/proxy.js';
import type { Server } from '../../src/core/server.js';
import { sipp, sippUas } from './sipp.js';
import { freePort } from '../helpers/proxy.js';

let server: Server;
let port: number;
let uasPort: number;

beforeAll(async () => {
  uasPort = await freePort();
  const cfg = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
modparam("tm", "fr_timer", 2000)
modparam("tm", "fr_inv_timer", 3000)
request_route {
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  record_route();
  $du = "sip:127.0.0.1:${uasPort}";
  if (!t_relay()) sl_reply_error();
}
`;
  ({ server, port } = await startProxy(cfg));
});
afterAll(async () => {
  await server?.stop();
});

test('sipp call', async () => {
  const uas = await sippUas('uas-call.xml', { port: uasPort, pauseMs: 200 });
  const uac = await sipp({ scenario: 'uac-call.xml', remote: `127.0.0.1:${port}`, service: 'bob' });
  const [a, b] = await Promise.all([uac.done, uas.done]);
  console.log(a.code, a.errors, b.code, b.errors);
  console.log(server.stats.get('tm:'));
  expect(a.code).toBe(0);
  expect(b.code).toBe(0);
});

test('sipp cancel', async () => {
  const uas = await sippUas('uas-cancel.xml', { port: uasPort });
  const uac = await sipp({ scenario: 'uac-cancel.xml', remote: `127.0.0.1:${port}`, service: 'bob' });
  const [a, b] = await Promise.all([uac.done, uas.done]);
  console.log(a.code, a.errors, a.out.slice(-2000), b.code, b.errors);
  expect(a.code).toBe(0);
  expect(b.code).toBe(0);
});
