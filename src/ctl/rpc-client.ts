// tserctl's side of the control socket: one JSON-RPC request over a unix stream socket
// (or "tcp:HOST:PORT" / "udp:HOST:PORT"), one JSON document back. The socket path comes from
// -s, $TSER_CTL_SOCKET, tserctl.rc CTL_SOCKET=, else the daemon's default locations.
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFramer } from '../control/json-scan.js';
import type { ErrorCode } from '../core/errors.js';

export class CtlError extends Error {
  readonly code: ErrorCode = 'TSER_E_CTL';
  constructor(
    message: string,
    /** the JSON-RPC error code when the server answered with an error */
    readonly rpcCode: number | null = null,
    readonly data: unknown = undefined,
  ) {
    super(message);
  }
}

/** tserctl.rc locations, first found wins ($TSERCTL_RC first) */
export function rcFiles(): string[] {
  const env = process.env.TSERCTL_RC;
  return env ? [env] : ['./tserctl.rc', join(homedir(), '.tserctlrc'), '/etc/tser/tserctl.rc', '/usr/local/etc/tser/tserctl.rc'];
}

/** KEY=VALUE lines (shell style: # comments, optional quotes) */
export function parseRc(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return out;
}

export function readRc(): Record<string, string> {
  for (const f of rcFiles()) {
    if (!existsSync(f)) continue;
    try {
      return parseRc(readFileSync(f, 'utf8'));
    } catch {
      return {};
    }
  }
  return {};
}

/** -s, then $TSER_CTL_SOCKET, then CTL_SOCKET= from tserctl.rc, then the daemon's defaults */
export function resolveSocket(flag: string | undefined, rc: Record<string, string>): string {
  if (flag) return flag;
  if (process.env.TSER_CTL_SOCKET) return process.env.TSER_CTL_SOCKET;
  if (rc.CTL_SOCKET) return rc.CTL_SOCKET;
  const runDir = process.env.TSER_RUN_DIR;
  const candidates = [...(runDir ? [join(runDir, 'tser_ctl')] : []), '/run/tser/tser_ctl', join(tmpdir(), 'tser_ctl')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

let nextId = 1;

function request(method: string, params: readonly unknown[]): { id: number; text: string } {
  const id = nextId++;
  return { id, text: JSON.stringify({ jsonrpc: '2.0', method, params, id }) };
}

function unwrap(doc: string, id: number): unknown {
  let v: unknown;
  try {
    v = JSON.parse(doc);
  } catch {
    throw new CtlError(`unreadable reply from the control socket: ${doc.slice(0, 100)}`);
  }
  const r = v as { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
  if (r.error) {
    const code = typeof r.error.code === 'number' ? r.error.code : 500;
    throw new CtlError(String(r.error.message ?? 'error'), code, r.error.data);
  }
  if (r.id !== id) throw new CtlError('reply does not match the request');
  return r.result ?? null;
}

/** call one method; rejects with CtlError (connection problem, timeout, RPC error) */
export function rpcCall(socket: string, method: string, params: readonly unknown[] = [], timeoutMs = 60000): Promise<unknown> {
  const { id, text } = request(method, params);
  const udp = /^udp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(socket);
  if (udp) return udpCall(udp[1].replace(/^\[|\]$/g, ''), Number(udp[2]), text, id, timeoutMs);
  const tcp = /^tcp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(socket);
  const path = socket.replace(/^unixs?:/, '');
  return new Promise((resolve, reject) => {
    const conn = tcp ? net.connect(Number(tcp[2]), tcp[1].replace(/^\[|\]$/g, '')) : net.connect(path);
    const framer = new JsonFramer();
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.destroy();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new CtlError(`no reply from ${socket} within ${timeoutMs} ms`))), timeoutMs);
    conn.on('connect', () => conn.write(`${text}\n`));
    conn.on('data', (chunk: Buffer) => {
      for (const f of framer.push(chunk)) {
        if ('doc' in f)
          finish(() => {
            try {
              resolve(unwrap(f.doc, id));
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          });
      }
    });
    conn.on('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new CtlError(
            `cannot talk to the control socket ${socket}: ${e.code ?? e.message} (is tser running? set -s PATH, TSER_CTL_SOCKET or CTL_SOCKET in tserctl.rc)`,
          ),
        ),
      ),
    );
    conn.on('close', () => finish(() => reject(new CtlError(`control socket ${socket} closed without a reply`))));
  });
}

function udpCall(host: string, port: number, text: string, id: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new CtlError(`no reply from udp:${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('message', (buf) => {
      clearTimeout(timer);
      s.close();
      try {
        resolve(unwrap(buf.toString('utf8'), id));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      s.close();
      reject(new CtlError(`udp:${host}:${port}: ${e.message}`));
    });
    s.send(text, port, host);
  });
}
