// Live reload against an in-process proxy on real UDP: a valid change shows up on the wire,
// a broken or missing file changes nothing and reports every file:line:col, parameters
// that cannot change live are named and keep their value, reloads are single-flight, and
// a failed reload never blocks the next one.
import { renameSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReloadReport } from '../../src/control/reload.js';
import { RpcError } from '../../src/core/module-api.js';
import { rpcCall } from '../../src/ctl/rpc-client.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { startControlled, type ControlledProxy } from './helpers.js';

const cfg = (o: { code?: string; children?: number; maxLimit?: number; dbUrl?: string; extra?: string; debug?: number } = {}) => `
debug=${o.debug ?? 3}
children=${o.children ?? 4}
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
modparam("maxfwd", "max_limit", ${o.maxLimit ?? 70})
modparam("usrloc", "db_url", "${o.dbUrl ?? 'mysql://ser:heslo@localhost/ser'}")

route {
	if (method == "OPTIONS") {
		sl_send_reply("200", "OK");
		break;
	}
	route(1);
}

route[1] {
	sl_send_reply("${o.code ?? '404'}", "Reply ${o.code ?? '404'}");
}
${o.extra ?? ''}
`;

let p: ControlledProxy;
let peer: UdpPeer;
let n = 0;

async function invite(): Promise<number> {
  const callId = `rl-${++n}@test`;
  await peer.send(request({ method: 'INVITE', ruri: 'sip:bob@example.com', port: peer.port, callId }), p.port);
  return statusOf((await peer.next((m) => m.text.includes(callId))).text);
}

