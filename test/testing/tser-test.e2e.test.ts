// `tser test` on the real CLI: the project's example configs pass their case files; a
// failing case exits 1 with what was expected and what happened (text, TAP, JUnit); bad
// case files (YAML errors, unknown assertions) exit 2 with a clear message; a malformed
// message fails its case only; dispatcher sets are seeded from the case file.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers/proxy.js';

function tserTest(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli.js'), 'test', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function write(name: string, text: string): string {
  const f = join(tempDir('tser-test-cases-'), name);
  writeFileSync(f, text);
  return f;
}

describe('tser test', () => {
  it('examples/proxy.cfg passes examples/proxy.cases.yaml (auth, registrar, lookup, DB rows)', () => {
    const r = tserTest(['-f', 'examples/proxy.cfg', 'examples/proxy.cases.yaml']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^10 passed, 0 failed$/m);
    expect(r.status).toBe(0);
  });

  it('examples/hello.cfg passes examples/hello.cases.yaml', () => {
    const r = tserTest(['-f', 'examples/hello.cfg', 'examples/hello.cases.yaml']);
    expect(r.out).toMatch(/^4 passed, 0 failed$/m);
    expect(r.status).toBe(0);
  });

  it('a failing case exits 1 and says what was expected and what happened; TAP and JUnit', () => {
    const cases = write(
      'c.yaml',
      `cases:
  - name: wrong expectation
    request: { method: INVITE, ruri: "sip:bob@example.com" }
    expect: { reply: 200 }
  - name: right one
    request: { method: OPTIONS, ruri: "sip:127.0.0.1" }
    expect: { reply: 200 }
`,
    );
    const r = tserTest(['-f', 'examples/hello.cfg', cases]);
    expect(r.status).toBe(1);
    // points at the config line that sent the reply it got
    expect(r.out).toContain('✗ wrong expectation\n    expected reply 200, got 404 Not Found (sent at examples/hello.cfg:');
    const line = Number(/examples\/hello\.cfg:(\d+)/.exec(r.out)![1]);
    expect(readFileSync(join(repoRoot, 'examples/hello.cfg'), 'utf8').split('\n')[line - 1]).toMatch(/sl_send_reply\("404"/);
    expect(r.out).toMatch(/^1 passed, 1 failed$/m);
    const junit = join(tempDir('tser-junit-'), 'j.xml');
    const t = tserTest(['-f', 'examples/hello.cfg', cases, '--tap', '--junit', junit]);
    expect(t.out).toMatch(/^TAP version 13\n1\.\.2\nnot ok 1 - wrong expectation\n/);
    expect(t.out).toMatch(/^ok 2 - right one$/m);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="tser test" tests="2" failures="1">/);
    expect(xml).toMatch(/<failure message="expected reply 200, got 404 Not Found \(sent at /);
    const path = tserTest([
      '-f',
      'examples/proxy.cfg',
      write('r.yaml', 'cases:\n  - name: path\n    request: { method: INVITE, ruri: "sip:nobody@127.0.0.1", from: "sip:carol@example.org" }\n    source: 192.0.2.10:5060\n    expect: { route: [REQINIT, RELAY] }\n'),
    ]);
    expect(path.out).toMatch(/expected route path REQINIT → RELAY, got request_route \(examples\/proxy\.cfg:\d+\) → REQINIT \(examples\/proxy\.cfg:\d+\) → WITHINDLG .* → LOCATION \(examples\/proxy\.cfg:\d+\)\n/);
  });

  it('seeds dispatcher sets into the store the config reads; checks PVs and flags after the run', () => {
    const cfg = write(
      'ds.cfg',
      `#!KAMAILIO
listen=udp:127.0.0.1:5060
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "dispatcher.so"
modparam("dispatcher", "list_file", "/nonexistent/dispatcher.list")
request_route {
	$var(checked) = 1;
	$avp(s:customer) = "acme";
	setflag(3);
	if (!ds_select_dst("1", "4")) { sl_send_reply("503", "No gateway"); exit; }
	t_relay();
}
`,
    );
    const cases = write(
      'ds.yaml',
      `dispatcher:
  - { setid: 1, destination: "sip:192.0.2.20:5080" }
cases:
  - name: to the gateway of set 1
    request: { method: INVITE, ruri: "sip:+4930123@127.0.0.1" }
    expect: { destination: "192.0.2.20:5080", forward: "sip:+4930123@127.0.0.1" }
  - name: script state after the run
    request: { method: INVITE, ruri: "sip:+4930123@127.0.0.1" }
    expect:
      pv: { $du: "sip:192.0.2.20:5080", $rU: "+4930123", $avp(customer): acme, $var(checked): "1" }
      flags: [3]
  - name: a wrong pv expectation fails with both values
    request: { method: INVITE, ruri: "sip:+4930123@127.0.0.1" }
    expect: { pv: { $du: "sip:192.0.2.99" }, flags: [4] }
`,
    );
    const r = tserTest(['-f', cfg, cases]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^2 passed, 1 failed$/m);
    expect(r.out).toContain('expected $du = "sip:192.0.2.99", got "sip:192.0.2.20:5080"');
    expect(r.out).toMatch(/expected flag 4 set/);
  });

  it('bad case files exit 2 with a clear message; a malformed message fails only its case', () => {
    const yamlErr = tserTest(['-f', 'examples/hello.cfg', write('bad.yaml', 'cases: [\n  - name: x\n')]);
    expect(yamlErr.status).toBe(2);
    expect(yamlErr.err).toMatch(/not valid YAML/);
    const unknown = tserTest(['-f', 'examples/hello.cfg', write('u.yaml', 'cases:\n  - name: typo\n    request: { method: OPTIONS, ruri: "sip:x" }\n    expect: { replyy: 200 }\n')]);
    expect(unknown.status).toBe(2);
    expect(unknown.err).toMatch(/case "typo" expect: unknown key "replyy"/);
    const badMsg = tserTest([
      '-f',
      'examples/hello.cfg',
      write('m.yaml', 'cases:\n  - name: garbage\n    message: "this is not SIP"\n    expect: { reply: 400 }\n  - name: fine\n    request: { method: OPTIONS, ruri: "sip:127.0.0.1" }\n    expect: { reply: 200 }\n'),
    ]);
    expect(badMsg.status).toBe(1);
    expect(badMsg.out).toMatch(/✗ garbage\n {4}error: /);
    expect(badMsg.out).toMatch(/✓ fine/);
    const noCfg = tserTest(['-f', '/nonexistent.cfg', 'examples/hello.cases.yaml']);
    expect(noCfg.status).toBe(2);
  });

  it('--watch runs again when a case file changes', async () => {
    const file = write('w.yaml', 'cases:\n  - name: first\n    request: { method: OPTIONS, ruri: "sip:127.0.0.1" }\n    expect: { reply: 200 }\n');
    const proc = spawn(process.execPath, [join(repoRoot, 'dist/src/cli.js'), 'test', '-f', 'examples/hello.cfg', file, '--watch'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 300 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
      return re.test(out);
    };
    try {
      expect(await waitFor(/1 passed, 0 failed/)).toBe(true);
      writeFileSync(file, 'cases:\n  - name: second\n    request: { method: OPTIONS, ruri: "sip:127.0.0.1" }\n    expect: { reply: 500 }\n');
      expect(await waitFor(/change detected[\s\S]*✗ second[\s\S]*0 passed, 1 failed/)).toBe(true);
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
