// JSON-RPC over the unix control socket (and loopback TCP/UDP) against an in-process
// proxy: every core method, module methods found generically (usrloc ul.*), cfg get/set
// changing behaviour, and bad input (malformed JSON, unknown method, wrong params, a
// client that never sends) answered or timed out while the proxy keeps serving.
import dgram from 'node:dgram';
import net from 'node:net';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../src/ctl/rpc-client.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { freePort } from '../helpers/proxy.js';
import { rawExchange, sleep, startControlled, type ControlledProxy } from './helpers.js';

const CFG = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "jsonrpcs.so"
loadmodule "kex.so"
loadmodule "cfg_rpc.so"
modparam("usrloc", "preload", "location")
modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "udp:127.0.0.1:UDPPORT")
modparam("maxfwd", "max_limit", 70)

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	sl_send_reply("404", "Not Found");
}
`;

let p: ControlledProxy;
let udpPort: number;
let peer: UdpPeer;
const call = (method: string, params: unknown[] = []) => rpcCall(p.socket, method, params, 10000);

beforeAll(async () => {
  udpPort = await freePort();
  p = await startControlled(CFG.replace('UDPPORT', String(udpPort)), { idleTimeoutMs: 400 });
  peer = await UdpPeer.open();
});

afterAll(async () => {
  peer.close();
  await p.stop();
});

describe('control socket', () => {
  it('is a unix socket with mode 0600', () => {
    const st = statSync(p.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('core.version, core.uptime, core.ps, core.psx, core.info, core.echo', async () => {
    expect(await call('core.version')).toMatch(/^tser \d+\.\d+\.\d+/);
    const up = (await call('core.uptime')) as { now: string; up_since: string; uptime: number };
    expect(up.uptime).toBeGreaterThanOrEqual(0);
    expect(up.now).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    expect(await call('core.ps')).toEqual([process.pid, expect.stringMatching(/main process/)]);
    expect(await call('core.psx')).toEqual([{ IDX: 0, PID: process.pid, DSC: expect.any(String) }]);
    const info = (await call('core.info')) as Record<string, unknown>;
    expect(info).toMatchObject({ dialect: 'kamailio', file: p.file, pid: process.pid });
    expect(info.modules).toEqual(expect.arrayContaining(['sl', 'maxfwd', 'usrloc']));
    expect(await call('core.echo', ['a', 2, true])).toEqual(['a', 2, true]);
  });

  it('system.listMethods includes core and module methods; system.methodHelp', async () => {
    const names = (await call('system.listMethods')) as string[];
    expect(names).toEqual(expect.arrayContaining(['core.version', 'stats.get_statistics', 'cfg.reload', 'reload_routes', 'ul.dump', 'ul.lookup']));
    expect(await call('system.methodHelp', ['ul.rm'])).toMatch(/AOR/);
  });

  it('stats.get_statistics / fetch / reset_statistics count real traffic', async () => {
    await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${p.port}`, port: peer.port, callId: 'st-1' }), p.port);
    await peer.next((m) => m.text.includes('st-1'));
    const all = (await call('stats.get_statistics', ['all'])) as string[];
    expect(all).toContain('sl:2xx_replies = 1');
    expect(await call('stats.get_statistics', ['sl'])).toEqual(expect.arrayContaining(['sl:sent_replies = 1']));
    expect(await call('stats.fetch', ['sl:sent_replies'])).toEqual({ 'sl.sent_replies': 1 });
    expect(await call('stats.reset_statistics', ['sl:'])).toBeNull();
    expect(await call('stats.fetch', ['sl:sent_replies'])).toEqual({ 'sl.sent_replies': 0 });
  });

  it('ul.add / ul.lookup / ul.dump / ul.rm through the generic module dispatch', async () => {
    // usrloc's use_domain is 0: the AOR is the user part
    expect(await call('ul.add', ['location', 'alice@example.com', 'sip:alice@10.0.0.1:5060', 3600])).toMatchObject({ AoR: 'alice' });
    const l = (await call('ul.lookup', ['location', 'alice'])) as { Contacts: { Contact: { Address: string } }[] };
    expect(l.Contacts[0]!.Contact.Address).toBe('sip:alice@10.0.0.1:5060');
    expect(JSON.stringify(await call('ul.dump'))).toContain('sip:alice@10.0.0.1:5060');
    await call('ul.rm', ['location', 'alice']);
    await expect(call('ul.lookup', ['location', 'alice'])).rejects.toMatchObject({ rpcCode: 404 });
  });

  it('cfg.list / cfg.get / cfg.set: core debug and a live module parameter', async () => {
    const list = (await call('cfg.list')) as { group: string; name: string }[];
    expect(list).toEqual(expect.arrayContaining([expect.objectContaining({ group: 'core', name: 'debug' }), expect.objectContaining({ group: 'maxfwd', name: 'max_limit' })]));
    const level = p.server.log.level;
    await call('cfg.set', ['core', 'debug', -1]);
    expect(await call('cfg.get', ['core', 'debug'])).toBe(-1);
    expect(p.server.log.level).toBe('error');
    await call('cfg.seti', ['core', 'debug', 0]);
    expect(p.server.log.level).toBe('warn');
    p.server.setLogLevel(level);

    expect(await call('cfg.set', ['maxfwd', 'max_limit', 5])).toMatchObject({ old: 70, value: 5 });
    expect(await call('cfg.get', ['maxfwd', 'max_limit'])).toBe(5);
    expect(p.server.modules.get('maxfwd')!.params.max_limit).toBe(5);
    await expect(call('cfg.set', ['maxfwd', 'max_limit', 999])).rejects.toMatchObject({ rpcCode: -32602 });
    await expect(call('cfg.set', ['maxfwd', 'max_limit', 'abc'])).rejects.toMatchObject({ rpcCode: -32602 });
    await expect(call('cfg.get', ['maxfwd', 'nope'])).rejects.toMatchObject({ rpcCode: 404 });
    await call('cfg.set', ['maxfwd', 'max_limit', 70]);
  });

  it('unknown method → -32601; wrong params → -32602 or the module 400; the proxy keeps serving', async () => {
    await expect(call('no.such_method')).rejects.toMatchObject({ rpcCode: -32601 });
    await expect(call('cfg.get', [])).rejects.toMatchObject({ rpcCode: -32602 });
    await expect(call('ul.lookup', [])).rejects.toMatchObject({ rpcCode: 400 });
    await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${p.port}`, port: peer.port, callId: 'alive-1' }), p.port);
    expect(statusOf((await peer.next((m) => m.text.includes('alive-1'))).text)).toBe(200);
  });

  it('malformed JSON → -32700 on the same connection, which keeps working', async () => {
    const lines = await rawExchange(p.socket, '{"jsonrpc":"2.0","method": }\n{"jsonrpc":"2.0","method":"core.echo","params":[1],"id":9}\n', 2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ error: { code: -32700 }, id: null });
    expect(JSON.parse(lines[1]!)).toEqual({ jsonrpc: '2.0', result: [1], id: 9 });
    const more = await rawExchange(p.socket, 'garbage line\n{"jsonrpc":"2.0","method":"core.echo","params":[2],"id":10}', 2);
    expect(JSON.parse(more[0]!)).toMatchObject({ error: { code: -32700 } });
    expect(JSON.parse(more[1]!)).toEqual({ jsonrpc: '2.0', result: [2], id: 10 });
  });

  it('several requests on one connection are answered in order; a batch gets an array', async () => {
    const lines = await rawExchange(
      p.socket,
      '{"jsonrpc":"2.0","method":"core.echo","params":["a"],"id":1}{"jsonrpc":"2.0","method":"core.echo","params":["b"],"id":2}\n[{"jsonrpc":"2.0","method":"core.echo","params":["c"],"id":3}]\n',
      3,
    );
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { jsonrpc: '2.0', result: ['a'], id: 1 },
      { jsonrpc: '2.0', result: ['b'], id: 2 },
      [{ jsonrpc: '2.0', result: ['c'], id: 3 }],
    ]);
  });

  it('closes a client that connects and never sends (idle timeout)', async () => {
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const c = net.connect(p.socket);
      c.on('close', () => resolve(Date.now() - t0));
      c.on('error', reject);
      setTimeout(() => reject(new Error('not closed')), 5000).unref();
    });
    expect(closedAfter).toBeGreaterThanOrEqual(300);
    // also a client that sends half a request
    const half = await new Promise<boolean>((resolve) => {
      const c = net.connect(p.socket, () => c.write('{"jsonrpc":"2.0","meth'));
      c.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000).unref();
    });
    expect(half).toBe(true);
    expect(await call('core.echo', [1])).toEqual([1]);
  });

  it('JSON-RPC over the jsonrpcs UDP socket on loopback', async () => {
    const s = dgram.createSocket('udp4');
    const reply = await new Promise<string>((resolve, reject) => {
      s.on('message', (m) => resolve(m.toString()));
      s.send('{"jsonrpc":"2.0","method":"core.echo","params":["udp"],"id":5}', udpPort, '127.0.0.1', (e) => e && reject(e));
      setTimeout(() => reject(new Error('no udp reply')), 3000).unref();
    });
    s.close();
    expect(JSON.parse(reply)).toEqual({ jsonrpc: '2.0', result: ['udp'], id: 5 });
    expect(p.control.listening.find((l) => l.endpoint.kind === 'udp')?.where).toBe(`udp:127.0.0.1:${udpPort}`);
    expect(await rpcCall(`udp:127.0.0.1:${udpPort}`, 'core.echo', ['x'])).toEqual(['x']);
  });
});

describe('ctl binrpc on TCP', () => {
  it('listens on 127.0.0.1 for "tcp:PORT" and serves JSON-RPC there', async () => {
    const port = await freePort();
    const q = await startControlled(`#!KAMAILIO\nloadmodule "ctl.so"\nmodparam("ctl", "binrpc", "tcp:${port}")\nrequest_route { exit; }\n`);
    try {
      const tcp = q.control.listening.find((l) => l.endpoint.kind === 'tcp')!;
      expect(tcp.where).toBe(`tcp:127.0.0.1:${port}`);
      const lines = await rawExchange({ port }, '{"jsonrpc":"2.0","method":"core.echo","params":[7],"id":1}\n');
      expect(JSON.parse(lines[0]!)).toEqual({ jsonrpc: '2.0', result: [7], id: 1 });
      // the -s override path still gets the unix socket
      expect(await rpcCall(q.socket, 'core.echo', [8])).toEqual([8]);
      await sleep(10);
    } finally {
      await q.stop();
    }
  });
});

describe('ctl mode', () => {
  it('sets the permissions of the unix control socket', async () => {
    const q = await startControlled(`#!KAMAILIO\nloadmodule "ctl.so"\nmodparam("ctl", "mode", 0660)\nrequest_route { exit; }\n`);
    try {
      expect(statSync(q.socket).mode & 0o777).toBe(0o660);
      expect(await rpcCall(q.socket, 'core.echo', ['m'])).toEqual(['m']);
    } finally {
      await q.stop();
    }
  });
});
