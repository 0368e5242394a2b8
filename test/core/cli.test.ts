// The tser command line: -c lists every problem with file:line:col and a caret and exits
// 1; a good config exits 0 naming the dialect; a broken config at start never shows a
// stack trace; -V / -h; a running daemon stops cleanly on SIGTERM.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, repoRoot, spawnTser, writeCfg } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';

const cli = join(repoRoot, 'dist/src/cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: repoRoot });

const BROKEN = `debug=3
lissten=127.0.0.1
loadmodule "sl.so"
loadmodule "maxfwd.so"
modparam("maxfwd", "max_limit", "ten")
route {
    sl_send_replyy("404", "x");
    sl_send_reply("999", "x");
    route(7);
    break;
}
`;

describe('tser -c', () => {
  it('lists all problems with file:line:col, the source line and a caret, and exits 1', () => {
    const file = writeCfg(BROKEN);
    const r = run('-c', '-f', file);
    expect(r.status).toBe(1);
    const out = r.stderr;
    expect(out).toContain(`${file}:2:1`);
    expect(out).toContain('did you mean "listen"?');
    expect(out).toContain(`${file}:5:33`);
    expect(out).toContain(`${file}:7:5`);
    expect(out).toMatch(/7 \|\s+sl_send_replyy\("404", "x"\);\n\s+\|\s+\^{14}/);
    expect(out).toContain('did you mean "sl_send_reply"');
    expect(out).toContain(`${file}:8:19`);
    expect(out).toContain('route "7" is not defined');
    expect(out).toContain('5 errors');
    expect(out).toContain('dialect ser');
  });

  it('accepts a good config, says which dialect and why, exits 0', () => {
    const r = run('-c', '-f', join(repoRoot, 'examples/hello.cfg'));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('config OK');
    expect(r.stdout).toContain('dialect kamailio (the #!KAMAILIO mode line)');
  });

  it('applies -A defines to #!ifdef sections', () => {
    const file = writeCfg('#!KAMAILIO\nloadmodule "sl.so"\n#!ifdef WITH_BROKEN\nrequest_route { nope(); }\n#!else\nrequest_route { sl_send_reply("200","ok"); }\n#!endif\n');
    expect(run('-c', '-f', file).status).toBe(0);
    expect(run('-c', '-A', 'WITH_BROKEN', '-f', file).status).toBe(1);
  });

  it('--syntax-only parses a config whose modules tser lacks', () => {
    const file = writeCfg('loadmodule "/usr/lib/ser/modules/nonexistent.so"\nroute { frobnicate("x"); break; }\n');
    expect(run('-c', '-f', file).status).toBe(1);
    const r = run('--syntax-only', '-f', file);
    expect(r.status).toBe(0);
  });
});

describe('tser daemon', () => {
  it('refuses to start on a broken config: the diagnostics, exit 1, no stack trace', () => {
    const r = run('-f', writeCfg(BROKEN));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown function "sl_send_replyy"');
    expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it('prints version and help', () => {
    expect(run('-V').stdout).toMatch(/^tser \d+\.\d+\.\d+/);
    expect(run('-h').stdout).toContain('-c ');
    expect(run('--bogus').status).toBe(1);
  });

  it('serves from the CLI with -l and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const p = await spawnTser(['-f', join(repoRoot, 'examples/hello.cfg'), '-l', `udp:127.0.0.1:${port}`, '-E']);
    const peer = await UdpPeer.open();
    try {
      await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${port}`, port: peer.port, callId: 'cli-opt@test' }), port);
      const r = await peer.next((m) => m.text.includes('cli-opt@test'));
      expect(statusOf(r.text)).toBe(200);
    } finally {
      peer.close();
    }
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.output()).toContain('tser stopped');
  });
});
