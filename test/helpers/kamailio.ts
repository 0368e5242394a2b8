// Kamailio 5.6 as a reference peer for comparison tests: run the same routing script tser
// runs, on a free port, in the foreground, and stop exactly the process started here.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './proxy.js';

export const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

/** the kamailio binary on PATH (or in /usr/sbin), or null when it is not installed */
export function kamailioBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v kamailio || true'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (p) return p;
  return existsSync('/usr/sbin/kamailio') ? '/usr/sbin/kamailio' : null;
}

export interface KamailioProc {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `kamailio -f <cfg> -D -E` with one worker. The config must set listen= itself.
 * `ready` is polled (e.g. an OPTIONS that must be answered) until it resolves true.
 */
export async function startKamailio(bin: string, cfgText: string, ready: () => Promise<boolean>): Promise<KamailioProc> {
  const dir = tempDir('tser-kamailio-');
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, cfgText);
  const proc = spawn(bin, ['-f', cfg, '-D', '-E', '-n', '1', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-L', KAMAILIO_MODULES], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = () =>
    new Promise<void>((r) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return r();
      const hard = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('exit', () => {
        clearTimeout(hard);
        r();
      });
      proc.kill('SIGTERM');
    });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`kamailio exited with ${proc.exitCode}:\n${out}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not answer within 10 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, output: () => out, stop };
}
