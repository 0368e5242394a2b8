// Start tser for end-to-end tests: in-process (loadConfig + Server on real sockets) or as
// a child process running the built CLI (for signals and restarts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { Server } from '../../src/core/server.js';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export function tempDir(prefix = 'tser-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeCfg(text: string, name = 'test.cfg'): string {
  const file = join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}

/** load a config text and start a Server on 127.0.0.1 with a free UDP+TCP port */
export async function startProxy(cfgText: string, opts: { listen?: string[]; file?: string } = {}): Promise<{ server: Server; port: number }> {
  const file = opts.file ?? writeCfg(cfgText);
  const cfg = await loadConfig(file);
  if (cfg.bag.hasErrors) throw new Error(`config errors:\n${cfg.bag.format()}`);
  const log = pino({ level: process.env.TSER_TEST_LOG ?? 'silent' });
  const server = new Server(cfg, { listen: opts.listen ?? ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'], log });
  await server.start();
  const port = server.listens().find((s) => s.proto === 'udp')!.port;
  return { server, port };
}

/** find a free UDP port on 127.0.0.1 (also free for TCP in practice) */
export async function freePort(): Promise<number> {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  s.close();
  return p;
}

export interface ChildProxy {
  proc: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** run the built CLI (`node dist/src/cli.js`) and wait until it logs that it started */
export async function spawnTser(args: string[], env: Record<string, string> = {}): Promise<ChildProxy> {
  const proc = spawn(process.execPath, [join(repoRoot, 'dist/src/cli.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolveStart, reject) => {
    const giveUp = setTimeout(() => {
      clearInterval(t);
      proc.kill('SIGKILL');
      reject(new Error(`tser did not start:\n${out}`));
    }, 15000);
    const t = setInterval(() => {
      if (out.includes('tser started')) {
        clearInterval(t);
        clearTimeout(giveUp);
        resolveStart();
      }
    }, 20);
    proc.once('exit', (code) => {
      clearInterval(t);
      clearTimeout(giveUp);
      reject(new Error(`tser exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r(proc.exitCode);
        proc.once('exit', (code) => r(code));
        proc.kill(signal);
      }),
  };
}
