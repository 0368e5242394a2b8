// Run SIPp as a real SIP peer in end-to-end tests: always bounded by -m and -timeout,
// results read from its exit code and the final statistics CSV.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './proxy.js';

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  output: string;
}

export interface SippOptions {
  scenario: string; // path of an XML scenario (or a built-in name like "uac")
  target?: string; // "127.0.0.1:5060" (UAC)
  calls?: number; // -m
  rate?: number; // -r
  port?: number; // -p (0 = any)
  timeoutSec?: number;
  args?: string[];
}

function sippArgs(o: SippOptions, dir: string): string[] {
  const builtin = ['uac', 'uas', 'regexp', 'branchc', 'branchs'];
  const args = builtin.includes(o.scenario) ? ['-sn', o.scenario] : ['-sf', o.scenario];
  args.push('-i', '127.0.0.1', '-p', String(o.port ?? 0), '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1');
  if (o.calls !== undefined) args.push('-m', String(o.calls));
  if (o.rate !== undefined) args.push('-r', String(o.rate));
  args.push('-timeout', `${o.timeoutSec ?? 30}s`);
  args.push(...(o.args ?? []));
  if (o.target) args.push(o.target);
  return args;
}

function readStats(file: string): { successful: number; failed: number } {
  if (!existsSync(file)) return { successful: 0, failed: 0 };
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const get = (n: string) => Number(last[head.indexOf(n)] ?? 0);
  return { successful: get('SuccessfulCall(C)'), failed: get('FailedCall(C)') };
}

/** run SIPp to completion */
export function runSipp(o: SippOptions): Promise<SippResult> {
  const dir = tempDir('tser-sipp-');
  const proc = spawn('sipp', sippArgs(o, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    proc.on('exit', (code) => resolve({ exitCode: code, ...readStats(join(dir, 'stat.csv')), output }));
  });
}

/** start SIPp in the background (a UAS); stop() ends it and returns its results */
export function startSipp(o: SippOptions): { proc: ChildProcess; stop: () => Promise<SippResult> } {
  const dir = tempDir('tser-sipp-');
  const proc = spawn('sipp', sippArgs(o, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<SippResult>((resolve) => {
    proc.on('exit', (code) => resolve({ exitCode: code, ...readStats(join(dir, 'stat.csv')), output }));
  });
  return {
    proc,
    stop: () => {
      if (proc.exitCode === null) proc.kill('SIGUSR1');
      setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 2000).unref();
      return done;
    },
  };
}
