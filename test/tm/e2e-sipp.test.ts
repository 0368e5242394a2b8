// End-to-end: SIPp caller and callees through a real tser (UDP and TCP sockets) running a
// Kamailio-style config and the seed's SER 0.9 config (relay part, registrar without auth).
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { freePort, repoRoot, startProxy } from '../helpers/proxy.js';
import { UdpPeer, request, statusOf } from '../helpers/sip-client.js';
import type { Server } from '../../src/core/server.js';
import { expectSippPassed, startSipp, startSippUas, type SippOptions, type SippRun } from '../helpers/sipp.js';

const running: SippRun[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.kill();
});

/** one call of a scenario from test/fixtures/sipp/tm; reaching -timeout is a failure */
const scenario = (file: string, o: Partial<SippOptions>): SippOptions => ({
  scenario: join(repoRoot, 'test/fixtures/sipp/tm', file),
  calls: 1,
  timeoutSec: 20,
  timeoutError: true,
  transport: 'u1',
  maxRecvLoops: 1000,
  ...o,
});

async function uas(file: string, port: number, o: { pauseMs?: number; transport?: 't1' } = {}): Promise<SippRun> {
  const r = await startSippUas(scenario(file, { port, pauseMs: o.pauseMs, transport: o.transport ?? 'u1' }));
  running.push(r);
  return r;
}

async function uac(file: string, proxyPort: number, service: string, o: { transport?: 't1' } = {}): Promise<SippRun> {
  const r = startSipp(scenario(file, { target: `127.0.0.1:${proxyPort}`, service, transport: o.transport ?? 'u1' }));
  running.push(r);
  return r;
}

async function passes(...runs: SippRun[]): Promise<void> {
  await Promise.all(runs.map((r) => expectSippPassed(r)));
}

/** wait until every transaction went through its wait timer */
async function drained(server: Server, ms = 4000): Promise<number> {
  const end = Date.now() + ms;
  const current = () => server.stats.get('tm:inuse_transactions')['tm:inuse_transactions'] ?? -1;
  while (Date.now() < end && current() !== 0) await new Promise((r) => setTimeout(r, 100));
  return current();
}

/** a callee that ignores the first INVITE and answers the retransmission */
async function dropFirstUas(peer: UdpPeer, proxyPort: number): Promise<{ invites: number; branches: string[] }> {
  const branches: string[] = [];
  let invites = 0;
  const isInvite = (r: { text: string }) => r.text.startsWith('INVITE ');
  await peer.next(isInvite, 5000);
  invites++;
  const second = await peer.next(isInvite, 5000);
  invites++;
  for (const t of [second.text]) branches.push(/branch=([^;\r\n]+)/.exec(t)![1]!);
  const head = second.text.split('\r\n\r\n')[0]!.split('\r\n');
  const keep = head.filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l));
  const to = head.find((l) => /^To:/i.test(l))!;
  const reply = (code: number, reason: string) =>
    [`SIP/2.0 ${code} ${reason}`, ...keep, `${to};tag=dropper`, `Contact: <sip:bob@127.0.0.1:${peer.port}>`, 'Content-Length: 0', '', ''].join('\r\n');
  await peer.send(reply(180, 'Ringing'), proxyPort);
  await peer.send(reply(200, 'OK'), proxyPort);
  await peer.next((r) => r.text.startsWith('ACK '), 5000);
  const bye = await peer.next((r) => r.text.startsWith('BYE '), 5000);
  const bh = bye.text.split('\r\n\r\n')[0]!.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  await peer.send(['SIP/2.0 200 OK', ...bh, 'Content-Length: 0', '', ''].join('\r\n'), proxyPort);
  // anything else that arrives would be a duplicate INVITE
  if (!(await peer.nothing(isInvite, 300))) invites++;
  return { invites, branches };
}

