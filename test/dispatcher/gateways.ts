// SIPp processes standing in for carrier gateways and a customer switch. Gateways trace the
// messages they receive, so a test can count the INVITEs (by Call-ID) each one was sent.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/proxy.js';
import { runSipp, startSippUas } from '../helpers/sipp.js';

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
  const run = await startSippUas({ scenario: join(scenarios, scenario), port, calls: 100000, timeoutSec: 600, traceMsg: true }, 400);
  const { proc, messageFile: log } = run;
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
      run.kill();
      await run.done;
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
export async function runCaller(proxyPort: number, o: CallerOpts): Promise<CallerResult> {
  const r = await runSipp({
    scenario: join(scenarios, o.auth ? 'caller-auth.xml' : 'caller.xml'),
    target: `127.0.0.1:${proxyPort}`,
    ip: o.ip,
    port: o.port,
    keys: { cli: o.cli ?? '1000' },
    auth: o.auth,
    service: o.service,
    calls: o.calls,
    rate: o.rate ?? 50,
    limit: o.limit ?? 50,
    timeoutSec: o.timeoutS ?? 60,
    timeoutError: true,
  });
  return { code: r.exitCode, out: r.output.slice(-3000), errors: r.errors.slice(0, 3000) };
}
