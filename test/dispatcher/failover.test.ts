// Failover and states: the failover list carried into failure_route, ds_next_dst/_domain,
// ds_mark_dst with thresholds, dst-down/dst-up event routes, keepalive outcomes, attributes
// in $xavp and attrs_pvname, ds_is_from_list, and the RPC commands.
import { afterEach, describe, expect, it } from 'vitest';
import { DsFlag } from '../../modules/dispatcher/list.js';
import { onProbeResult, pingRound, shouldPing } from '../../modules/dispatcher/probe.js';
import type { TmApi, UacRequest } from '../../modules/tm/api.js';
import { rpc } from '../../modules/dispatcher/rpc.js';
import { updateState } from '../../modules/dispatcher/state.js';
import { harness, invite, listFile, type Harness } from './helpers.js';
import { writeFileSync } from 'node:fs';

const G1 = 'sip:10.0.0.1:5060';
const G2 = 'sip:10.0.0.2:5060';
const G3 = 'sip:10.0.0.3:5060';
const info = { code: 408, reason: 'Timeout', flags: 0 };

let h: Harness | null = null;

function varOf(hh: Harness, name: string): unknown {
  const v = hh.script.vars;
  return v.values[v.slot(name)];
}
afterEach(async () => {
  await h?.close();
  h = null;
});

const ROUTES = `
request_route {
  if (!ds_select_dst("1", "8")) { sl_send_reply("503", "none"); exit; }
  $var(a) = $xavp(_dsdst_=>attrs);
  exit;
}
failure_route[NEXT] {
  ds_mark_dst("ip");
  if (ds_next_dst()) { sl_send_reply("180", "$du"); exit; }
  sl_send_reply("500", "no more");
}
failure_route[NEXTDOM] {
  if (ds_next_domain()) { sl_send_reply("181", "$ru"); exit; }
  sl_send_reply("500", "no more");
}
event_route[dispatcher:dst-down] { xlog("L_INFO", "down $ru $dsv(code)\\n"); $var(down) = "down $ru $dsv(code)"; }
event_route[dispatcher:dst-up] { $var(up) = "up $ru"; }
`;

async function setup(lines: string[], params = ''): Promise<Harness> {
  const f = listFile(lines);
  h = await harness(`modparam("dispatcher", "list_file", "${f}")\nmodparam("dispatcher", "attrs_pvname", "$var(dsattrs)")\n${params}`, ROUTES);
  return h;
}

