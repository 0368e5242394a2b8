// SIPp for the registrar end-to-end tests: scenarios from test/fixtures/sipp/registrar,
// bound to 127.0.0.1, always limited by -m and -timeout; exit code 0 = every call passed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, repoRoot, tempDir } from '../helpers/proxy.js';

export const scenarioDir = join(repoRoot, 'test/fixtures/sipp/registrar');

export interface SippRun {
  proc: ChildProcess;
  port: number;
  done: Promise<{ code: number | null; out: string; errors: string }>;
}

export interface SippOpts {
  scenario: string;
  remote?: string;
  port?: number;
  calls?: number;
  timeoutS?: number;
  service?: string;
  keys?: Record<string, string | number>;
}

export async function sipp(o: SippOpts): Promise<SippRun> {
  const port = o.port ?? (await freePort());
  const dir = tempDir('tser-sipp-reg-');
  const args = [
    '-sf', join(scenarioDir, o.scenario),
    '-i', '127.0.0.1',
    '-p', String(port),
    '-m', String(o.calls ?? 1),
    '-timeout', `${o.timeoutS ?? 20}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
  ];
  if (o.service) args.push('-s', o.service);
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
  if (o.remote) args.push(o.remote);
  const proc = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; out: string; errors: string }>((resolve) => {
    proc.once('exit', (code) => {
      const f = join(dir, 'errors.log');
      let errors = existsSync(f) ? readFileSync(f, 'utf8') : '';
      for (const name of readdirSync(dir)) if (name.endsWith('_errors.log')) errors += readFileSync(join(dir, name), 'utf8');
      resolve({ code, out, errors });
    });
  });
  return { proc, port, done };
}

/** a UAS must be listening before the UAC starts */
export async function sippUas(scenario: string, opts: Partial<SippOpts> = {}): Promise<SippRun> {
  const r = await sipp({ scenario, calls: 1, ...opts });
  await new Promise((res) => setTimeout(res, 300));
  return r;
}

export function kill(r: SippRun | undefined): void {
  if (r && r.proc.exitCode === null) r.proc.kill('SIGKILL');
}
