// Debian's real `kamcmd` (BINRPC) against a running tser, over the ctl unix socket and
// ctl's TCP address: every method family prints in Kamailio 5.6's layout (structs as
// "{ name: value }", several values one per line, faults as "error: CODE - text"), and
// malformed BINRPC (wrong magic, truncated, giant length, bad records) gets a fault or a
// closed connection while the proxy keeps serving.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest, parseHeader, readRecords } from '../../src/control/binrpc.js';
import { freePort } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { startControlled, type ControlledProxy } from './helpers.js';

const cfg = (dir: string, tcpPort: number) => {
  writeFileSync(join(dir, 'dispatcher.list'), '1 sip:127.0.0.1:5090 0 0 gw1\n1 sip:127.0.0.1:5091\n2 sip:127.0.0.1:5092\n');
  writeFileSync(join(dir, 'address.list'), '1 127.0.0.1 32 0 tag1\n');
  return `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "dispatcher.so"
loadmodule "permissions.so"
loadmodule "cfg_rpc.so"
loadmodule "kex.so"
loadmodule "ctl.so"
modparam("ctl", "binrpc", "unix:${dir}/kamailio_ctl")
modparam("ctl", "binrpc", "tcp:127.0.0.1:${tcpPort}")
modparam("dispatcher", "list_file", "${dir}/dispatcher.list")
modparam("permissions", "address_file", "${dir}/address.list")

request_route {
	if (is_method("REGISTER")) { save("location"); exit; }
	sl_send_reply("404", "Not Found");
}
`;
};

let p: ControlledProxy;
let tcpPort: number;

/** run kamcmd against tser; stdout (kamcmd exits 0 on faults too, printing "error: ...") */
function kamcmd(args: string[], target = `unix:${p.socket}`): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('kamcmd', ['-s', target, ...args], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kamcmd ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  tcpPort = await freePort();
  p = await startControlled((dir) => cfg(dir, tcpPort));
});

afterAll(async () => {
  await p.stop();
});