async function reloadFails(): Promise<RpcError> {
  try {
    await p.control.reloadNow('test');
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('reload did not fail');
}

beforeAll(async () => {
  p = await startControlled(cfg());
  peer = await UdpPeer.open();
});

afterAll(async () => {
  peer.close();
  await p.stop();
});

describe('cfg.reload', () => {
  it('a valid change: the new reply code appears on the wire and the report says what changed', async () => {
    expect(await invite()).toBe(404);
    const before = p.server.script().id;
    writeFileSync(p.file, cfg({ code: '486' }));
    const r = (await rpcCall(p.socket, 'cfg.reload')) as ReloadReport;
    expect(r).toMatchObject({
      ok: true,
      file: p.file,
      previous_script_id: before,
      routes: { modified: ['route[1]'], added: [], removed: [], unchanged: 1 },
      params: { applied: [], restart_required: [] },
    });
    expect(r.script_id).not.toBe(before);
    expect(r.swap_ms).toBeGreaterThanOrEqual(0);
    expect(r.load_ms).toBeGreaterThan(0);
    expect(await invite()).toBe(486);
  });

  it('routes added and removed are listed', async () => {
    writeFileSync(p.file, cfg({ code: '486', extra: 'route[2] { exit; }\nfailure_route[3] { exit; }' }));
    expect((await p.control.reloadNow('test')).routes).toMatchObject({ added: ['route[2]', 'failure_route[3]'], removed: [], modified: [] });
    writeFileSync(p.file, cfg({ code: '486', extra: 'route[2] { exit; }' }));
    expect((await p.control.reloadNow('test')).routes).toMatchObject({ added: [], removed: ['failure_route[3]'], modified: [] });
  });

  it('a broken file: every error with file:line:col, old behaviour remains, a later valid reload works', async () => {
    const broken = cfg({ code: '480' }).replace('route[1] {', 'route[1] {\n\tno_such_function("x");').replace('break;', 'break').replace(
      'children=4',
      'children=4\nno_such_param=1',
    );
    writeFileSync(p.file, broken);
    const e = await reloadFails();
    expect(e.rpcCode).toBe(500);
    expect(e.message).toMatch(/reload failed: \d+ errors? in .*the running script is unchanged/);
    const errors = (e.data as { errors: string[] }).errors;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    for (const line of errors) expect(line).toMatch(new RegExp(`^${p.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error`));
    expect((e.data as { diagnostics: string }).diagnostics).toContain(' --> ');
    expect(await invite()).toBe(486);

    // semantic errors only (the file parses): both are reported
    writeFileSync(p.file, cfg({ code: '480' }).replace('route[1] {', 'route[1] {\n\tno_such_function("x");').replace('children=4', 'children=4\nno_such_param=1'));
    const e2 = await reloadFails();
    const lines = (e2.data as { errors: string[] }).errors;
    expect(lines.some((l) => /:4:1: error\[TSER_E_UNKNOWN_PARAM\]/.test(l))).toBe(true);
    expect(lines.some((l) => /no_such_function/.test(l) && /:\d+:\d+: error/.test(l))).toBe(true);
    expect(await invite()).toBe(486);

    writeFileSync(p.file, cfg({ code: '480' }));
    await p.control.reloadNow('test');
    expect(await invite()).toBe(480);
  });

  it('a missing file fails cleanly and the next reload works', async () => {
    renameSync(p.file, `${p.file}.away`);
    const e = await reloadFails();
    expect(e.message).toMatch(/reload failed/);
    expect(JSON.stringify(e.data)).toMatch(/cannot read|no such file|ENOENT/i);
    expect(await invite()).toBe(480);
    renameSync(`${p.file}.away`, p.file);
    writeFileSync(p.file, cfg({ code: '486' }));
    await p.control.reloadNow('test');
    expect(await invite()).toBe(486);
  });

  it('parameters: live ones apply, restart-required ones are named and keep their value', async () => {
    writeFileSync(p.file, cfg({ code: '486', children: 8, maxLimit: 30, dbUrl: 'mysql://other@db/ser', debug: 4 }));
    const r = await p.control.reloadNow('test');
    expect(r.params.restart_required).toEqual(
      expect.arrayContaining([
        { scope: 'core', name: 'children', running: 4, configured: 8, why: 'restart required' },
        { scope: 'usrloc', name: 'db_url', running: 'mysql://ser:heslo@localhost/ser', configured: 'mysql://other@db/ser', why: 'restart required' },
      ]),
    );
    expect(r.params.applied).toEqual(
      expect.arrayContaining([
        { scope: 'maxfwd', name: 'max_limit', running: 70, configured: 30 },
        { scope: 'core', name: 'debug', running: 3, configured: 4 },
      ]),
    );
    expect(p.server.globalParam('children')).toBe(4);
    expect(p.server.modules.get('usrloc')!.params.db_url).toBe('mysql://ser:heslo@localhost/ser');
    expect(p.server.modules.get('maxfwd')!.params.max_limit).toBe(30);
    expect(await rpcCall(p.socket, 'cfg.get', ['maxfwd', 'max_limit'])).toBe(30);
    expect(p.server.log.level).toBe('debug');
    p.server.setLogLevel('silent');
    expect(await invite()).toBe(486);
    // the same file again: nothing left to apply; restart-required ones are still named
    const again = await p.control.reloadNow('test');
    expect(again.params.applied).toEqual([]);
    expect(again.params.restart_required.map((c) => `${c.scope}.${c.name}`)).toEqual(['core.children', 'usrloc.db_url']);
  });

  it('single-flight: a second reload while one runs is refused with a reason; the next one works', async () => {
    const [a, b] = await Promise.allSettled([p.control.reloadNow('first'), p.control.reloadNow('second')]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    const err = (b as PromiseRejectedResult).reason as RpcError;
    expect(err.rpcCode).toBe(503);
    expect(err.message).toMatch(/reload already in progress .*requested by first/);
    await expect(p.control.reloadNow('third')).resolves.toMatchObject({ ok: true });
    // over the socket too: two clients at once
    const results = await Promise.allSettled([rpcCall(p.socket, 'reload_routes'), rpcCall(p.socket, 'cfg.reload')]);
    expect(results.filter((x) => x.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    for (const x of results) if (x.status === 'rejected') expect(x.reason).toMatchObject({ rpcCode: 503 });
  });

  it('a module the new config loads is started live and its functions work', async () => {
    writeFileSync(
      p.file,
      cfg({ code: '486', children: 8, maxLimit: 30, dbUrl: 'mysql://other@db/ser', debug: 4 })
        .replace('loadmodule "sl.so"', 'loadmodule "sl.so"\nloadmodule "rr.so"')
        .replace('route(1);', 'if (loose_route()) { sl_send_reply("481", "Routed"); break; }\n\troute(1);'),
    );
    const r = await p.control.reloadNow('test');
    p.server.setLogLevel('silent');
    expect(r.modules.added).toEqual(['rr']);
    expect(p.server.modules.has('rr')).toBe(true);
    expect(await invite()).toBe(486);
  });

  it('a config whose dialect differs is refused (restart required)', async () => {
    writeFileSync(p.file, `#!KAMAILIO\n${cfg({ code: '499' })}`);
    const e = await reloadFails();
    expect(e.message).toMatch(/dialect change needs a restart/);
    expect(await invite()).toBe(486);
  });
});

describe('transactions in flight keep the script they started with', () => {
  const tmCfg = (route: string, code: string) => `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
request_route {
	if (is_method("ACK")) {
		exit;
	}
	t_on_failure("${route}");
	rewritehostport("127.0.0.1:UASPORT");
	t_relay();
}
failure_route[${route}] {
	t_reply("${code}", "failure route ${route}");
}
`;

  it('a reply after the reload runs the old failure route; new transactions run the new one', async () => {
    const uas = await UdpPeer.open();
    const uac = await UdpPeer.open();
    const cfgText = (r: string, c: string) => tmCfg(r, c).replace('UASPORT', String(uas.port));
    const q = await startControlled(cfgText('F', '480'));
    const { SipMessage, buildReply } = await import('../../src/sip/index.js');
    const relayed = (callId: string) => uas.next((m) => m.text.startsWith('INVITE') && m.text.includes(callId));
    const answer486 = async (inv: { text: string; from: { port: number } }) => {
      const msg = SipMessage.parse(Buffer.from(inv.text, 'latin1'));
      await uas.send(buildReply(msg, 486, 'Busy Here', { toTag: 'uas-tag' }), inv.from.port);
    };
    const final = async (callId: string) => {
      const r = await uac.next((m) => m.text.includes(callId) && statusOf(m.text) >= 300, 5000);
      return /^SIP\/2\.0 (\d+ .*)\r\n/.exec(r.text)![1];
    };
    try {
      const inviteA = request({ method: 'INVITE', ruri: 'sip:bob@example.com', port: uac.port, callId: 'inflight-A' });
      await uac.send(inviteA, q.port);
      // the UAS has the INVITE: the transaction is in flight
      const invA = await relayed('inflight-A');
      writeFileSync(q.file, cfgText('G', '481'));
      const r = await q.control.reloadNow('test');
      expect(r.routes).toMatchObject({ added: ['failure_route[G]'], removed: ['failure_route[F]'], modified: ['request_route'] });
      await answer486(invA);
      expect(await final('inflight-A')).toBe('480 failure route F');

      await uac.send(request({ method: 'INVITE', ruri: 'sip:bob@example.com', port: uac.port, callId: 'inflight-B' }), q.port);
      await answer486(await relayed('inflight-B'));
      expect(await final('inflight-B')).toBe('481 failure route G');
    } finally {
      uas.close();
      uac.close();
      await q.stop();
    }
  });
});