describe('failover list', () => {
  it('ds_next_dst in failure_route walks the remaining gateways in order', async () => {
    const hh = await setup([`1 ${G1} 0 3 carrier=a`, `1 ${G2} 0 2 carrier=b`, `1 ${G3} 0 1 carrier=c`]);
    const ctx = await hh.run(invite());
    expect(ctx.dstUri).toBe(G1);
    const f1 = await hh.failure('NEXT', ctx);
    expect(f1.dstUri).toBe(G2);
    const f2 = await hh.failure('NEXT', f1);
    expect(f2.dstUri).toBe(G3);
    const f3 = await hh.failure('NEXT', f2);
    const codes = hh.rec.replies.map((r) => r.code);
    expect(codes).toEqual([180, 180, 500]);
    void f3;
  });

  it('ds_mark_dst("ip") takes the failed gateway out and runs event_route[dispatcher:dst-down]', async () => {
    const hh = await setup([`1 ${G1} 0 3`, `1 ${G2} 0 2`]);
    const ctx = await hh.run(invite());
    await hh.failure('NEXT', ctx, 503);
    const d1 = hh.st.sets.get(1)!.dests[0]!;
    expect(d1.flags).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
    expect(varOf(hh, 'down')).toBe(`down ${G1} 503`);
    // the next call skips it
    expect((await hh.run(invite('c2'))).dstUri).toBe(G2);
  });

  it('the limit argument caps the failover list', async () => {
    const f = listFile([`1 ${G1} 0 3`, `1 ${G2} 0 2`, `1 ${G3} 0 1`]);
    h = await harness(`modparam("dispatcher", "list_file", "${f}")`, ROUTES.replace('ds_select_dst("1", "8")', 'ds_select_dst("1", "8", "2")'));
    const ctx = await h.run(invite());
    const f1 = await h.failure('NEXT', ctx);
    expect(f1.dstUri).toBe(G2);
    await h.failure('NEXT', f1);
    expect(h.rec.replies.map((r) => r.code)).toEqual([180, 500]);
  });

  it('ds_next_domain rewrites the R-URI host instead of $du', async () => {
    const hh = await setup([`1 ${G1} 0 3`, `1 ${G2} 0 2`]);
    const ctx = await hh.run(invite('c1', { ruri: 'sip:4420@carrier.test' }));
    const f1 = await hh.failure('NEXTDOM', ctx);
    expect(f1.ruri).toBe('sip:4420@10.0.0.2:5060');
  });

  it('exposes the chosen attributes in $xavp(_dsdst_=>attrs) and attrs_pvname', async () => {
    const hh = await setup([`1 ${G1} 0 3 account=acme;weight=5`]);
    const ctx = await hh.run(invite());
    expect(ctx.dstUri).toBe(G1);
    expect(varOf(hh, 'a')).toBe('account=acme;weight=5');
    expect(varOf(hh, 'dsattrs')).toBe('account=acme;weight=5');
  });
});