describe('kamcmd over the ctl unix socket', () => {
  it('core.uptime / core.version / core.ps / core.psx print as in Kamailio', async () => {
    expect(await kamcmd(['core.uptime'])).toMatch(/^\{\n\tnow: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n\tup_since: .+\n\tuptime: \d+\n\}\n$/);
    expect(await kamcmd(['core.version'])).toMatch(/^tser \d+\.\d+\.\d+/);
    expect(await kamcmd(['core.ps'])).toBe(`${process.pid}\nmain process - SIP receivers (udp, tcp), timers, control\n`);
    expect(await kamcmd(['core.psx'])).toMatch(new RegExp(`^\\{\\n\\tIDX: 0\\n\\tPID: ${process.pid}\\n\\tDSC: main process`));
  });

  it('system.listMethods lists one method per line; system.methodHelp', async () => {
    const names = (await kamcmd(['system.listMethods'])).trim().split('\n');
    for (const m of ['core.uptime', 'ul.dump', 'stats.get_statistics', 'dispatcher.list', 'permissions.addressDump', 'cfg.get', 'tm.stats', 'system.methodHelp'])
      expect(names).toContain(m);
    expect(await kamcmd(['system.methodHelp', 'ul.rm'])).toMatch(/AOR/);
  });

  it('ul.add with int and double arguments, ul.dump / ul.lookup nest like Kamailio, ul.rm', async () => {
    expect(await kamcmd(['ul.add', 'location', 'alice@example.com', 'sip:alice@10.0.0.1:5060', '600', '0.5', '0', '0', '0'])).not.toMatch(/error/);
    const dump = await kamcmd(['ul.dump']);
    expect(dump).toMatch(/^\{\n\tDomains: \{\n\t\tDomain: \{\n\t\t\tDomain: location\n/);
    expect(dump).toMatch(/\t\t\tAoRs: \{\n\t\t\t\tInfo: \{\n\t\t\t\t\tAoR: alice\n/);
    expect(dump).toMatch(/\t\t\t\t\t\tContact: \{\n\t\t\t\t\t\t\tAddress: sip:alice@10\.0\.0\.1:5060\n\t\t\t\t\t\t\tExpires: (599|600)\n\t\t\t\t\t\t\tQ: 0\.500000\n/);
    const look = await kamcmd(['ul.lookup', 'location', 'alice@example.com']);
    expect(look).toMatch(/^\{\n\tAoR: alice\n\tContacts: \{\n\t\tContact: \{\n\t\t\tAddress: sip:alice@10\.0\.0\.1:5060\n/);
    await kamcmd(['ul.rm', 'location', 'alice@example.com']);
    expect(await kamcmd(['ul.lookup', 'location', 'alice@example.com'])).toMatch(/^error: 404 - /);
  });

  it('a REGISTER through the proxy shows up in ul.dump', async () => {
    const peer = await UdpPeer.open();
    try {
      await peer.send(
        request({ method: 'REGISTER', ruri: 'sip:example.com', from: '<sip:bob@example.com>', to: '<sip:bob@example.com>', port: peer.port, callId: 'kamcmd-reg' }),
        p.port,
      );
      expect(statusOf((await peer.next((m) => m.text.includes('kamcmd-reg'))).text)).toBe(200);
    } finally {
      peer.close();
    }
    expect(await kamcmd(['ul.dump', 'brief'])).toMatch(/AoR: bob\n/);
  });

  it('stats.get_statistics prints "group:name = N" lines; stats.fetch a struct', async () => {
    const all = await kamcmd(['stats.get_statistics', 'all']);
    expect(all).toMatch(/^core:rcv_requests = \d+$/m);
    expect(all).toMatch(/^sl:sent_replies = \d+$/m);
    expect(await kamcmd(['stats.get_statistics', 'sl:'])).toMatch(/^sl:\w+ = \d+\n/);
    expect(await kamcmd(['stats.fetch', 'sl:'])).toMatch(/^\tsl\.sent_replies: \d+$/m);
  });

  it('dispatcher.list nests sets and targets as Kamailio; dispatcher.set_state', async () => {
    const list = await kamcmd(['dispatcher.list']);
    expect(list).toMatch(/^\{\n\tNRSETS: 2\n\tRECORDS: \{\n\t\tSET: \{\n\t\t\tID: \d\n\t\t\tTARGETS: \{\n\t\t\t\tDEST: \{\n\t\t\t\t\tURI: sip:127\.0\.0\.1:509\d\n\t\t\t\t\tFLAGS: AX\n/);
    expect(list).toMatch(/\t\t\t\t\tATTRS: \{\n\t\t\t\t\t\tBODY: gw1\n/);
    expect(await kamcmd(['dispatcher.set_state', 'ip', '1', 'sip:127.0.0.1:5091'])).not.toMatch(/error/);
    expect(await kamcmd(['dispatcher.list'])).toMatch(/URI: sip:127\.0\.0\.1:5091\n\t+FLAGS: IP/);
  });

  it('permissions.addressDump, tm.stats, cfg.get / cfg.seti', async () => {
    expect(await kamcmd(['permissions.addressDump'])).toMatch(/ip: 127\.0\.0\.1\n/);
    expect(await kamcmd(['tm.stats'])).toMatch(/^\{\n\tcurrent: \d+\n\twaiting: \d+\n\ttotal: \d+\n/);
    expect(await kamcmd(['cfg.get', 'core', 'debug'])).toMatch(/^-?\d+\n$/);
    await kamcmd(['cfg.seti', 'core', 'debug', '3']);
    expect(await kamcmd(['cfg.get', 'core', 'debug'])).toBe('3\n');
  });

  it('faults print as Kamailio: unknown method, bad params', async () => {
    expect(await kamcmd(['no.such'])).toBe('error: 500 - command no.such not found\n');
    expect(await kamcmd(['ul.lookup'])).toMatch(/^error: 400 - /);
  });
});

describe('kamcmd interactive mode (one connection, several requests)', () => {
  it('answers each command typed, with kamcmd\'s built-in aliases', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('kamcmd', ['-s', `unix:${p.socket}`], { timeout: 10000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin!.end('core.version\nps\nsystem.methodHelp core.uptime\nquit\n');
    });
    expect(out).toMatch(/kamcmd> core\.version\ntser \d/);
    expect(out).toContain(`kamcmd> ps\n${process.pid}\tmain process`);
    expect(out).toMatch(/kamcmd> system\.methodHelp core\.uptime\nCurrent time/);
  });
});

describe('kamcmd over ctl tcp', () => {
  it('answers on tcp:127.0.0.1:PORT', async () => {
    expect(await kamcmd(['core.version'], `tcp:127.0.0.1:${tcpPort}`)).toMatch(/^tser /);
  });
});

/** write raw bytes, read until the peer closes or `ms` passes */
function raw(bytes: Buffer, ms = 1500): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(p.socket);
    const chunks: Buffer[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(t);
      c.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const t = setTimeout(done, ms);
    c.on('connect', () => c.write(bytes));
    c.on('data', (d) => chunks.push(d));
    c.on('close', () => {
      closed = true;
      done();
    });
    c.on('error', () => undefined);
  });
}

describe('bad BINRPC input', () => {
  it('a wrong version closes the connection; a giant length gets a fault; bad records get a fault', async () => {
    expect((await raw(Buffer.from([0xa7, 0x00, 0x01, 0x01, 0x00]))).closed).toBe(true);

    const giant = await raw(Buffer.from([0xa1, 0x03 << 2 | 0, 0x7f, 0xff, 0xff, 0xff, 0x42]));
    expect(parseHeader(giant.data)).toMatchObject({ type: 3, cookie: 0x42 });
    expect(giant.closed).toBe(true);

    const badBody = Buffer.from([0xa1, 0x00, 0x02, 0x09, 0x0e, 0x00]); // record of unknown type 14
    const r = await raw(badBody);
    const h = parseHeader(r.data)!;
    expect(h).toMatchObject({ type: 3, cookie: 9 });
    expect(readRecords(r.data.subarray(h.headerLength))[0]).toEqual({ kind: 'value', value: 400 });
  });

  it('a truncated packet is answered once the rest arrives, pipelined requests in order', async () => {
    const a = encodeRequest(1, 'core.version', []);
    const b = encodeRequest(2, 'no.such', []);
    const both = Buffer.concat([a, b]);
    const r = await new Promise<Buffer>((resolve) => {
      const c = net.connect(p.socket);
      const chunks: Buffer[] = [];
      c.on('connect', () => {
        c.write(both.subarray(0, 5));
        setTimeout(() => c.write(both.subarray(5)), 100);
      });
      c.on('data', (d) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        const h1 = parseHeader(all);
        if (!h1) return;
        const h2 = parseHeader(all.subarray(h1.headerLength + h1.bodyLength));
        if (h2 && all.length >= h1.headerLength + h1.bodyLength + h2.headerLength + h2.bodyLength) {
          c.destroy();
          resolve(all);
        }
      });
    });
    const h1 = parseHeader(r)!;
    expect(h1).toMatchObject({ type: 1, cookie: 1 });
    expect(parseHeader(r.subarray(h1.headerLength + h1.bodyLength))).toMatchObject({ type: 3, cookie: 2 });
  });

  it('the proxy and kamcmd keep working afterwards; JSON-RPC still works on the same socket', async () => {
    expect(await kamcmd(['core.version'])).toMatch(/^tser /);
    const peer = await UdpPeer.open();
    try {
      await peer.send(request({ method: 'OPTIONS', ruri: 'sip:x@example.com', port: peer.port, callId: 'kamcmd-after' }), p.port);
      expect(statusOf((await peer.next((m) => m.text.includes('kamcmd-after'))).text)).toBe(404);
    } finally {
      peer.close();
    }
    expect(await p.control.call('core.version')).toMatch(/^tser /);
    const { rpcCall } = await import('../../src/ctl/rpc-client.js');
    expect(await rpcCall(p.socket, 'core.version', [], 5000)).toMatch(/^tser /);
  });
});
