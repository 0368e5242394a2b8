// A control FIFO (named pipe). Three request forms are recognised on the same pipe:
//   SER 0.9:      ":cmd:reply_fifo\n" arg lines, then an empty line → "<code> <text>\n" body
//   jsonrpcs:     {"jsonrpc":"2.0","method":...,"reply_name":"reply_fifo","id":1}
//   OpenSIPS MI:  ":reply_fifo:{json-rpc document}"
// Replies go to fifo_dir/<reply name>: a bare file name that must already exist as a FIFO
// with a reader (the client makes it first). The pipe is opened read-write so it never
// reports EOF when a client closes, and partial requests are dropped after a timeout.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants as fsc, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { scanJsonEnd } from './json-scan.js';
import { formatSerReply, type SerReply } from './ser-fifo.js';
import type { Closable } from './socket-server.js';
import { kamailioPrettyJson } from './json-pretty.js';

export interface FifoHandlers {
  ser(cmd: string, args: string[]): Promise<SerReply>;
  /** a JSON-RPC document → response text (null: nothing to answer) */
  json(doc: string, value: unknown): Promise<string | null>;
}

export interface FifoOptions {
  path: string;
  replyDir: string;
  mode: number;
  /** pretty-print JSON replies (jsonrpcs pretty_format) */
  pretty: boolean;
  log: Logger;
  idleTimeoutMs: number;
  maxRequestBytes: number;
}

type ReplyKind = 'ser' | 'json';