describe('state machine', () => {
  it('trying counts failures up to ds_probing_threshold, then inactive', async () => {
    const hh = await setup([`1 ${G1}`], 'modparam("dispatcher", "ds_probing_threshold", 3)');
    const d = () => hh.st.sets.get(1)!.dests[0]!;
    updateState(hh.st, 1, G1, DsFlag.TRYING, 0, info);
    updateState(hh.st, 1, G1, DsFlag.TRYING, 0, info);
    expect(d().flags).toBe(DsFlag.TRYING);
    updateState(hh.st, 1, G1, DsFlag.TRYING, 0, info);
    expect(d().flags).toBe(DsFlag.INACTIVE);
  });

  it('inactive needs ds_inactive_threshold successes to come back, then dst-up runs', async () => {
    const hh = await setup([`1 ${G1} 1`], 'modparam("dispatcher", "ds_inactive_threshold", 2)');
    const d = () => hh.st.sets.get(1)!.dests[0]!;
    updateState(hh.st, 1, G1, DsFlag.PROBING, 0, { code: 200, reason: 'OK', flags: 1 });
    expect(d().flags).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
    updateState(hh.st, 1, G1, DsFlag.PROBING, 0, { code: 200, reason: 'OK', flags: 1 });
    expect(d().flags).toBe(DsFlag.PROBING);
    expect(varOf(hh, 'up')).toBe(`up ${G1}`);
  });

  it('keepalive outcomes: mode 1 probes everything; a timeout makes it trying, then inactive', async () => {
    const hh = await setup([`1 ${G1}`], 'modparam("dispatcher", "ds_probing_mode", 1)\nmodparam("dispatcher", "ds_probing_threshold", 2)');
    const d = () => hh.st.sets.get(1)!.dests[0]!;
    expect(shouldPing(1, d().flags)).toBe(true);
    onProbeResult(hh.st, 1, G1, 408, 'Request Timeout', false);
    expect(d().flags).toBe(DsFlag.TRYING | DsFlag.PROBING);
    onProbeResult(hh.st, 1, G1, 408, 'Request Timeout', false);
    expect(d().flags).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
    onProbeResult(hh.st, 1, G1, 200, 'OK', true);
    expect(d().flags).toBe(DsFlag.PROBING);
  });

  it('sends keepalives through tm and applies the outcome; nothing breaks without tm', async () => {
    const hh = await setup([`1 ${G1} 8`, `1 ${G2} 8`], 'modparam("dispatcher", "ds_probing_mode", 3)');
    pingRound(hh.st); // no tm bound: logged once, no probe
    expect(hh.st.noTmWarned).toBe(true);
    const sent: UacRequest[] = [];
    const fake = {
      sendRequest: async (r: UacRequest) => {
        sent.push(r);
        return r.ruri === G1 ? { code: 408, reason: 'Request Timeout', reply: null } : { code: 200, reason: 'OK', reply: null };
      },
    } as unknown as TmApi;
    hh.st.tm = () => fake;
    pingRound(hh.st);
    await new Promise((r) => setTimeout(r, 10));
    expect(sent.map((r) => [r.method, r.ruri, r.to, r.from]).sort()).toEqual([
      ['OPTIONS', G1, G1, 'sip:dispatcher@localhost'],
      ['OPTIONS', G2, G2, 'sip:dispatcher@localhost'],
    ]);
    const flags = () => hh.st.sets.get(1)!.dests.map((d) => [d.uri, d.flags]).sort();
    expect(flags()).toEqual([
      [G1, DsFlag.INACTIVE | DsFlag.PROBING],
      [G2, DsFlag.PROBING],
    ]);
    expect(varOf(hh, 'down')).toBe(`down ${G1} 408`);
  });

  it('mode 0 probes only flagged destinations; disabled ones never', () => {
    expect(shouldPing(0, 0)).toBe(false);
    expect(shouldPing(0, DsFlag.PROBING)).toBe(true);
    expect(shouldPing(1, DsFlag.DISABLED)).toBe(false);
    expect(shouldPing(2, DsFlag.PROBING)).toBe(false);
    expect(shouldPing(2, DsFlag.PROBING | DsFlag.INACTIVE)).toBe(true);
  });

  it('a probe reply that is not accepted counts as a failure; accepted codes as success', async () => {
    const hh = await setup([`1 ${G1}`], 'modparam("dispatcher", "ds_probing_mode", 1)\nmodparam("dispatcher", "ds_ping_reply_codes", "code=403")');
    const d = () => hh.st.sets.get(1)!.dests[0]!;
    onProbeResult(hh.st, 1, G1, 403, 'Forbidden', true);
    expect(d().flags).toBe(DsFlag.PROBING);
    onProbeResult(hh.st, 1, G1, 500, 'Server Error', true);
    expect(d().flags).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
  });
});

describe('ds_is_from_list, ds_is_active, ds_list_exists', () => {
  it('matches the source address and sets setid_pvname', async () => {
    const f = listFile([`1 ${G1}`, `2 sip:10.0.0.9:5080 0 0 carrier=x`]);
    h = await harness(
      `modparam("dispatcher", "list_file", "${f}")\nmodparam("dispatcher", "setid_pvname", "$var(setid)")`,
      `request_route {
        if (ds_is_from_list()) { sl_send_reply("200", "set $var(setid)"); exit; }
        if (ds_is_from_list("2", "3")) { sl_send_reply("201", "any port"); exit; }
        if (ds_list_exists("2") && !ds_list_exists("5") && ds_is_active("1")) { sl_send_reply("403", "not a gateway"); exit; }
      }`,
    );
    await h.run(undefined, '10.0.0.9:5080');
    await h.run(undefined, '10.0.0.9:6000');
    await h.run(undefined, "10.0.0.1:5060");
    await h.run(undefined, '10.0.0.77:5060');
    expect(h.rec.replies.map((r) => `${r.code} ${r.reason}`)).toEqual(['200 set 2', '201 any port', '200 set 1', '403 not a gateway']);
  });
});