function kamailioCfg(uas1: number, uas2: number): string {
  return `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
modparam("tm", "fr_timer", 3000)
modparam("tm", "fr_inv_timer", 2000)
modparam("tm", "wt_timer", 500)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("CANCEL")) {
    if (t_check_trans()) { route(RELAY); }
    exit;
  }
  if (has_totag()) {
    if (loose_route()) { route(RELAY); }
    if (is_method("ACK")) {
      if (t_check_trans()) { route(RELAY); }
      exit;
    }
    sl_send_reply("404", "Not here");
    exit;
  }
  record_route();
  $du = "sip:127.0.0.1:${uas1}";
  if ($rU == "fail") { t_on_failure("NEXT"); }
  if ($rU == "fork") { append_branch("sip:fork@127.0.0.1:${uas2}"); }
  if ($rU == "tcp") { $du = "sip:127.0.0.1:${uas1};transport=tcp"; }
  route(RELAY);
}

route[RELAY] {
  if (!t_relay()) { sl_reply_error(); }
  exit;
}

failure_route[NEXT] {
  if (t_is_canceled()) { exit; }
  if (t_check_status("503")) {
    $du = "sip:127.0.0.1:${uas2}";
    t_relay();
  }
}
`;
}

/** the seed's config (SER 0.9 quick start, chapter 7) without the auth checks */
const SEED_NOAUTH = `
debug=3
fork=no
log_stderror=yes
children=4
dns=no
rev_dns=no

loadmodule "/usr/local/lib/ser/modules/sl.so"
loadmodule "/usr/local/lib/ser/modules/tm.so"
loadmodule "/usr/local/lib/ser/modules/rr.so"
loadmodule "/usr/local/lib/ser/modules/maxfwd.so"
loadmodule "/usr/local/lib/ser/modules/usrloc.so"
loadmodule "/usr/local/lib/ser/modules/registrar.so"

modparam("usrloc", "db_mode", 0)
modparam("rr", "enable_full_lr", 1)
modparam("tm", "fr_timer", 3)
modparam("tm", "fr_inv_timer", 2)
modparam("tm", "wt_timer", 1)

route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        break;
    };
    if (method!="REGISTER") {
        record_route();
    };
    if (loose_route()) {
        route(1);
        break;
    };
    if (uri!=myself) {
        route(1);
        break;
    };
    if (method=="ACK") {
        route(1);
        break;
    } else if (method=="REGISTER") {
        route(2);
        break;
    };
    lookup("aliases");
    if (uri!=myself) {
        route(1);
        break;
    };
    if (!lookup("location")) {
        sl_send_reply("404", "User Not Found");
        break;
    };
    t_on_failure("1");
    route(1);
}

route[1] {
    if (!t_relay()) {
        sl_reply_error();
    };
}

route[2] {
    if (!save("location")) {
        sl_reply_error();
    };
}

failure_route[1] {
    if (t_check_status("503")) {
        rewritehostport("127.0.0.1:BACKUP");
        append_branch();
        t_relay();
        break;
    };
}
`;

