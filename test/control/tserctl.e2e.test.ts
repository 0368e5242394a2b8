// `tserctl` (the built CLI) against a running proxy's control socket: reload, ps, uptime,
// version, stats, ul show/rm/add, methods, rpc; socket from -s, TSER_CTL_SOCKET or
// tserctl.rc; readable text or --json; errors are one line with exit code 1.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/proxy.js';
import { request, UdpPeer } from '../helpers/sip-client.js';
import { rpcParam } from '../../src/ctl/commands-rpc.js';
import { parseRc } from '../../src/ctl/rpc-client.js';
import { startControlled, type ControlledProxy } from './helpers.js';

const cfg = (code: string, extra = '') => `#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
modparam("usrloc", "preload", "location")
request_route {
	${extra}
	sl_send_reply("${code}", "Reply");
}
`;

let p: ControlledProxy;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** run dist/src/tserctl.js asynchronously (the proxy answering it runs in this process) */
function tserctl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(repoRoot, 'dist/src/tserctl.js'), ...args], {
      cwd: p.dir,
      env: { ...process.env, TSER_CTL_SOCKET: '', TSERCTL_RC: join(p.dir, 'none.rc'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code) => resolve({ code, out, err }));
  });
}

const ctl = (...args: string[]) => tserctl(['-s', p.socket, ...args]);

beforeAll(async () => {
  p = await startControlled(cfg('404'));
});

afterAll(async () => {
  await p.stop();
});

describe('tserctl control commands', () => {
  it('uptime, ps, version', async () => {
    const up = await ctl('uptime');
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/^Now: .+\nUp Since: .+\nUp time: \d+ \[sec\]\n$/);
    const ps = await ctl('ps');
    expect(ps.out).toBe(`IDX\tPID\tDESCRIPTION\n0\t${process.pid}\tmain process - SIP receivers (udp, tcp), timers, control\n`);
    expect((await ctl('version')).out).toMatch(/^tser \d+\.\d+\.\d+/);
  });

  it('stats [group] shows counters', async () => {
    const peer = await UdpPeer.open();
    await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${p.port}`, port: peer.port, callId: 'ctl-st' }), p.port);
    await peer.next((m) => m.text.includes('ctl-st'));
    peer.close();
    const all = await ctl('stats');
    expect(all.out).toMatch(/^core:rcv_requests = [1-9]\d*$/m);
    const sl = await ctl('stats', 'sl');
    expect(sl.out.trim().split('\n').every((l) => l.startsWith('sl:'))).toBe(true);
    const json = await ctl('--json', 'stats', 'sl:sent_replies');
    expect(JSON.parse(json.out)).toEqual(['sl:sent_replies = 1']);
  });

  it('ul add / show / rm', async () => {
    expect((await ctl('ul', 'add', 'bob', 'sip:bob@10.1.1.1:5060', '600')).code).toBe(0);
    const one = await ctl('ul', 'show', 'bob');
    expect(one.code).toBe(0);
    expect(one.out).toContain('Address: sip:bob@10.1.1.1:5060');
    const all = await ctl('--json', 'ul', 'show');
    expect(JSON.stringify(JSON.parse(all.out))).toContain('sip:bob@10.1.1.1:5060');
    expect((await ctl('ul', 'rm', 'bob')).code).toBe(0);
    const gone = await ctl('ul', 'show', 'bob');
    expect(gone.code).toBe(1);
    expect(gone.err).toBe('tserctl: error 404: AOR not found\n');
    const usage = await ctl('ul', 'frobnicate');
    expect(usage.code).toBe(1);
    expect(usage.err).toMatch(/^tserctl: usage: tserctl ul show/);
  });

  it('rpc METHOD PARAMS: numbers as numbers, s:/i: prefixes, pretty JSON', async () => {
    const r = await ctl('rpc', 'core.echo', 'a', '12', 's:34', 'i:5', '-1.5');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${JSON.stringify(['a', 12, '34', 5, -1.5], null, 2)}\n`);
    const m = await ctl('methods');
    expect(m.out.split('\n')).toEqual(expect.arrayContaining(['cfg.reload', 'core.psx', 'ul.dump']));
  });

  it('errors: unknown method, no socket → one line, exit 1', async () => {
    const u = await ctl('rpc', 'nope.nothing');
    expect(u.code).toBe(1);
    expect(u.err).toBe('tserctl: error -32601: Method not found: nope.nothing\n');
    const none = await tserctl(['-s', join(p.dir, 'no-such-socket'), 'uptime']);
    expect(none.code).toBe(1);
    expect(none.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(none.err).toMatch(/^tserctl: cannot talk to the control socket .*no-such-socket: ENOENT/);
  });

  it('socket from TSER_CTL_SOCKET and from tserctl.rc CTL_SOCKET=', async () => {
    expect((await tserctl(['uptime'], { TSER_CTL_SOCKET: p.socket })).code).toBe(0);
    const rc = join(p.dir, 'tserctl.rc');
    writeFileSync(rc, `# test rc\nCTL_SOCKET="${p.socket}"\n`);
    expect((await tserctl(['version'], { TSERCTL_RC: rc })).out).toMatch(/^tser /);
  });

  it('reload: prints what changed; a broken file exits 1 with file:line:col lines', async () => {
    writeFileSync(p.file, cfg('486'));
    const ok = await ctl('reload');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^reloaded .*tser\.cfg: script \d+ \(was \d+\), compiled in [\d.]+ ms, swapped in [\d.]+ ms\nroutes: modified request_route;/);
    writeFileSync(p.file, cfg('480', 'nope_fn();'));
    const bad = await ctl('reload');
    expect(bad.code).toBe(1);
    const lines = bad.err.trim().split('\n');
    expect(lines[0]).toMatch(/^tserctl: error 500: reload failed: 1 error in .*tser\.cfg; the running script is unchanged$/);
    expect(lines[1]).toMatch(/tser\.cfg:6:2: error\[\w+\]: .*nope_fn/);
    const json = await ctl('--json', 'reload');
    expect(json.code).toBe(1);
  });
});

describe('helpers', () => {
  it('rpcParam and parseRc', () => {
    expect([rpcParam('7'), rpcParam('x'), rpcParam('s:7'), rpcParam('i:8'), rpcParam('1e5')]).toEqual([7, 'x', '7', 8, '1e5']);
    expect(parseRc('A=1\n# c\nexport B="two words"\nC=\'x\' \nD=v # tail\nbad line')).toEqual({ A: '1', B: 'two words', C: 'x', D: 'v' });
  });
});
