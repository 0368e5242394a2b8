// Control-plane test helpers: an in-process proxy with its control plane, raw socket
// clients, and a FIFO client that behaves like serctl (mkfifo reply, read, then write).
import { spawnSync } from 'node:child_process';
import { createReadStream, closeSync, constants as fsc, openSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { Server } from '../../src/core/server.js';
import { startControl, type ControlHandle, type ControlOptions } from '../../src/control/start.js';
import { tempDir } from '../helpers/proxy.js';

export interface ControlledProxy {
  server: Server;
  control: ControlHandle;
  port: number;
  file: string;
  dir: string;
  socket: string;
  stop(): Promise<void>;
}

/** write the config to a temp dir, start Server + control plane in-process */
export async function startControlled(
  cfgText: string | ((dir: string) => string),
  opts: Partial<ControlOptions> & { listen?: string[] } = {},
): Promise<ControlledProxy> {
  const dir = tempDir('tser-ctl-');
  const file = join(dir, 'tser.cfg');
  writeFileSync(file, typeof cfgText === 'function' ? cfgText(dir) : cfgText);
  const cfg = await loadConfig(file);
  if (cfg.bag.hasErrors) throw new Error(`config errors:\n${cfg.bag.format()}`);
  const log = pino({ level: process.env.TSER_TEST_LOG ?? 'silent' });
  const server = new Server(cfg, { listen: opts.listen ?? ['udp:127.0.0.1:0'], log });
  await server.start();
  const socket = opts.socketPath ?? join(dir, 'tser_ctl');
  const control = await startControl(server, cfg, {
    defines: new Map(),
    dialect: null,
    runDir: dir,
    kill: () => undefined,
    ...opts,
    socketPath: socket,
  });
  const port = server.listens().find((s) => s.proto === 'udp')!.port;
  return {
    server,
    control,
    port,
    file,
    dir,
    socket,
    stop: async () => {
      await control.stop();
      await server.stop();
    },
  };
}

/** send raw text on a stream socket, collect `n` newline-terminated replies */
export function rawExchange(target: string | { port: number; host?: string }, text: string | Buffer, n = 1, ms = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = typeof target === 'string' ? net.connect(target) : net.connect(target.port, target.host ?? '127.0.0.1');
    let buf = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`timeout; got so far: ${buf}`));
    }, ms);
    c.on('connect', () => c.write(text));
    c.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n').filter((l) => l !== '');
      if (buf.endsWith('\n') && lines.length >= n) {
        clearTimeout(t);
        c.destroy();
        resolve(lines);
      }
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export function mkfifo(path: string, mode = '600'): void {
  const r = spawnSync('mkfifo', ['-m', mode, path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed`);
}

/** read a FIFO until the writer closes it; null when nobody writes within ms */
export function readFifoOnce(path: string, ms = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const s = createReadStream(path, { encoding: 'utf8' });
    const t = setTimeout(() => {
      if (done) return;
      done = true;
      resolve(null);
      // unblock the pending open/read: a writer that opens and closes gives EOF
      try {
        closeSync(openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK));
      } catch {
        // no reader left
      }
      s.destroy();
    }, ms);
    s.on('data', (d) => (text += String(d)));
    s.on('end', () => {
      clearTimeout(t);
      if (!done) {
        done = true;
        resolve(text);
      }
    });
    s.on('error', () => {
      clearTimeout(t);
      if (!done) {
        done = true;
        resolve(null);
      }
    });
  });
}

let seq = 0;

/** serctl-style: make reply FIFO in replyDir, start reading, write the request, get the reply */
export async function fifoRequest(
  fifo: string,
  replyDir: string,
  build: (replyName: string) => string,
  ms = 5000,
): Promise<string | null> {
  const name = `tser_reply_${process.pid}_${++seq}`;
  const replyPath = join(replyDir, name);
  mkfifo(replyPath);
  const reply = readFifoOnce(replyPath, ms);
  writeFileSync(fifo, build(name));
  return reply;
}

export const serCmd = (fifo: string, replyDir: string, cmd: string, args: string[] = [], ms?: number) =>
  fifoRequest(fifo, replyDir, (r) => `:${cmd}:${r}\n${args.map((a) => `${a}\n`).join('')}\n`, ms);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