describe('RPC', () => {
  it('dispatcher.list shows flags, priority and attributes', async () => {
    const hh = await setup([`1 ${G1} 8 5 weight=10;duid=gw1`, `1 ${G2} 1`]);
    const out = rpc['dispatcher.list']!.run(hh.st, []) as { NRSETS: number; RECORDS: { SET: { ID: number; TARGETS: { DEST: Record<string, unknown> }[] } }[] };
    expect(out.NRSETS).toBe(1);
    const t = out.RECORDS[0]!.SET.TARGETS.map((x) => x.DEST);
    expect(t[0]).toMatchObject({ URI: G1, FLAGS: 'AP', PRIORITY: 5, ATTRS: { BODY: 'weight=10;duid=gw1', WEIGHT: 10, DUID: 'gw1' } });
    expect(t[1]).toMatchObject({ URI: G2, FLAGS: 'IX' });
  });

  it('dispatcher.set_state changes states, including "all"', async () => {
    const hh = await setup([`1 ${G1}`, `1 ${G2}`]);
    await rpc['dispatcher.set_state']!.run(hh.st, ['ip', 1, G1]);
    expect(hh.st.sets.get(1)!.dests.find((d) => d.uri === G1)!.flags).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
    await rpc['dispatcher.set_state']!.run(hh.st, ['d', 1, 'all']);
    expect(hh.st.sets.get(1)!.dests.every((d) => d.flags === DsFlag.DISABLED)).toBe(true);
    await expect(Promise.resolve().then(() => rpc['dispatcher.set_state']!.run(hh.st, ['x', 1, G1]))).rejects.toThrow(/state/);
    await expect(Promise.resolve().then(() => rpc['dispatcher.set_state']!.run(hh.st, ['a', 9, G1]))).rejects.toThrow(/not found/);
  });

  it('dispatcher.reload picks up changes and keeps the last good list on a bad file', async () => {
    const f = listFile([`1 ${G1}`]);
    h = await harness(`modparam("dispatcher", "list_file", "${f}")\nmodparam("dispatcher", "reload_delta", 0)`, 'request_route { exit; }');
    writeFileSync(f, `1 ${G1}\n1 ${G2}\n`);
    expect(await rpc['dispatcher.reload']!.run(h.st, [])).toBe('Ok');
    expect(h.st.sets.get(1)!.dests.length).toBe(2);
    writeFileSync(f, `1 ${G1}\nnot a line\n`);
    await expect(rpc['dispatcher.reload']!.run(h.st, [])).rejects.toThrow(/Reload failed.*:2/);
    writeFileSync(f, '# empty\n');
    await expect(rpc['dispatcher.reload']!.run(h.st, [])).rejects.toThrow(/no destinations/);
    writeFileSync(f, '1 sip:gw.nowhere.invalid\n');
    await expect(rpc['dispatcher.reload']!.run(h.st, [])).rejects.toThrow(/usable/);
    expect(h.st.sets.get(1)!.dests.map((d) => d.uri)).toEqual([G2, G1]);
  });

  it('reload_delta rate-limits reloads', async () => {
    const f = listFile([`1 ${G1}`]);
    h = await harness(`modparam("dispatcher", "list_file", "${f}")`, 'request_route { exit; }');
    await rpc['dispatcher.reload']!.run(h.st, []);
    await expect(rpc['dispatcher.reload']!.run(h.st, [])).rejects.toThrow(/reload_delta/);
  });

  it('dispatcher.add / remove change the in-memory list; ping_active toggles keepalives', async () => {
    const hh = await setup([`1 ${G1}`]);
    await rpc['dispatcher.add']!.run(hh.st, [3, G3, 0, 0, 'weight=5']);
    expect(hh.st.sets.get(3)!.dests[0]!.attrs.weight).toBe(5);
    await rpc['dispatcher.remove']!.run(hh.st, [3, G3]);
    expect(hh.st.sets.has(3)).toBe(false);
    expect(rpc['dispatcher.ping_active']!.run(hh.st, [0])).toEqual({ NewPingState: 0, OldPingState: 1 });
    expect(hh.st.pingActive).toBe(false);
  });
});
