// dispatcher and permissions commands over the real control socket (JSON-RPC, as kamcmd):
// list states, set a state and see selection follow it, toggle keepalives, reload and dump
// the address list — and a bad reload answered with an error while the old data stays.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../src/ctl/rpc-client.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { startControlled, type ControlledProxy } from '../control/helpers.js';

let p: ControlledProxy;
let peer: UdpPeer;
let gw: UdpPeer;
const call = (method: string, params: unknown[] = []) => rpcCall(p.socket, method, params, 10000);

beforeAll(async () => {
  gw = await UdpPeer.open();
  peer = await UdpPeer.open();
  p = await startControlled((dir) => {
    writeFileSync(join(dir, 'dispatcher.list'), `1 sip:127.0.0.1:${gw.port} 0 10 weight=10\n1 sip:127.0.0.1:9 0 5 weight=1\n`);
    writeFileSync(join(dir, 'address.list'), '1 127.0.0.1 32 0 local\n');
    return `#!KAMAILIO
loadmodule "sl.so"
loadmodule "jsonrpcs.so"
loadmodule "dispatcher.so"
loadmodule "permissions.so"
modparam("dispatcher", "list_file", "dispatcher.list")
modparam("dispatcher", "reload_delta", 0)
modparam("permissions", "address_file", "address.list")
modparam("permissions", "reload_delta", 0)
request_route {
	if (!allow_source_address("1")) { sl_send_reply("403", "Forbidden"); exit; }
	if (!ds_select_dst("1", "8")) { sl_send_reply("503", "No gateway"); exit; }
	forward();
}
`;
  });
}, 30000);

afterAll(async () => {
  peer?.close();
  gw?.close();
  await p?.stop();
});

interface ListOut {
  NRSETS: number;
  RECORDS: { SET: { ID: number; TARGETS: { DEST: { URI: string; FLAGS: string; PRIORITY: number } }[] } }[];
}

describe('dispatcher over the control socket', () => {
  it('dispatcher.list shows the sets and states', async () => {
    const out = (await call('dispatcher.list')) as ListOut;
    expect(out.NRSETS).toBe(1);
    expect(out.RECORDS[0]!.SET.TARGETS.map((t) => `${t.DEST.URI} ${t.DEST.FLAGS}`)).toEqual([
      `sip:127.0.0.1:${gw.port} AX`,
      'sip:127.0.0.1:9 AX',
    ]);
  });

  it('dispatcher.set_state takes a gateway out of selection and back', async () => {
    const uri = `sip:127.0.0.1:${gw.port}`;
    await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@127.0.0.1', port: peer.port, callId: 'rpc-1@t' }), p.port);
    expect((await gw.next((m) => m.text.includes('rpc-1@t'))).text).toMatch(/^OPTIONS /);
    expect(await call('dispatcher.set_state', ['i', 1, uri])).toBe('Ok');
    const out = (await call('dispatcher.list')) as ListOut;
    expect(out.RECORDS[0]!.SET.TARGETS[0]!.DEST.FLAGS).toBe('IX');
    await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@127.0.0.1', port: peer.port, callId: 'rpc-2@t' }), p.port);
    expect(await gw.nothing((m) => m.text.includes('rpc-2@t'), 400)).toBe(true);
    await call('dispatcher.set_state', ['a', 1, uri]);
    await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@127.0.0.1', port: peer.port, callId: 'rpc-3@t' }), p.port);
    await gw.next((m) => m.text.includes('rpc-3@t'));
  });

  it('dispatcher.ping_active and a bad set_state', async () => {
    expect(await call('dispatcher.ping_active', [0])).toEqual({ NewPingState: 0, OldPingState: 1 });
    await expect(call('dispatcher.set_state', ['zz', 1, 'all'])).rejects.toThrow(/state/);
  });

  it('dispatcher.reload with a broken file answers an error and keeps the sets', async () => {
    writeFileSync(join(p.dir, 'dispatcher.list'), 'garbage line\n');
    await expect(call('dispatcher.reload')).rejects.toThrow(/Reload failed/);
    expect(((await call('dispatcher.list')) as ListOut).RECORDS[0]!.SET.TARGETS.length).toBe(2);
  });
});

describe('permissions over the control socket', () => {
  it('addressDump, then addressReload after the file changed', async () => {
    expect(await call('permissions.addressDump')).toEqual([{ table: 'address', group: 1, ip: '127.0.0.1', port: 0, tag: 'local' }]);
    writeFileSync(join(p.dir, 'address.list'), '1 10.0.0.0 8 0 elsewhere\n');
    expect(await call('permissions.addressReload')).toMatch(/Reload OK/);
    expect(await call('permissions.subnetDump')).toEqual([{ id: 0, group: 1, ip: '10.0.0.0', mask: 8, port: 0, tag: 'elsewhere' }]);
    await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@127.0.0.1', port: peer.port, callId: 'rpc-4@t' }), p.port);
    const r = await peer.next((m) => m.text.includes('rpc-4@t'));
    expect(statusOf(r.text)).toBe(403);
  });
});
