// The SER 0.9 FIFO of a spawned tser (`fifo=` in the config), serctl style: every built-in
// command, usrloc commands, reload, the jsonrpcs JSON-RPC FIFO, and bad input (unknown
// command, missing / non-FIFO / forbidden reply FIFO, incomplete request) that leaves the
// proxy serving. SIGHUP reloads; `kill` stops the daemon.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, spawnTser, tempDir, type ChildProxy } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { fifoRequest, serCmd, sleep } from './helpers.js';

let dir: string;
let file: string;
let fifo: string;
let rpcFifo: string;
let port: number;
let tser: ChildProxy;
let peer: UdpPeer;
let n = 0;

const cfg = (code: string, extra = '') => `
fifo="${join('DIR', 'ser_fifo')}"
fifo_dir="DIR"
listen=udp:127.0.0.1:PORT
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "jsonrpcs.so"
modparam("usrloc", "preload", "location")
modparam("jsonrpcs", "fifo_name", "DIR/rpc.fifo")
modparam("jsonrpcs", "fifo_reply_dir", "DIR")

route {
	${extra}
	sl_send_reply("${code}", "Reply ${code}");
}
`;

const writeCfg = (code: string, extra = '') => writeFileSync(file, cfg(code, extra).replaceAll('DIR', dir).replace('PORT', String(port)));

async function invite(): Promise<number> {
  const callId = `fifo-${++n}@test`;
  await peer.send(request({ method: 'INVITE', ruri: 'sip:bob@example.com', port: peer.port, callId }), port);
  return statusOf((await peer.next((m) => m.text.includes(callId))).text);
}

const ser = (cmd: string, args: string[] = [], ms?: number) => serCmd(fifo, dir, cmd, args, ms);

beforeAll(async () => {
  dir = tempDir('tser-fifo-');
  file = join(dir, 'ser.cfg');
  fifo = join(dir, 'ser_fifo');
  rpcFifo = join(dir, 'rpc.fifo');
  port = await freePort();
  writeCfg('404');
  tser = await spawnTser(['-f', file, '-E'], { TSER_CTL_SOCKET: join(dir, 'ctl'), TSER_CTL_IDLE_MS: '500', TSER_LOG_LEVEL: 'info' });
  peer = await UdpPeer.open();
  for (let i = 0; i < 50 && !tser.output().includes('control plane ready'); i++) await sleep(50);
});

afterAll(async () => {
  peer.close();
  await tser.stop();
});