describe('Kamailio-style config', () => {
  let server: Server;
  let port: number;
  let uas1: number;
  let uas2: number;

  beforeAll(async () => {
    uas1 = await freePort();
    uas2 = await freePort();
    ({ server, port } = await startProxy(kamailioCfg(uas1, uas2)));
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('INVITE, 180, 200, ACK, BYE; transactions freed afterwards', async () => {
    const b = await uas('uas-call.xml', uas1, { pauseMs: 200 });
    const a = await uac('uac-call.xml', port, 'bob');
    await passes(a, b);
    expect(await drained(server)).toBe(0);
  });

  test('CANCEL while ringing: the caller gets 487, the callee sees the CANCEL', async () => {
    const b = await uas('uas-cancel.xml', uas1);
    const a = await uac('uac-cancel.xml', port, 'bob');
    await passes(a, b);
  });

  test('a callee that rings and never answers: 408 after fr_inv_timer, callee cancelled', async () => {
    const b = await uas('uas-cancel.xml', uas1);
    const t0 = Date.now();
    const a = await uac('uac-timeout.xml', port, 'bob');
    await passes(a, b);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
  });

  test('failure_route sends the call to a second callee after the first answers 503', async () => {
    const b1 = await uas('uas-503.xml', uas1);
    const b2 = await uas('uas-call.xml', uas2, { pauseMs: 100 });
    const a = await uac('uac-call.xml', port, 'fail');
    await passes(a, b1, b2);
  });

  test('an INVITE retransmitted by the caller is forwarded once', async () => {
    // a second forwarded INVITE (new branch) would be an unexpected message for the SIPp callee
    const created = () => server.stats.get('tm:created_transactions')['tm:created_transactions']!;
    const before = created();
    const b = await uas('uas-call.xml', uas1, { pauseMs: 800 });
    const a = await uac('uac-retrans.xml', port, 'bob');
    await passes(a, b);
    expect(created() - before).toBe(2); // the INVITE and the BYE
    expect(server.stats.get('tm:UAS_transactions')['tm:UAS_transactions']).toBeGreaterThan(0);
  });

  test('a callee that drops the first INVITE gets it again by retransmission', async () => {
    const peer = await UdpPeer.open();
    try {
      const s = await startProxy(kamailioCfg(peer.port, uas2));
      try {
        const a = await uac('uac-call.xml', s.port, 'bob');
        const seen = await dropFirstUas(peer, s.port);
        await passes(a);
        expect(seen.invites).toBe(2);
      } finally {
        await s.server.stop();
      }
    } finally {
      peer.close();
    }
  });

  test('parallel forking: one callee answers, the other is cancelled', async () => {
    const b1 = await uas('uas-call.xml', uas1, { pauseMs: 500 });
    const b2 = await uas('uas-cancel.xml', uas2);
    const a = await uac('uac-call.xml', port, 'fork');
    await passes(a, b1, b2);
  });

  test('the same call over TCP on both sides', async () => {
    const b = await uas('uas-call.xml', uas1, { pauseMs: 100, transport: 't1' });
    const a = await uac('uac-call.xml', port, 'tcp', { transport: 't1' });
    await passes(a, b);
  });

  test('a CANCEL for an unknown transaction is dropped by the default Kamailio pattern', async () => {
    const peer = await UdpPeer.open();
    try {
      await peer.send(request({ method: 'CANCEL', ruri: `sip:bob@127.0.0.1:${port}`, port: peer.port }), port);
      expect(await peer.nothing(() => true, 500)).toBe(true);
    } finally {
      peer.close();
    }
  });
});

describe("the seed's SER 0.9 config (relay part)", () => {
  let server: Server;
  let port: number;
  let uas1: number;
  let uas2: number;
  let peer: UdpPeer;

  beforeAll(async () => {
    uas1 = await freePort();
    uas2 = await freePort();
    peer = await UdpPeer.open();
    ({ server, port } = await startProxy(SEED_NOAUTH.replace('BACKUP', String(uas2))));
  });
  afterAll(async () => {
    await server?.stop();
    peer?.close();
  });

  async function register(user: string, contactPort: number, expires = 60): Promise<void> {
    const r = request({
      method: 'REGISTER',
      ruri: `sip:127.0.0.1:${port}`,
      port: peer.port,
      from: `<sip:${user}@127.0.0.1>`,
      to: `<sip:${user}@127.0.0.1>`,
      extra: [`Expires: ${expires}`],
    }).replace(/^Contact: .*$/m, `Contact: <sip:${user}@127.0.0.1:${contactPort}>`);
    await peer.send(r, port);
    const reply = await peer.next((m) => /CSeq: \d+ REGISTER/.test(m.text) && statusOf(m.text) >= 200);
    expect(statusOf(reply.text)).toBe(200);
  }

  test('INVITE, 180, 200, ACK, BYE to a registered callee', async () => {
    await register('alice', uas1);
    const b = await uas('uas-call.xml', uas1, { pauseMs: 200 });
    const a = await uac('uac-call.xml', port, 'alice');
    await passes(a, b);
    expect(await drained(server)).toBe(0);
  });

  test('CANCEL while ringing', async () => {
    await register('carol', uas1);
    const b = await uas('uas-cancel.xml', uas1);
    const a = await uac('uac-cancel.xml', port, 'carol');
    await passes(a, b);
  });

  test('408 after fr_inv_timer (seconds in SER 0.9)', async () => {
    await register('dave', uas1);
    const b = await uas('uas-cancel.xml', uas1);
    const a = await uac('uac-timeout.xml', port, 'dave');
    await passes(a, b);
  });

  test('failure_route[1] forwards to a second callee after 503', async () => {
    await register('erin', uas1);
    const b1 = await uas('uas-503.xml', uas1);
    const b2 = await uas('uas-call.xml', uas2, { pauseMs: 100 });
    const a = await uac('uac-call.xml', port, 'erin');
    await passes(a, b1, b2);
  });

  test('parallel forking to two registered contacts', async () => {
    await register('frank', uas1);
    await register('frank', uas2);
    const b1 = await uas('uas-call.xml', uas1, { pauseMs: 500 });
    const b2 = await uas('uas-cancel.xml', uas2);
    const a = await uac('uac-call.xml', port, 'frank');
    await passes(a, b1, b2);
  });
});
