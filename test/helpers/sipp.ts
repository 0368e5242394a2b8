// The one SIPp wrapper for end-to-end tests: SIPp as a real SIP peer (UAC or UAS), always
// bound by -timeout (and usually -m), results read from its exit code, the final statistics
// CSV, its error log and (with traceMsg) its message trace.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './proxy.js';

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  /** stdout and stderr */
  output: string;
  /** the -trace_err log(s) */
  errors: string;
  /** the -trace_msg log (traceMsg only): every message sent and received */
  messages: string;
}

export interface SippOptions {
  scenario: string; // path of an XML scenario (or a built-in name like "uac")
  target?: string; // "127.0.0.1:5060" (UAC)
  calls?: number; // -m
  rate?: number; // -r
  limit?: number; // -l
  port?: number; // -p (0 = any)
  ip?: string; // -i (default 127.0.0.1)
  transport?: 'u1' | 'un' | 't1' | 'tn'; // -t
  service?: string; // -s
  keys?: Record<string, string | number>; // -key k v
  auth?: { user: string; password: string }; // -au / -ap
  injectionFile?: string; // -inf
  pauseMs?: number; // -d
  timeoutSec?: number; // -timeout (default 30)
  /** -timeout_error: reaching -timeout is a failure (exit code != 0) */
  timeoutError?: boolean;
  recvTimeoutMs?: number; // -recv_timeout
  maxRecvLoops?: number; // -max_recv_loops
  /** -trace_msg: keep every message in SippRun.messageFile / SippResult.messages */
  traceMsg?: boolean;
  args?: string[];
}

export interface SippRun {
  proc: ChildProcess;
  /** the -trace_msg file (traceMsg only), readable while SIPp runs */
  messageFile: string;
  done: Promise<SippResult>;
  /** ends SIPp gently (SIGUSR1, SIGKILL after 2 s) and returns its results */
  stop: () => Promise<SippResult>;
  /** SIGKILL if still running */
  kill: () => void;
}

const BUILTIN = ['uac', 'uas', 'regexp', 'branchc', 'branchs'];

function sippArgs(o: SippOptions, dir: string): string[] {
  const args = BUILTIN.includes(o.scenario) ? ['-sn', o.scenario] : ['-sf', o.scenario];
  args.push('-i', o.ip ?? '127.0.0.1', '-p', String(o.port ?? 0), '-nostdin', '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1');
  args.push('-trace_err', '-error_file', join(dir, 'errors.log'));
  if (o.traceMsg) args.push('-trace_msg', '-message_file', join(dir, 'messages.log'));
  if (o.transport) args.push('-t', o.transport);
  if (o.calls !== undefined) args.push('-m', String(o.calls));
  if (o.rate !== undefined) args.push('-r', String(o.rate));
  if (o.limit !== undefined) args.push('-l', String(o.limit));
  if (o.service) args.push('-s', o.service);
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
  if (o.auth) args.push('-au', o.auth.user, '-ap', o.auth.password);
  if (o.injectionFile) args.push('-inf', o.injectionFile);
  if (o.pauseMs !== undefined) args.push('-d', String(o.pauseMs));
  args.push('-timeout', `${o.timeoutSec ?? 30}s`);
  if (o.timeoutError) args.push('-timeout_error');
  if (o.recvTimeoutMs !== undefined) args.push('-recv_timeout', String(o.recvTimeoutMs));
  if (o.maxRecvLoops !== undefined) args.push('-max_recv_loops', String(o.maxRecvLoops));
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

function readErrors(dir: string): string {
  const f = join(dir, 'errors.log');
  let errors = existsSync(f) ? readFileSync(f, 'utf8') : '';
  for (const name of readdirSync(dir)) if (name.endsWith('_errors.log')) errors += readFileSync(join(dir, name), 'utf8');
  return errors;
}

/** start SIPp in the background (a UAS, or a UAC whose `done` is awaited later) */
export function startSipp(o: SippOptions): SippRun {
  const dir = tempDir('tser-sipp-');
  const messageFile = join(dir, 'messages.log');
  const proc = spawn('sipp', sippArgs(o, dir), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const done = new Promise<SippResult>((resolve) => {
    proc.once('exit', (code) =>
      resolve({
        exitCode: code,
        ...readStats(join(dir, 'stat.csv')),
        output,
        errors: readErrors(dir),
        messages: existsSync(messageFile) ? readFileSync(messageFile, 'latin1') : '',
      }),
    );
  });
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    messageFile,
    done,
    stop: () => {
      if (running()) proc.kill('SIGUSR1');
      setTimeout(() => running() && proc.kill('SIGKILL'), 2000).unref();
      return done;
    },
    kill: () => {
      if (running()) proc.kill('SIGKILL');
    },
  };
}

/** run SIPp to completion */
export function runSipp(o: SippOptions): Promise<SippResult> {
  return startSipp(o).done;
}

/** a UAS must be listening before the UAC starts: start it and give it 300 ms */
export async function startSippUas(o: SippOptions, settleMs = 300): Promise<SippRun> {
  const r = startSipp(o);
  await new Promise((res) => setTimeout(res, settleMs));
  return r;
}

/** throw with SIPp's errors and output unless it exited 0 */
export async function expectSippPassed(run: SippRun | Promise<SippResult>, what = 'SIPp'): Promise<SippResult> {
  const r = await ('done' in run ? run.done : run);
  if (r.exitCode !== 0) throw new Error(`${what}: SIPp exit ${r.exitCode}\n${r.errors}\n${r.output.slice(-3000)}`);
  return r;
}