/** why a reply FIFO name/path cannot be used, or null */
export function replyTargetProblem(dir: string, name: string, kind: ReplyKind): string | null {
  // SER: no '.', '/' or '\' ("forbidden filename"); JSON clients use names like x.fifo
  const bad = kind === 'ser' ? /[./\\]/.test(name) : /[/\\]/.test(name) || name.startsWith('.');
  if (bad) return `forbidden reply fifo name "${name}"`;
  const path = join(dir, name);
  try {
    const st = lstatSync(path);
    if (!st.isFIFO()) return `reply fifo ${path} is not a FIFO`;
  } catch {
    return `reply fifo ${path} does not exist`;
  }
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** write a reply into an existing FIFO that a client reads; never blocks, never follows links */
export async function writeReplyFifo(dir: string, name: string, kind: ReplyKind, text: string, timeoutMs = 5000): Promise<void> {
  const problem = replyTargetProblem(dir, name, kind);
  if (problem) throw new Error(problem);
  const path = join(dir, name);
  let fd = -1;
  // the client may open its end a moment after sending (ENXIO = no reader yet)
  for (let i = 0; fd < 0; i++) {
    try {
      fd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || i >= 6) throw new Error(`cannot open reply fifo ${path}: ${(e as Error).message}`);
      await sleep(20 << i);
    }
  }
  // the path was checked before opening; check the opened file too (no swap in between)
  if (!fstatSync(fd).isFIFO()) {
    closeSync(fd);
    throw new Error(`reply fifo ${path} is not a FIFO`);
  }
  const sock = new net.Socket({ fd, readable: false, writable: true });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`reply fifo ${path}: reader did not drain the reply`));
    }, timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(t);
      sock.destroy();
      reject(e);
    });
    sock.end(text, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** create the FIFO (or reuse an existing one); refuses to replace a non-FIFO file */
function makeFifo(path: string, mode: number): boolean {
  try {
    const st = lstatSync(path);
    if (!st.isFIFO()) throw new Error(`${path} exists and is not a FIFO`);
    chmodSync(path, mode);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const r = spawnSync('mkfifo', ['-m', mode.toString(8), path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return true;
}

export async function openFifo(h: FifoHandlers, o: FifoOptions): Promise<Closable> {
  const created = makeFifo(o.path, o.mode);
  const fd = openSync(o.path, fsc.O_RDWR | fsc.O_NONBLOCK);
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let chain: Promise<void> = Promise.resolve();
  let idle: NodeJS.Timeout | null = null;

  const run = (job: () => Promise<void>) => {
    chain = chain.then(job).catch((e: unknown) => o.log.warn({ fifo: o.path, err: (e as Error).message }, 'fifo request failed'));
  };

  const serRequest = (cmd: string, reply: string, args: string[]) =>
    run(async () => {
      if (reply !== '') {
        const problem = replyTargetProblem(o.replyDir, reply, 'ser');
        if (problem) {
          o.log.warn({ fifo: o.path, cmd, problem }, 'fifo command not run');
          return;
        }
      }
      const r = await h.ser(cmd, args);
      if (reply !== '') await writeReplyFifo(o.replyDir, reply, 'ser', formatSerReply(r));
    });

  const jsonRequest = (doc: string, replyOverride: string | null) =>
    run(async () => {
      let value: unknown;
      try {
        value = JSON.parse(doc);
      } catch {
        value = undefined;
      }
      const first = Array.isArray(value) ? (value[0] as unknown) : value;
      // a malformed document still names its reply FIFO often enough to send it the -32700
      const named =
        typeof first === 'object' && first !== null
          ? (first as Record<string, unknown>).reply_name
          : /"reply_name"\s*:\s*"([^"\\]+)"/.exec(doc)?.[1];
      const reply = replyOverride ?? (typeof named === 'string' ? named : '');
      if (reply !== '') {
        const problem = replyTargetProblem(o.replyDir, reply, 'json');
        if (problem) {
          o.log.warn({ fifo: o.path, problem }, 'fifo request not run');
          return;
        }
      }
      const out = await h.json(doc, value);
      if (out === null || reply === '') return;
      const text = o.pretty && value !== undefined ? kamailioPrettyJson(JSON.parse(out)) : out;
      await writeReplyFifo(o.replyDir, reply, 'json', `${text}\n`);
    });

  /** take every complete request off the buffer */
  const drain = () => {
    for (;;) {
      const start = buf.search(/\S/);
      if (start < 0) {
        buf = '';
        return;
      }
      if (start > 0) buf = buf.slice(start);
      const c = buf[0];
      if (c === '{' || c === '[') {
        const end = scanJsonEnd(buf, 0);
        if (end < 0) return;
        jsonRequest(buf.slice(0, end), null);
        buf = buf.slice(end);
        continue;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const first = buf.slice(0, nl).replace(/\r$/, '');
      const m = /^:([^:]*):(.*)$/.exec(first);
      if (c !== ':' || !m) {
        o.log.warn({ fifo: o.path, line: first.slice(0, 80) }, 'fifo: malformed request line skipped');
        buf = buf.slice(nl + 1);
        continue;
      }
      const after = m[2].trimStart();
      if (after.startsWith('{') || after.startsWith('[')) {
        const pos = buf.indexOf(after[0], m[1].length + 2);
        const end = scanJsonEnd(buf, pos);
        if (end < 0) return;
        jsonRequest(buf.slice(pos, end), m[1]);
        buf = buf.slice(end);
        continue;
      }
      // SER: argument lines up to an empty line
      const term = /\n\r?\n/.exec(buf.slice(nl));
      if (!term) return;
      const endArgs = nl + term.index;
      const args = nl === endArgs ? [] : buf.slice(nl + 1, endArgs).split('\n').map((l) => l.replace(/\r$/, ''));
      buf = buf.slice(endArgs + term[0].length);
      serRequest(m[1], m[2].trim(), args);
    }
  };

  pipe.on('data', (chunk: Buffer) => {
    buf += decoder.write(chunk);
    drain();
    if (buf.length > o.maxRequestBytes) {
      o.log.warn({ fifo: o.path, bytes: buf.length }, 'fifo: oversized request dropped');
      buf = '';
    }
    if (idle) clearTimeout(idle);
    idle = null;
    if (buf.length > 0) {
      idle = setTimeout(() => {
        o.log.warn({ fifo: o.path, bytes: buf.length }, 'fifo: incomplete request dropped after timeout');
        buf = '';
      }, o.idleTimeoutMs);
      idle.unref();
    }
  });
  pipe.on('error', (e) => o.log.error({ fifo: o.path, err: e.message }, 'fifo read error'));

  return {
    where: `fifo:${o.path}`,
    close: async () => {
      if (idle) clearTimeout(idle);
      pipe.destroy();
      await chain.catch(() => undefined);
      if (created) {
        try {
          unlinkSync(o.path);
        } catch {
          // already gone
        }
      }
    },
  };
}
