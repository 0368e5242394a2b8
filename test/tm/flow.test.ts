// tm behaviour on a fake core and clock: retransmissions, timers, CANCEL, ACK, forking,
// failure/branch/onreply routes, local requests. Downstream UAs sit at ports 8001/8002,
// the caller at 7000.
import { describe, expect, test } from 'vitest';
import { harness, req, replyTo, status, type Harness, type Sent } from './harness.js';
import { makeApi } from '../../modules/tm/api.js';
import { currentCode } from '../../modules/tm/functions.js';

const KAM = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
modparam("tm", "fr_timer", 4000)
modparam("tm", "fr_inv_timer", 10000)
request_route {
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
  $avp(caller) = "alice";
  if ($rU == "bad") { rewritehostport("unresolvable.invalid"); } else { rewritehostport("127.0.0.1:8001"); }
  if ($rU == "fork") { append_branch("sip:fork2@127.0.0.1:8002"); }
  if ($rU == "serial") { t_on_failure("SERIAL"); }
  if ($rU == "reply") { t_on_failure("REPLY"); }
  if ($rU == "br") { t_on_branch("BR"); append_branch("sip:dropme@127.0.0.1:8002"); append_branch("sip:br3@127.0.0.1:8003"); }
  if ($rU == "onrpl") { t_on_reply("RPL"); }
  if ($rU == "tcp") { $du = "sip:127.0.0.1:8001;transport=tcp"; }
  if (!t_relay()) { sl_reply_error(); }
}
failure_route[SERIAL] {
  if (t_check_status("503") && $avp(caller) == "alice" && $T_reply_code == 503) {
    setflag(3);
    rewritehostport("127.0.0.1:8002");
    t_on_failure("SERIAL2");
    t_relay();
  }
}
failure_route[SERIAL2] {
  if (isflagset(3) && t_branch_replied() && !t_branch_timeout()) { t_reply("480", "Flag Kept"); }
}
failure_route[REPLY] { t_reply("404", "Not Found Here"); }
branch_route[BR] {
  append_hf("X-Branch: $T_branch_idx\\r\\n");
  if ($rU == "dropme") { drop; }
}
onreply_route[RPL] {
  if (status == "183") { drop; }
}
`;

const SER = `
loadmodule "sl.so"
loadmodule "tm.so"
modparam("tm", "fr_timer", 2)
modparam("tm", "fr_inv_timer", 5)
route {
  if (method=="ACK") { route(1); break; };
  if (uri=~"bad") { rewritehostport("unresolvable.invalid"); } else { rewritehostport("127.0.0.1:8001"); };
  route(1);
}
route[1] {
  if (!t_relay()) { sl_reply_error(); };
}
`;

const SER_FAILURE = `
loadmodule "sl.so"
loadmodule "tm.so"
route {
  if (method=="ACK") { t_relay(); break; };
  rewritehostport("127.0.0.1:8001");
  t_on_failure("1");
  if (!t_relay()) { sl_reply_error(); };
}
failure_route[1] {
  if (t_check_status("503")) {
    rewritehostport("127.0.0.1:8002");
    append_branch();
    t_relay();
  };
}
`;

const KAM_SAME = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
request_route {
  rewritehostport("127.0.0.1:8001");
  t_on_failure("AGAIN");
  t_relay();
}
failure_route[AGAIN] {
  if (!t_relay()) { xlog("L_INFO", "nothing new to relay to\n"); }
}
`;