describe('SER FIFO built-in commands', () => {
  it('creates the FIFO with mode 0600', () => {
    const st = statSync(fifo);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('print echoes its argument', async () => {
    expect(await ser('print', ['hello fifo'])).toBe('200 ok\nhello fifo\n');
  });

  it('uptime, version, ps, arg, pwd', async () => {
    expect(await ser('uptime')).toMatch(/^200 ok\nNow: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nUp Since: .+\nUp time: \d+ \[sec\]\n$/);
    expect(await ser('version')).toMatch(/^200 ok\nServer: tser \d+\.\d+\.\d+ /);
    expect(await ser('ps')).toBe(`200 ok\n0\t${tser.proc.pid}\tmain process - SIP receivers (udp, tcp), timers, control\n`);
    const arg = await ser('arg');
    expect(arg).toMatch(/^200 ok\n/);
    expect(arg).toContain(`\n-f\n${file}\n`);
    expect(await ser('pwd')).toBe(`200 ok\n${repoRoot}\n`);
  });

  it('which lists built-ins, reload and module commands', async () => {
    const w = (await ser('which'))!.split('\n');
    expect(w[0]).toBe('200 ok');
    expect(w).toEqual(expect.arrayContaining(['print', 'uptime', 'kill', 'reload', 'ul_show_contact', 'ul_add', 'core.version']));
  });

  it('an unknown command is 500 "not available" and the FIFO keeps working', async () => {
    expect(await ser('no_such_cmd', ['x'])).toBe("500 command 'no_such_cmd' not available\n");
    expect(await ser('print', ['still here'])).toBe('200 ok\nstill here\n');
  });

  it('RPC methods by name, with "_" for the first "." (get_statistics, core_echo)', async () => {
    expect(await ser('core.echo', ['a', 'b'])).toBe('200 ok\na\nb\n');
    expect(await ser('core_echo', ['one'])).toBe('200 ok\none\n');
    expect(await ser('get_statistics', ['core:rcv_requests'])).toMatch(/^200 ok\ncore:rcv_requests = \d+\n$/);
  });
});

describe('usrloc over the FIFO (serctl ul add/show/rm)', () => {
  it('ul_add, ul_show_contact, ul_rm, then 404', async () => {
    expect(await ser('ul_add', ['location', 'alice', 'sip:alice@10.0.0.2:5060', '3600', '0.5', '0', '0'])).toBe('200 Added to table\n');
    expect(await ser('ul_add', ['location', 'alice', 'sip:alice@10.0.0.3', 'abc', '1', '0', '0'])).toBe('400 Invalid expires format\n');
    const show = await ser('ul_show_contact', ['location', 'alice']);
    expect(show).toMatch(/^200 ok\n<sip:alice@10\.0\.0\.2:5060>;q=0\.5;expires=\d+\n$/);
    expect(await ser('ul_dump')).toContain('sip:alice@10.0.0.2:5060');
    expect(await ser('ul_rm', ['location', 'alice'])).toMatch(/^200 .*alice.* deleted\n$/i);
    expect(await ser('ul_show_contact', ['location', 'alice'])).toMatch(/^404 .*alice.*not found\n$/);
  });
});

describe('bad reply FIFOs and incomplete requests', () => {
  it('a missing reply FIFO: the command is not run, the proxy and FIFO keep serving', async () => {
    writeFileSync(fifo, ':print:no_such_reply_fifo\nlost\n\n');
    await sleep(200);
    expect(tser.output()).toMatch(/no_such_reply_fifo does not exist/);
    expect(await ser('print', ['after missing'])).toBe('200 ok\nafter missing\n');
    expect(await invite()).toBe(404);
  });

  it('a reply "FIFO" that is a regular file is never written to', async () => {
    const plain = join(dir, 'plainfile');
    writeFileSync(plain, 'untouched');
    writeFileSync(fifo, ':version:plainfile\n\n');
    await sleep(200);
    expect(readFileSync(plain, 'utf8')).toBe('untouched');
    expect(tser.output()).toMatch(/plainfile is not a FIFO/);
    expect(await ser('print', ['after plain'])).toBe('200 ok\nafter plain\n');
  });

  it('a reply name with a path is forbidden', async () => {
    writeFileSync(fifo, ':print:../etc/x\nx\n\n');
    await sleep(200);
    expect(tser.output()).toMatch(/forbidden reply fifo name/);
    expect(await ser('print', ['ok'])).toBe('200 ok\nok\n');
  });

  it('an incomplete request is dropped after the timeout; later requests work', async () => {
    writeFileSync(fifo, ':print:r_incomplete\nno empty line follows\n');
    await sleep(1200);
    expect(tser.output()).toMatch(/incomplete request dropped/);
    expect(await ser('print', ['fresh'])).toBe('200 ok\nfresh\n');
  });
});

describe('JSON-RPC over FIFO', () => {
  it('jsonrpcs fifo_name: a JSON-RPC document with reply_name', async () => {
    const r = await fifoRequest(rpcFifo, dir, (name) => JSON.stringify({ jsonrpc: '2.0', method: 'core.echo', params: ['x', 1], reply_name: name, id: 1 }));
    expect(JSON.parse(r!)).toEqual({ jsonrpc: '2.0', result: ['x', 1], id: 1 });
    const bad = await fifoRequest(rpcFifo, dir, (name) => `{"jsonrpc":"2.0","method":"core.echo","reply_name":"${name}",}`);
    expect(JSON.parse(bad!)).toMatchObject({ error: { code: -32700 } });
    const unknown = await fifoRequest(rpcFifo, dir, (name) => JSON.stringify({ jsonrpc: '2.0', method: 'x.y', reply_name: name, id: 2 }));
    expect(JSON.parse(unknown!)).toMatchObject({ error: { code: -32601 }, id: 2 });
  });

  it('the SER FIFO also takes JSON-RPC documents and the OpenSIPS ":reply:{json}" form', async () => {
    const a = await fifoRequest(fifo, dir, (name) => JSON.stringify({ jsonrpc: '2.0', method: 'core.echo', params: ['ser'], reply_name: name, id: 3 }));
    expect(JSON.parse(a!)).toEqual({ jsonrpc: '2.0', result: ['ser'], id: 3 });
    const b = await fifoRequest(fifo, dir, (name) => `:${name}:{"jsonrpc":"2.0","method":"core.echo","params":["mi"],"id":4}\n`);
    expect(JSON.parse(b!)).toEqual({ jsonrpc: '2.0', result: ['mi'], id: 4 });
  });
});

describe('reload over the FIFO and by SIGHUP', () => {
  it('FIFO reload: a valid change appears on the wire; a broken file reports file:line:col and changes nothing', async () => {
    expect(await invite()).toBe(404);
    writeCfg('486');
    const ok = await ser('reload');
    expect(ok).toMatch(/^200 ok\nreloaded .*ser\.cfg: script \d+ \(was \d+\)/);
    expect(ok).toMatch(/routes: modified request_route/);
    expect(await invite()).toBe(486);

    writeCfg('480', 'no_such_function();');
    const bad = await ser('reload_routes');
    expect(bad).toMatch(/^500 reload failed: 1 error in .*ser\.cfg; the running script is unchanged\n/);
    expect(bad).toMatch(/ --> .*ser\.cfg:\d+:\d+/);
    expect(bad).toContain('no_such_function');
    expect(await invite()).toBe(486);
  });

  it('SIGHUP reloads (and logs the result); a failed SIGHUP reload keeps the old script', async () => {
    writeCfg('403');
    tser.proc.kill('SIGHUP');
    for (let i = 0; i < 100 && (tser.output().match(/routing script reloaded/g) ?? []).length < 2; i++) await sleep(50);
    expect(tser.output()).toMatch(/"reason":"SIGHUP".*routing script reloaded/);
    expect(await invite()).toBe(403);

    writeCfg('410', 'no_such_function();');
    const failuresBefore = (tser.output().match(/"msg":"reload failed"/g) ?? []).length;
    tser.proc.kill('SIGHUP');
    for (let i = 0; i < 100 && (tser.output().match(/"msg":"reload failed"/g) ?? []).length === failuresBefore; i++) await sleep(50);
    expect(tser.output()).toMatch(/"reason":"SIGHUP".*ser\.cfg:\d+:\d+: error.*"msg":"reload failed"/);
    expect(await invite()).toBe(403);
  });

  it('kill stops the daemon', async () => {
    expect(await ser('kill')).toBe('200 killing now...\n');
    const code = await new Promise<number | null>((resolve) => {
      if (tser.proc.exitCode !== null) resolve(tser.proc.exitCode);
      tser.proc.once('exit', (c) => resolve(c));
    });
    expect(code).toBe(0);
  });
});
