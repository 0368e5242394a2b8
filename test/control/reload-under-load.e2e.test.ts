// The headline: SIPp places calls at a steady rate through a spawned tser to a SIPp UAS
// (INVITE/180/200/ACK/BYE/200), once as a stateless proxy and once with tm's t_relay, while
// the routing script is reloaded 12 times (control socket and SIGHUP, with failed reloads
// of a broken file in between). Every call must complete on both sides: zero failed calls,
// zero unanswered transactions (tm: no 408/4xx/5xx transactions).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReloadReport } from '../../src/control/reload.js';
import { rpcCall } from '../../src/ctl/rpc-client.js';
import { freePort, spawnTser, tempDir, type ChildProxy } from '../helpers/proxy.js';
import { request, UdpPeer } from '../helpers/sip-client.js';
import { runSipp, startSipp } from '../helpers/sipp.js';
import { sleep } from './helpers.js';

const CALLS = 150;
const RATE = 10; // calls per second: ~15 s of traffic

let dir: string;
let file: string;
let socket: string;
let port: number;
let uasPort: number;
let tser: ChildProxy | null = null;
let mode: 'stateless' | 'tm' = 'stateless';

/** version v of the script: a different probe reply (so the route really changes) */
const cfg = (v: number, broken = false) => `#!KAMAILIO
debug=0
listen=udp:127.0.0.1:${port}
loadmodule "sl.so"
loadmodule "maxfwd.so"
${mode === 'tm' ? 'loadmodule "tm.so"' : ''}

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("OPTIONS") && uri =~ "^sip:probe@") {
		sl_send_reply("200", "version ${v}");
		exit;
	}
	${broken ? 'this is not a statement' : ''}
	rewritehostport("127.0.0.1:${uasPort}");
	${mode === 'tm' ? 'if (!t_relay()) {\n\t\tsl_reply_error();\n\t}' : 'forward();'}
}
`;

async function probe(peer: UdpPeer, i: number): Promise<string> {
  const callId = `probe-${i}@test`;
  await peer.send(request({ method: 'OPTIONS', ruri: `sip:probe@127.0.0.1:${port}`, port: peer.port, callId }), port);
  const r = await peer.next((m) => m.text.includes(callId), 5000);
  return /^SIP\/2\.0 200 (.*)\r\n/.exec(r.text)?.[1] ?? '';
}

async function startTser(m: typeof mode): Promise<void> {
  mode = m;
  dir = tempDir('tser-load-');
  file = join(dir, 'proxy.cfg');
  socket = join(dir, 'ctl');
  port = await freePort();
  uasPort = await freePort();
  writeFileSync(file, cfg(0));
  tser = await spawnTser(['-f', file, '-E'], { TSER_CTL_SOCKET: socket, TSER_LOG_LEVEL: 'info' });
  for (let i = 0; i < 100; i++) {
    try {
      await rpcCall(socket, 'core.version', [], 1000);
      break;
    } catch {
      await sleep(50);
    }
  }
}

afterEach(async (t) => {
  if (t.task.result?.state === 'fail') console.log(`tser output:\n${tser?.output().slice(-4000)}\nexit ${tser?.proc.exitCode} ${tser?.proc.signalCode}`);
  await tser?.stop();
  tser = null;
});

describe.each(['stateless', 'tm'] as const)('reload under load (%s)', (m) => {
  it(`${CALLS} SIPp calls at ${RATE} cps, 12 reloads: zero failed calls, zero unanswered transactions`, { timeout: 120000 }, async () => {
    await startTser(m);
    const proxy = tser!;
    const uas = startSipp({ scenario: 'uas', port: uasPort, calls: CALLS, timeoutSec: 90 });
    await sleep(300);
    const uacDone = runSipp({
      scenario: 'uac',
      target: `127.0.0.1:${port}`,
      calls: CALLS,
      rate: RATE,
      timeoutSec: 90,
      recvTimeoutMs: 8000,
    });
    let trafficOver = false;
    void uacDone.then(() => (trafficOver = true));
    const peer = await UdpPeer.open();
    const reports: ReloadReport[] = [];
    const failures: string[] = [];
    let sighups = 0;
    try {
      await sleep(1000);
      for (let v = 1; v <= 12; v++) {
        writeFileSync(file, cfg(v));
        if (v % 6 === 0) {
          // SIGHUP path: confirm by probing until the new version answers
          proxy.proc.kill('SIGHUP');
          sighups++;
          for (let i = 0; i < 60 && (await probe(peer, v * 100 + i)) !== `version ${v}`; i++) await sleep(50);
        } else {
          reports.push((await rpcCall(socket, 'cfg.reload', [], 20000)) as ReloadReport);
        }
        expect(await probe(peer, v)).toBe(`version ${v}`);
        if (v % 4 === 2) {
          // a broken file in between: refused, nothing changes, the next reload works
          writeFileSync(file, cfg(v, true));
          try {
            await rpcCall(socket, 'cfg.reload', [], 20000);
          } catch (e) {
            failures.push((e as Error).message);
          }
          expect(await probe(peer, 1000 + v)).toBe(`version ${v}`);
        }
        await sleep(700);
      }
    } finally {
      peer.close();
    }
    // every reload happened while calls were still being placed
    expect(trafficOver).toBe(false);
    const uac = await uacDone;
    // the UAS ends by itself after its last call (after SIPp's final wait for retransmissions)
    await new Promise<void>((resolve) => {
      if (uas.proc.exitCode !== null) return resolve();
      uas.proc.once('exit', () => resolve());
      setTimeout(resolve, 20000).unref();
    });
    const uasResult = await uas.stop();
    const stats = (await rpcCall(socket, 'stats.fetch', ['core:', 'tm:'])) as Record<string, number>;

    expect(reports.length + sighups).toBeGreaterThanOrEqual(12);
    for (const r of reports) expect(r.routes.modified).toEqual(['request_route']);
    expect(failures).toHaveLength(3);
    for (const f of failures) expect(f).toMatch(/reload failed: \d+ errors? in .*proxy\.cfg/);

    expect({ failed: uac.failed, successful: uac.successful, exit: uac.exitCode }).toEqual({ failed: 0, successful: CALLS, exit: 0 });
    expect({ failed: uasResult.failed, successful: uasResult.successful }).toEqual({ failed: 0, successful: CALLS });
    expect(stats['core.drop_requests'] ?? 0).toBe(0);
    if (m === 'stateless') {
      // every INVITE, ACK and BYE went through and every reply (180, 200, 200) came back
      expect(stats['core.fwd_requests']).toBeGreaterThanOrEqual(3 * CALLS);
      expect(stats['core.fwd_replies']).toBeGreaterThanOrEqual(3 * CALLS);
    } else {
      // one INVITE and one BYE transaction per call, all answered 2xx by the UAS, none timed out
      expect(stats['tm.UAS_transactions']).toBe(2 * CALLS);
      expect(stats['tm.2xx_transactions']).toBe(2 * CALLS);
      for (const k of ['3xx', '4xx', '5xx', '6xx']) expect(stats[`tm.${k}_transactions`] ?? 0).toBe(0);
      expect(stats['tm.relayed_replies']).toBeGreaterThanOrEqual(3 * CALLS);
    }
    expect(proxy.output()).not.toMatch(/error while processing message/);
  });
});
