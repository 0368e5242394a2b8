// dispatcher end to end over UDP with SIPp gateways and a SIPp caller: 1,100 calls split
// 10:1 by weight, failover on 503 and on no answer, and a gateway that stops answering
// OPTIONS taken out within the threshold and used again once it answers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { rpc } from '../../modules/dispatcher/rpc.js';
import type { DsState } from '../../modules/dispatcher/state.js';
import { freePort, startProxy, tempDir } from '../helpers/proxy.js';
import { UdpPeer } from '../helpers/sip-client.js';
import { runCaller, startGateway, type Gateway } from './gateways.js';

let server: Server;
let port: number;
let gwA: Gateway;
let gwB: Gateway;
let gw503: Gateway;
let gwC: Gateway;
let gwD: Gateway;
let silent: UdpPeer;
let dPort: number;

const PING_INTERVAL = 1;
const THRESHOLD = 2;
const FR_TIMER_MS = 1000;

function cfg(list: string): string {
  return `#!KAMAILIO
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "dispatcher.so"

modparam("tm", "fr_timer", ${FR_TIMER_MS})
modparam("tm", "fr_inv_timer", 10000)
modparam("dispatcher", "list_file", "${list}")
modparam("dispatcher", "ds_ping_interval", ${PING_INTERVAL})
modparam("dispatcher", "ds_probing_mode", 3)
modparam("dispatcher", "ds_probing_threshold", ${THRESHOLD})
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:ping@tser.test")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  record_route();
  # the dialled number picks the test: weighted, failover on 503, on timeout, probing
  if ($rU == "w") { $var(set) = 1; $var(alg) = 9; }
  else if ($rU == "f503") { $var(set) = 2; $var(alg) = 8; }
  else if ($rU == "fto") { $var(set) = 3; $var(alg) = 8; }
  else { $var(set) = 4; $var(alg) = 4; }
  if (!ds_select_dst("$var(set)", "$var(alg)")) { sl_send_reply("503", "No gateway"); exit; }
  t_on_failure("GW");
  if (!t_relay()) { sl_reply_error(); }
}

failure_route[GW] {
  if (t_is_canceled()) { exit; }
  if (t_check_status("5[0-9][0-9]") || t_branch_timeout()) {
    if (ds_next_dst()) {
      t_on_failure("GW");
      t_relay();
      exit;
    }
  }
}
`;
}

function dsState(): DsState {
  return server.modules.get('dispatcher')!.holder.state as DsState;
}

function flagsOf(uriPort: number): string {
  const out = rpc['dispatcher.list']!.run(dsState(), []) as { RECORDS: { SET: { ID: number; TARGETS: { DEST: { URI: string; FLAGS: string } }[] } }[] };
  for (const r of out.RECORDS) for (const t of r.SET.TARGETS) if (t.DEST.URI.endsWith(`:${uriPort}`)) return t.DEST.FLAGS;
  return '?';
}

async function waitFor(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

beforeAll(async () => {
  const [a, b, f, c, d] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  [gwA, gwB, gw503, gwC, gwD] = await Promise.all([
    startGateway(a!),
    startGateway(b!),
    startGateway(f!, 'gateway-503.xml'),
    startGateway(c!),
    startGateway(d!),
  ]);
  dPort = d!;
  silent = await UdpPeer.open();
  const list = join(tempDir('tser-ds-e2e-'), 'dispatcher.list');
  writeFileSync(
    list,
    [
      '# set 1: one carrier, two gateways weighted 10:1',
      `1 sip:127.0.0.1:${a} 0 0 weight=10;gw=a`,
      `1 sip:127.0.0.1:${b} 0 0 weight=1;gw=b`,
      '# set 2: the first gateway answers 503',
      `2 sip:127.0.0.1:${f} 0 10`,
      `2 sip:127.0.0.1:${a} 0 5`,
      '# set 3: the first gateway never answers',
      `3 sip:127.0.0.1:${silent.port} 0 10`,
      `3 sip:127.0.0.1:${b} 0 5`,
      '# set 4: probed with OPTIONS (flag 8)',
      `4 sip:127.0.0.1:${c} 8 10`,
      `4 sip:127.0.0.1:${d} 8 5`,
    ].join('\n'),
  );
  ({ server, port } = await startProxy(cfg(list), { listen: ['udp:127.0.0.1:0'] }));
}, 60000);

afterAll(async () => {
  await server?.stop();
  silent?.close();
  await Promise.all([gwA, gwB, gw503, gwC, gwD].map((g) => g?.stop()));
});

describe('dispatcher with SIPp gateways', () => {
  it('splits 1,100 calls 10:1 between two gateways by weight', async () => {
    const r = await runCaller(port, { service: 'w', calls: 1100, rate: 100, limit: 60, timeoutS: 120 });
    expect(r.code, r.errors || r.out).toBe(0);
    const a = gwA.invites().size;
    const b = gwB.invites().size;
    expect(a + b).toBe(1100);
    const share = a / 1100;
    expect(share).toBeGreaterThanOrEqual(0.85);
    expect(share).toBeLessThanOrEqual(0.97);
  }, 180000);

  it('fails over to the next gateway when the first answers 503', async () => {
    const beforeA = gwA.invites().size;
    const r = await runCaller(port, { service: 'f503', calls: 5, rate: 5 });
    expect(r.code, r.errors || r.out).toBe(0);
    expect(gw503.invites().size).toBe(5);
    expect(gwA.invites().size - beforeA).toBe(5);
  }, 60000);

  it('fails over when the first gateway does not answer (fr_timer)', async () => {
    const beforeB = gwB.invites().size;
    const r = await runCaller(port, { service: 'fto', calls: 2, rate: 2 });
    expect(r.code, r.errors || r.out).toBe(0);
    expect(gwB.invites().size - beforeB).toBe(2);
    // the silent gateway was tried first for each call
    const first = await silent.next((m) => m.text.startsWith('INVITE '), 1000);
    expect(first.text).toMatch(/^INVITE sip:fto@/);
  }, 60000);

  it('skips a gateway that stops answering OPTIONS, and uses it again when it recovers', async () => {
    await waitFor(() => gwC.count('OPTIONS') > 0 && gwD.count('OPTIONS') > 0, 5000);
    expect(flagsOf(dPort)).toBe('AP');
    await gwD.stop();
    // trying after the first timeout, inactive after ds_probing_threshold of them
    const limit = (THRESHOLD + 1) * (PING_INTERVAL * 1000 + FR_TIMER_MS) + 2000;
    await waitFor(() => flagsOf(dPort) === 'IP', limit);
    const beforeC = gwC.invites().size;
    const r = await runCaller(port, { service: 'p', calls: 6, rate: 10 });
    expect(r.code, r.errors || r.out).toBe(0);
    expect(gwC.invites().size - beforeC).toBe(6);

    gwD = await startGateway(dPort);
    await waitFor(() => flagsOf(dPort) === 'AP', (PING_INTERVAL + 1) * 1000 + FR_TIMER_MS + 2000);
    const r2 = await runCaller(port, { service: 'p', calls: 6, rate: 10 });
    expect(r2.code, r2.errors || r2.out).toBe(0);
    // round-robin over both again
    expect(gwD.invites().size).toBe(3);
    expect(gwC.invites().size - beforeC).toBe(9);
  }, 90000);
});
