// SIPp processes standing in for carrier gateways and a customer switch. Gateways trace the
// messages they receive, so a test can count the INVITEs (by Call-ID) each one was sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/proxy.js';

export const scenarios = join(repoRoot, 'test/dispatcher/sipp');

export interface Gateway {
  port: number;
  proc: ChildProcess;
  /** Call-IDs of the INVITEs received so far (retransmissions counted once) */
  invites(): Set<string>;
  /** requests received by method (OPTIONS keepalives included) */
  count(method: string): number;
  /** the received requests of a method, as text */
  messages(method: string): string[];
  stop(): Promise<void>;
}

function received(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'latin1')
    .split(/^-{10,}.*$/m)
    .filter((c) => /message received/.test(c))
    .map((c) => c.replace(/^[\s\S]*?message received[^\n]*\n\s*\n/, ''));
}

/** a SIPp UAS on 127.0.0.1:port running one of the gateway scenarios */
export async function startGateway(port: number, scenario = 'gateway.xml'): Promise<Gateway> {
  const dir = tempDir('tser-gw-');
  const log = join(dir, 'messages.log');
  const proc = spawn(
    'sipp',
    ['-sf', join(scenarios, scenario), '-i', '127.0.0.1', '-p', String(port), '-m', '100000', '-timeout', '600s', '-nostdin', '-trace_msg', '-message_file', log],
    { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  await new Promise((r) => setTimeout(r, 400));
  if (proc.exitCode !== null) throw new Error(`sipp gateway on ${port} exited with ${proc.exitCode}`);
  return {
    port,
    proc,
    invites: () => {
      const ids = new Set<string>();
      for (const m of received(log)) {
        if (!m.startsWith('INVITE ')) continue;
        const cid = /^Call-ID:\s*(.+)$/im.exec(m)?.[1]?.trim();
        if (cid) ids.add(cid);
      }
      return ids;
    },
    count: (method) => received(log).filter((m) => m.startsWith(`${method} `)).length,
    messages: (method) => received(log).filter((m) => m.startsWith(`${method} `)),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
  };
}

export interface CallerResult {
  code: number | null;
  out: string;
  errors: string;
}

export interface CallerOpts {
  service: string;
  calls: number;
  rate?: number;
  limit?: number;
  timeoutS?: number;
  port?: number;
  /** caller id (From user); default 1000 */
  cli?: string;
  /** local address to call from (127.0.0.x) */
  ip?: string;
  /** digest credentials: uses caller-auth.xml (INVITE, 407, INVITE with credentials) */
  auth?: { user: string; password: string };
}

/** run the caller scenario to completion: `calls` calls to number `service` at `rate` cps */
export function runCaller(proxyPort: number, o: CallerOpts): Promise<CallerResult> {
  const dir = tempDir('tser-caller-');
  const args = [
    '-sf', join(scenarios, o.auth ? 'caller-auth.xml' : 'caller.xml'),
    '-i', o.ip ?? '127.0.0.1',
    '-key', 'cli', o.cli ?? '1000',
    ...(o.auth ? ['-au', o.auth.user, '-ap', o.auth.password] : []),
    '-p', String(o.port ?? 0),
    '-s', o.service,
    '-m', String(o.calls),
    '-r', String(o.rate ?? 50),
    '-l', String(o.limit ?? 50),
    '-timeout', `${o.timeoutS ?? 60}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
    `127.0.0.1:${proxyPort}`,
  ];
  const proc = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    proc.once('exit', (code) => {
      const f = join(dir, 'errors.log');
      resolve({ code, out: out.slice(-3000), errors: existsSync(f) ? readFileSync(f, 'utf8').slice(0, 3000) : '' });
    });
  });
}