const KAM_NEWTRAN = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
request_route {
  if ($rU == "silent") { t_newtran(); exit; }
  if (!t_newtran()) { exit; }
  append_to_reply("X-Why: test\\r\\n");
  send_reply("404", "Not Found");
}
`;

const UAC = 7000;
const UAS = 8001;
const UAS2 = 8002;

function one(list: Sent[]): Sent {
  expect(list.length).toBe(1);
  return list[0]!;
}

async function call(h: Harness, user = 'bob', extra: Partial<Parameters<typeof req>[0]> = {}): Promise<Sent> {
  await h.receive(req({ ruri: `sip:${user}@127.0.0.1:5060`, ...extra }), UAC);
  return one(h.take(UAS).filter((s) => s.msg.isRequest));
}

describe('t_relay', () => {
  test('answers 100 Trying and forwards the INVITE with a new Via carrying a unique branch', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    expect(h.take(UAC).map(status)).toEqual([100]);
    const vias = fwd.msg.vias();
    expect(vias.length).toBe(2);
    expect(vias[0]!.branch).toMatch(/^z9hG4bK/);
    expect(vias[0]!.branch).toContain(h.tm.branchPrefix);
    expect(fwd.msg.ruri).toBe('sip:bob@127.0.0.1:8001');
    const fwd2 = await call(h, 'bob', { callId: 'call-2' });
    expect(fwd2.msg.topVia().branch).not.toBe(vias[0]!.branch);
  });

  test('retransmits the INVITE at T1, 2·T1 … over UDP until a provisional reply arrives', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    await h.advance(500);
    expect(h.take(UAS).length).toBe(1);
    await h.advance(1000);
    expect(h.take(UAS).length).toBe(1);
    await h.advance(1000);
    expect(h.take(UAS).length).toBe(0); // next one at +2000
    await h.advance(1000);
    expect(h.take(UAS).length).toBe(1);
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    await h.advance(9000);
    expect(h.take(UAS).length).toBe(0);
  });

  test('absorbs a retransmitted request and re-sends the last reply without running the script', async () => {
    const h = await harness(KAM);
    const text = req({ branch: 'z9hG4bKsame' });
    await h.receive(text, UAC);
    const fwd = one(h.take(UAS));
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    expect(h.take(UAC).map(status)).toEqual([100, 180]);
    const runs = h.scriptRuns;
    await h.receive(text, UAC);
    expect(h.scriptRuns).toBe(runs);
    expect(h.take(UAC).map(status)).toEqual([180]);
    expect(h.take(UAS).length).toBe(0);
  });

  test('forwards every 2xx at once, removing its Via, and frees the transaction after wt_timer', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    h.take(UAC);
    await h.receive(replyTo(fwd.msg, 200, 'OK'), UAS);
    const ok = one(h.take(UAC));
    expect(status(ok)).toBe(200);
    expect(ok.msg.vias().length).toBe(1);
    expect(ok.msg.topVia().port).toBe(UAC);
    // a retransmitted 2xx from the callee is forwarded too (end-to-end reliability)
    await h.receive(replyTo(fwd.msg, 200, 'OK'), UAS);
    expect(h.take(UAC).map(status)).toEqual([200]);
    expect(h.tm.stats().current).toBe(1);
    await h.advance(5100);
    expect(h.tm.stats().current).toBe(0);
    expect(h.tm.servers.size + h.tm.clients.size + h.tm.wheel.count).toBe(0);
  });

  test('ACKs a negative final hop-by-hop and retransmits it upstream (Timer G) until the ACK', async () => {
    const h = await harness(KAM);
    const text = req({ branch: 'z9hG4bKneg' });
    await h.receive(text, UAC);
    const fwd = one(h.take(UAS));
    h.take(UAC);
    await h.receive(replyTo(fwd.msg, 486, 'Busy Here'), UAS);
    const ack = one(h.take(UAS));
    expect(ack.msg.method).toBe('ACK');
    expect(ack.msg.topVia().branch).toBe(fwd.msg.topVia().branch);
    expect(ack.msg.to().tag).toBe('uas-tag');
    expect(ack.msg.ruri).toBe(fwd.msg.ruri);
    const busy = one(h.take(UAC));
    expect(status(busy)).toBe(486);
    await h.advance(500);
    expect(h.take(UAC).map(status)).toEqual([486]);
    await h.advance(1000);
    expect(h.take(UAC).map(status)).toEqual([486]);
    const runs = h.scriptRuns;
    await h.receive(req({ method: 'ACK', branch: 'z9hG4bKneg', toTag: 'uas-tag' }), UAC);
    expect(h.scriptRuns).toBe(runs); // absorbed before the script
    await h.advance(3000);
    expect(h.take(UAC).length).toBe(0);
    expect(h.core.forwarded.length).toBe(0);
    await h.advance(3000);
    expect(h.tm.stats().current).toBe(0);
  });

  test('an ACK for a 2xx is end-to-end: t_relay forwards it statelessly', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    await h.receive(replyTo(fwd.msg, 200, 'OK'), UAS);
    await h.receive(req({ method: 'ACK', toTag: 'uas-tag', branch: 'z9hG4bKack2xx' }), UAC);
    expect(h.core.forwarded).toEqual([{ target: 'sip:bob@127.0.0.1:5060', method: 'ACK' }]);
  });
});

describe('timers', () => {
  test('fr_inv_timer after a provisional: CANCEL downstream, 408 upstream', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    h.take(UAC);
    await h.advance(9900);
    expect(h.take(UAC).length).toBe(0);
    await h.advance(200);
    const cancel = one(h.take(UAS));
    expect(cancel.msg.method).toBe('CANCEL');
    expect(cancel.msg.topVia().branch).toBe(fwd.msg.topVia().branch);
    const timeout = one(h.take(UAC));
    expect(status(timeout)).toBe(408);
    expect(timeout.msg.to().tag).toBeTruthy();
    // the late 487 of the callee gets its ACK
    await h.receive(replyTo(fwd.msg, 487, 'Request Terminated'), UAS);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    expect(h.take(UAC).length).toBe(0);
  });

  test('fr_timer without any reply: local 408 (Kamailio noisy_ctimer=1)', async () => {
    const h = await harness(KAM);
    await call(h);
    h.take(UAC);
    await h.advance(4100);
    expect(h.take(UAC).map(status)).toEqual([408]);
  });

  test('SER 0.9: timers in seconds and a silent timeout (noisy_ctimer=0)', async () => {
    const h = await harness(SER);
    await h.receive(req(), UAC);
    expect(h.take(UAC).map(status)).toEqual([100]);
    await h.advance(1900);
    await h.advance(300);
    expect(h.take(UAC).length).toBe(0);
    await h.advance(6000);
    expect(h.tm.stats().current).toBe(0);
  });

  test('SER 0.9: a non-INVITE times out with 408 after fr_timer seconds', async () => {
    const h = await harness(SER);
    await h.receive(req({ method: 'OPTIONS' }), UAC);
    await h.advance(1900);
    expect(h.take(UAC).length).toBe(0);
    await h.advance(200);
    expect(h.take(UAC).map(status)).toEqual([408]);
  });

  test('non-INVITE retransmissions double up to T2, and stay at T2 after a provisional', async () => {
    const h = await harness(KAM, { tm: { fr_timer: 30000 } });
    await h.receive(req({ method: 'MESSAGE' }), UAC);
    const fwd = one(h.take(UAS));
    const times: number[] = [];
    let t = 0;
    for (let i = 0; i < 90; i++) {
      await h.advance(100);
      t += 100;
      if (h.take(UAS).length > 0) times.push(t);
    }
    expect(times.slice(0, 6)).toEqual([500, 1500, 3500, 7500]);
    await h.receive(replyTo(fwd.msg, 100, 'Trying'), UAS);
    await h.receive(replyTo(fwd.msg, 200, 'OK'), UAS);
    expect(h.take(UAC).map(status)).toEqual([200]);
  });

  test('TCP branches have no retransmission timers', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:tcp@127.0.0.1' }), UAC);
    const fwd = one(h.take(UAS));
    expect(fwd.dest.proto).toBe('tcp');
    expect(fwd.msg.topVia().transport).toBe('TCP');
    await h.advance(3000);
    expect(h.take(UAS).length).toBe(0);
  });
});

describe('CANCEL', () => {
  test('while ringing: 200 for the CANCEL, CANCEL downstream on the same branch, 487 upstream', async () => {
    const h = await harness(KAM);
    await h.receive(req({ branch: 'z9hG4bKinv' }), UAC);
    const fwd = one(h.take(UAS));
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    h.take(UAC);
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKinv', extra: ['Reason: SIP;cause=200;text="x"'] }), UAC);
    const ok = one(h.take(UAC));
    expect(status(ok)).toBe(200);
    expect(ok.msg.cseq().method).toBe('CANCEL');
    const cancel = one(h.take(UAS));
    expect(cancel.msg.method).toBe('CANCEL');
    expect(cancel.msg.topVia().branch).toBe(fwd.msg.topVia().branch);
    expect(cancel.msg.ruri).toBe(fwd.msg.ruri);
    expect(cancel.msg.cseq()).toMatchObject({ seq: 1, method: 'CANCEL' });
    expect(cancel.msg.value('reason')).toContain('cause=200');
    await h.receive(replyTo(cancel.msg, 200, 'OK'), UAS);
    await h.receive(replyTo(fwd.msg, 487, 'Request Terminated'), UAS);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    expect(h.take(UAC).map(status)).toEqual([487]);
    // a retransmitted CANCEL gets the 200 again
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKinv' }), UAC);
    expect(h.take(UAC).map(status)).toEqual([200]);
  });

  test('before any provisional (cancel_b_method=1) the CANCEL waits for the first 1xx', async () => {
    const h = await harness(KAM);
    await h.receive(req({ branch: 'z9hG4bKinv2' }), UAC);
    const fwd = one(h.take(UAS));
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKinv2' }), UAC);
    expect(h.take(UAS).length).toBe(0);
    await h.receive(replyTo(fwd.msg, 100, 'Trying'), UAS);
    expect(one(h.take(UAS)).msg.method).toBe('CANCEL');
  });

  test('a branch that never answers ends with a local 487 once cancelled', async () => {
    const h = await harness(KAM);
    await h.receive(req({ branch: 'z9hG4bKinv3' }), UAC);
    h.take(UAC);
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKinv3' }), UAC);
    expect(h.take(UAC).map(status)).toEqual([200]);
    await h.advance(4100);
    expect(h.take(UAC).map(status)).toEqual([487]);
  });

  test('an unknown CANCEL: t_check_trans() is false and nothing is sent', async () => {
    const h = await harness(KAM);
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKnone' }), UAC);
    expect(h.core.sent.length).toBe(0);
  });

  test('SER config: an unknown CANCEL is relayed statefully (downstream answers 481)', async () => {
    const h = await harness(SER);
    await h.receive(req({ method: 'CANCEL', branch: 'z9hG4bKnone' }), UAC);
    const fwd = one(h.take(UAS));
    expect(fwd.msg.method).toBe('CANCEL');
    await h.receive(replyTo(fwd.msg, 481, 'Call/Transaction Does Not Exist'), UAS);
    expect(h.take(UAC).map(status)).toEqual([481]);
  });
});

describe('forking and best response', () => {
  async function fork(h: Harness): Promise<[Sent, Sent]> {
    await h.receive(req({ ruri: 'sip:fork@127.0.0.1' }), UAC);
    h.take(UAC);
    return [one(h.take(UAS)), one(h.take(UAS2))];
  }

  test('parallel branches: the best negative reply wins after all answered', async () => {
    const h = await harness(KAM);
    const [a, b] = await fork(h);
    expect(b.msg.ruri).toBe('sip:fork2@127.0.0.1:8002');
    await h.receive(replyTo(a.msg, 503, 'Unavailable'), UAS);
    expect(h.take(UAC).length).toBe(0);
    await h.receive(replyTo(b.msg, 486, 'Busy Here'), UAS2);
    expect(h.take(UAC).map(status)).toEqual([486]);
  });

  test('a 2xx on one branch is relayed at once and CANCELs the other', async () => {
    const h = await harness(KAM);
    const [a, b] = await fork(h);
    await h.receive(replyTo(a.msg, 180, 'Ringing'), UAS);
    await h.receive(replyTo(b.msg, 180, 'Ringing'), UAS2);
    expect(h.take(UAC).map(status)).toEqual([180, 180]);
    await h.receive(replyTo(b.msg, 200, 'OK'), UAS2);
    expect(h.take(UAC).map(status)).toEqual([200]);
    const cancel = one(h.take(UAS));
    expect(cancel.msg.method).toBe('CANCEL');
    expect(cancel.msg.value('reason')).toContain('Call completed elsewhere');
    await h.receive(replyTo(a.msg, 487, 'Request Terminated'), UAS);
    expect(h.take(UAC).length).toBe(0);
  });

  test('a 6xx cancels the other branches and is the answer', async () => {
    const h = await harness(KAM);
    const [a, b] = await fork(h);
    await h.receive(replyTo(a.msg, 180, 'Ringing'), UAS);
    h.take(UAC);
    await h.receive(replyTo(b.msg, 603, 'Decline'), UAS2);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['CANCEL']);
    await h.receive(replyTo(a.msg, 487, 'Request Terminated'), UAS);
    expect(h.take(UAC).map(status)).toEqual([603]);
  });

  test('401 and 407 challenges of all branches are merged into the reply sent upstream', async () => {
    const h = await harness(KAM);
    const [a, b] = await fork(h);
    await h.receive(replyTo(a.msg, 401, 'Unauthorized', { extra: ['WWW-Authenticate: Digest realm="a", nonce="1"'] }), UAS);
    await h.receive(replyTo(b.msg, 407, 'Proxy Auth', { extra: ['Proxy-Authenticate: Digest realm="b", nonce="2"'] }), UAS2);
    const r = one(h.take(UAC));
    expect(status(r)).toBe(401);
    expect(r.msg.value('www-authenticate')).toContain('realm="a"');
    expect(r.msg.value('proxy-authenticate')).toContain('realm="b"');
  });

  test('failure_route forks serially, with AVPs, flags and $T_reply_code of the request', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:serial@127.0.0.1' }), UAC);
    h.take(UAC);
    const a = one(h.take(UAS));
    await h.receive(replyTo(a.msg, 503, 'Service Unavailable'), UAS);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    const b = one(h.take(UAS2));
    expect(b.msg.method).toBe('INVITE');
    expect(b.msg.topVia().branch).not.toBe(a.msg.topVia().branch);
    expect(h.take(UAC).length).toBe(0);
    // the second destination rings then fails: SERIAL2 sees the flag set in SERIAL
    await h.receive(replyTo(b.msg, 180, 'Ringing'), UAS2);
    await h.receive(replyTo(b.msg, 486, 'Busy Here'), UAS2);
    expect(h.take(UAC).map(status)).toEqual([180, 480]);
  });

  test('SER 0.9 failure_route: t_relay() forwards only to appended branches', async () => {
    const h = await harness(SER_FAILURE);
    await h.receive(req(), UAC);
    const a = one(h.take(UAS));
    await h.receive(replyTo(a.msg, 503, 'Unavailable'), UAS);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    const b = one(h.take(UAS2));
    await h.receive(replyTo(b.msg, 200, 'OK'), UAS2);
    expect(h.take(UAC).map(status)).toEqual([100, 200]);
  });

  test('Kamailio failure_route: t_relay() with an unchanged R-URI adds nothing, the failure goes upstream', async () => {
    const h = await harness(KAM_SAME);
    await h.receive(req(), UAC);
    const a = one(h.take(UAS));
    await h.receive(replyTo(a.msg, 486, 'Busy Here'), UAS);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    expect(h.take(UAC).map(status)).toEqual([100, 486]);
  });

  test('t_reply() in failure_route replaces the reply that failed', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:reply@127.0.0.1' }), UAC);
    h.take(UAC);
    const a = one(h.take(UAS));
    await h.receive(replyTo(a.msg, 500, 'Oops'), UAS);
    const r = one(h.take(UAC));
    expect(status(r)).toBe(404);
    expect(r.msg.reason).toBe('Not Found Here');
  });

  test('branch_route edits only its own branch and can drop it', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:br@127.0.0.1' }), UAC);
    const a = one(h.take(UAS));
    expect(h.take(UAS2).length).toBe(0); // dropped in branch_route
    const c = one(h.take(8003));
    expect(a.msg.value('x-branch')).toBe('0');
    // a branch dropped in branch_route does not use up its index (Kamailio nr_of_outgoings)
    expect(c.msg.value('x-branch')).toBe('1');
    expect(c.msg.headersNamed('x-branch').length).toBe(1);
  });

  test('onreply_route runs for the branch replies; drop stops a provisional', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:onrpl@127.0.0.1' }), UAC);
    h.take(UAC);
    const a = one(h.take(UAS));
    await h.receive(replyTo(a.msg, 183, 'Progress'), UAS);
    await h.receive(replyTo(a.msg, 180, 'Ringing'), UAS);
    expect(h.take(UAC).map(status)).toEqual([180]);
  });
});

describe('errors and odd input', () => {
  test('Kamailio: an unresolvable destination makes t_relay fail; sl_reply_error answers 478', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:bad@127.0.0.1' }), UAC);
    const r = h.take(UAC);
    expect(r.map(status)).toEqual([100, 478]);
    expect(r[1]!.msg.to().tag).toBe('sltag.1'); // stateless
    expect(h.tm.stats().current).toBe(0);
  });

  test('SER 0.9: t_relay answers the failure statefully itself', async () => {
    const h = await harness(SER);
    await h.receive(req({ ruri: 'sip:bad@127.0.0.1' }), UAC);
    const r = h.take(UAC);
    expect(r.map(status)).toEqual([100, 478]);
    expect(r[1]!.msg.to().tag).not.toBe('sltag.1');
  });

  test('a reply that matches no transaction is left to the core', async () => {
    const h = await harness(KAM);
    const stray = replyTo(SipMessageOf(req({ via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKunknown' })), 200, 'OK');
    await h.receive(stray, UAS);
    expect(h.core.forwarded).toEqual([{ target: 'by-via', method: 'INVITE' }]);
  });

  test('a reply with a foreign CSeq method on our branch is dropped', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    h.take(UAC);
    await h.receive(replyTo(fwd.msg, 200, 'OK').replace('CSeq: 1 INVITE', 'CSeq: 1 BYE'), UAS);
    expect(h.take(UAC).length).toBe(0);
  });

  test('RFC 2543 peers: transactions matched without a branch cookie, ACK by To-tag', async () => {
    const h = await harness(KAM);
    const text = req({ via: 'SIP/2.0/UDP 127.0.0.1:7000', callId: 'old-1' });
    await h.receive(text, UAC);
    const fwd = one(h.take(UAS));
    await h.receive(text, UAC);
    expect(h.take(UAS).length).toBe(0);
    expect(h.take(UAC).map(status)).toEqual([100, 100]);
    await h.receive(replyTo(fwd.msg, 404, 'Not Found', { toTag: 'xyz' }), UAS);
    h.take(UAS);
    expect(h.take(UAC).map(status)).toEqual([404]);
    const runs = h.scriptRuns;
    await h.receive(req({ method: 'ACK', via: 'SIP/2.0/UDP 127.0.0.1:7000', callId: 'old-1', toTag: 'xyz' }), UAC);
    expect(h.scriptRuns).toBe(runs);
  });

  test('a reload does not change the routes of a transaction in flight', async () => {
    const h = await harness(KAM);
    await h.receive(req({ ruri: 'sip:reply@127.0.0.1' }), UAC);
    const a = one(h.take(UAS));
    await h.reload(KAM.replace('t_reply("404", "Not Found Here")', 't_reply("403", "New Script")'));
    await h.receive(replyTo(a.msg, 500, 'Oops'), UAS);
    expect(h.take(UAC).map(status)).toEqual([100, 404]);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
    await h.receive(req({ ruri: 'sip:reply@127.0.0.1', callId: 'new' }), UAC);
    const b = one(h.take(UAS));
    await h.receive(replyTo(b.msg, 500, 'Oops'), UAS);
    expect(h.take(UAC).map(status)).toEqual([100, 403]);
  });
});

describe('odd reply sequences', () => {
  test('a provisional after the final and a duplicate final are not relayed again', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    h.take(UAC);
    await h.receive(replyTo(fwd.msg, 486, 'Busy Here'), UAS);
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    await h.receive(replyTo(fwd.msg, 486, 'Busy Here'), UAS);
    expect(h.take(UAC).map(status)).toEqual([486]);
    // the retransmitted final gets its ACK again
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK', 'ACK']);
  });

  test('a final reply without To or with an unusual code still ends the branch', async () => {
    const h = await harness(KAM);
    const fwd = await call(h);
    h.take(UAC);
    await h.receive(replyTo(fwd.msg, 499, 'Odd').replace(/^To: .*\r\n/m, ''), UAS);
    const r = one(h.take(UAC));
    expect(status(r)).toBe(499);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['ACK']);
  });

  test('max_inv_lifetime ends a call that keeps ringing', async () => {
    const h = await harness(KAM, { tm: { max_inv_lifetime: 3000 } });
    const fwd = await call(h);
    await h.receive(replyTo(fwd.msg, 180, 'Ringing'), UAS);
    h.take(UAC);
    await h.advance(3100);
    expect(h.take(UAC).map(status)).toEqual([408]);
    expect(h.take(UAS).map((s) => s.msg.method)).toEqual(['CANCEL']);
  });
});

describe('t_newtran and stateful replies', () => {
  test('send_reply() answers statefully once t_newtran() made a transaction; retransmissions get it again', async () => {
    const h = await harness(KAM_NEWTRAN);
    const text = req({ method: 'MESSAGE', ruri: 'sip:x@127.0.0.1', branch: 'z9hG4bKmsg' });
    await h.receive(text, UAC);
    const r = one(h.take(UAC));
    expect(status(r)).toBe(404);
    expect(r.msg.to().tag).not.toBe('sltag.1');
    expect(r.msg.value('x-why')).toBe('test');
    const runs = h.scriptRuns;
    await h.receive(text, UAC);
    expect(h.scriptRuns).toBe(runs);
    expect(h.take(UAC).map(status)).toEqual([404]);
  });

  test('a transaction the script never answers is released after max_noninv_lifetime', async () => {
    const h = await harness(KAM_NEWTRAN, { tm: { max_noninv_lifetime: 2000 } });
    await h.receive(req({ method: 'MESSAGE', ruri: 'sip:silent@127.0.0.1' }), UAC);
    expect(h.tm.stats().current).toBe(1);
    await h.advance(2100 + 5100);
    expect(h.tm.stats().current).toBe(0);
    expect(h.core.sent.length).toBe(0);
  });
});

describe('API for other modules', () => {
  test('sendRequest: final code, 408 on timeout, 478 when unresolvable', async () => {
    const h = await harness(KAM);
    const api = makeApi(h.tm, currentCode);
    const p = api.sendRequest({ method: 'OPTIONS', ruri: 'sip:127.0.0.1:8001', from: 'sip:dispatcher@localhost' });
    await h.advance(10);
    const opt = one(h.take(UAS));
    expect(opt.msg.method).toBe('OPTIONS');
    expect(opt.msg.from().uri).toBe('sip:dispatcher@localhost');
    await h.receive(replyTo(opt.msg, 200, 'OK'), UAS);
    expect((await p).code).toBe(200);

    const q = api.sendRequest({ method: 'OPTIONS', ruri: 'sip:127.0.0.1:8001' });
    await h.advance(4100);
    expect(await q).toMatchObject({ code: 408, reply: null });
    expect((await api.sendRequest({ method: 'OPTIONS', ruri: 'sip:x@unresolvable.invalid' })).code).toBe(478);
    await h.advance(6000);
    expect(h.tm.stats().current).toBe(0);
  });
});

import { SipMessage } from '../../src/sip/index.js';
function SipMessageOf(text: string): SipMessage {
  return SipMessage.parse(Buffer.from(text, 'latin1'));
}
