#!/usr/bin/env node
// Registration benchmark: for each usrloc db_mode asked for, starts the built tser (dist/)
// with usrloc + registrar, registers N distinct users (one contact each) from a raw UDP
// client keeping a window of requests in flight, and reports registrations/s, the idle RSS
// (after start, before the first registration) and the RSS each contact costs above it.
//
//   npm run build && node scripts/bench-register.mjs [--count 100000] [--window 256]
//        [--db-mode 0,1,2] [--db-url mysql://root@127.0.0.1/tser_bench [--create-schema]]
//        [--expires 3600] [--settle 1000]
//
// db_mode 1/2/3 need --db-url pointing at a database with the location table (`tserctl db
// create`, or --create-schema to drop and create it here before every run, so each one
// starts from an empty table); without --db-url only db_mode 0 runs. RSS is read
// --settle ms after the last reply (V8 does not give memory back at idle, so this is the
// contacts plus whatever garbage the run left in the heap).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    window: { type: 'string', default: '256' },
    'db-mode': { type: 'string', default: '0,1,2' },
    'db-url': { type: 'string', default: '' },
    expires: { type: 'string', default: '3600' },
    settle: { type: 'string', default: '1000' },
    'create-schema': { type: 'boolean', default: false },
  },
});
const COUNT = Number(a.count);
const WINDOW = Number(a.window);
const SETTLE_MS = Number(a.settle);
const MODES = a['db-mode']
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((m) => Number.isInteger(m));

function freePort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** user + system CPU of a process, µs */
function cpuUs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freshSchema() {
  const pino = (await import('pino')).default;
  const { openDb } = await import(join(root, 'dist/src/db/open.js'));
  const { createSchema, dropSchema } = await import(join(root, 'dist/src/db/schema.js'));
  const db = openDb(a['db-url'], pino({ level: 'silent' }));
  await dropSchema(db, ['location']).catch(() => undefined);
  await createSchema(db, ['location']);
  await db.close();
}

async function run(dbMode) {
  if (dbMode !== 0 && a['create-schema']) await freshSchema();
  const port = await freePort();
  const cfg = `#!KAMAILIO
log_stderror=yes
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_mode", ${dbMode})
${dbMode !== 0 ? `modparam("usrloc", "db_url", "${a['db-url']}")` : ''}
modparam("registrar", "max_expires", 0)
request_route {
  if (method == "REGISTER") { save("location"); exit; }
  sl_send_reply("404", "Not Found");
}
`;
  const dir = mkdtempSync(join(tmpdir(), 'tser-bench-reg-'));
  const file = join(dir, 'bench.cfg');
  writeFileSync(file, cfg);

  // TSER_NODE_ARGS: extra node flags for the tser process (e.g. --cpu-prof)
  const nodeArgs = (process.env.TSER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const tser = spawn(process.execPath, [...nodeArgs, join(root, 'dist/src/cli.js'), '-f', file, '-l', `udp:127.0.0.1:${port}`], {
    env: { ...process.env, TSER_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let finished = false;
  tser.stdout.on('data', (d) => (out += d));
  tser.stderr.on('data', (d) => (out += d));
  tser.once('exit', (code) => {
    if (!finished) {
      console.error(`tser exited early (${code}):\n${out}`);
      process.exit(1);
    }
  });

  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const myPort = sock.address().port;

  function register(i, cseq) {
    const user = `u${String(i).padStart(6, '0')}`;
    return Buffer.from(
      `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${myPort};branch=z9hG4bK${i}x${cseq}\r\n` +
        `From: <sip:${user}@127.0.0.1>;tag=t${i}\r\n` +
        `To: <sip:${user}@127.0.0.1>\r\n` +
        `Call-ID: bench-${i}@127.0.0.1\r\n` +
        `CSeq: ${cseq} REGISTER\r\n` +
        `Contact: <sip:${user}@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5060>\r\n` +
        `Expires: ${a.expires}\r\n` +
        `Max-Forwards: 70\r\n` +
        `User-Agent: tser-bench\r\n` +
        `Content-Length: 0\r\n\r\n`,
      'latin1',
    );
  }

  const pending = new Map(); // i → { sent time, tries }
  let ok = 0;
  let failed = 0;
  let onReply = null;
  sock.on('message', (buf) => {
    const t = buf.toString('latin1');
    const m = /Call-ID: bench-(\d+)@/i.exec(t);
    if (!m) return;
    const i = Number(m[1]);
    const code = Number(t.slice(8, 11));
    if (onReply) onReply(i, code);
  });

  // wait until tser answers (a REGISTER of a user outside the measured range)
  const PROBE = 999999999;
  let up = false;
  for (let k = 0; k < 300 && !up; k++) {
    up = await new Promise((r) => {
      onReply = (i) => i === PROBE && r(true);
      setTimeout(() => r(false), 100);
      sock.send(register(PROBE, k + 1), port, '127.0.0.1');
    });
  }
  if (!up) throw new Error(`tser did not answer:\n${out}`);
  await sleep(1000);
  const rssIdle = rssKb(tser.pid);

  let next = 0;
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  function fill() {
    while (pending.size < WINDOW && next < COUNT) {
      const i = next++;
      pending.set(i, { t: Date.now(), tries: 1 });
      sock.send(register(i, 1), port, '127.0.0.1');
    }
    if (pending.size === 0 && next >= COUNT) resolveDone();
  }
  onReply = (i, code) => {
    if (!pending.has(i)) return;
    pending.delete(i);
    if (code === 200) ok++;
    else failed++;
    fill();
  };
  // UDP may drop under load: retransmit like a UAC would (same CSeq = retransmission)
  const retr = setInterval(() => {
    const now = Date.now();
    for (const [i, p] of pending) {
      if (now - p.t > 500) {
        if (p.tries >= 8) {
          pending.delete(i);
          failed++;
          continue;
        }
        p.t = now;
        p.tries++;
        sock.send(register(i, 1), port, '127.0.0.1');
      }
    }
    fill();
  }, 100);

  const cpu0 = cpuUs(tser.pid);
  const t0 = process.hrtime.bigint();
  fill();
  await done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(retr);
  const cpu1 = cpuUs(tser.pid);
  await sleep(SETTLE_MS);
  const rssAfter = rssKb(tser.pid);

  finished = true;
  tser.kill('SIGTERM');
  await new Promise((r) => tser.once('exit', r));
  sock.close();

  return {
    db_mode: dbMode,
    registrations: COUNT,
    ok,
    failed,
    window: WINDOW,
    seconds: Number(secs.toFixed(2)),
    registrations_per_s: Math.round(ok / secs),
    cpu_us_per_registration: Math.round((cpu1 - cpu0) / Math.max(1, ok)),
    rss_idle_mb: Number((rssIdle / 1024).toFixed(1)),
    rss_after_mb: Number((rssAfter / 1024).toFixed(1)),
    rss_bytes_per_contact: Math.round(((rssAfter - rssIdle) * 1024) / Math.max(1, ok)),
  };
}

const results = [];
for (const mode of MODES) {
  if (mode !== 0 && !a['db-url']) {
    console.error(`db_mode ${mode} skipped: it needs --db-url`);
    continue;
  }
  const r = await run(mode);
  console.log(JSON.stringify(r));
  results.push(r);
}
if (results.length > 1) {
  console.log('\ndb_mode  registrations/s  CPU µs/reg  idle RSS MB  RSS after MB  bytes/contact above idle');
  for (const r of results) {
    console.log(
      `${String(r.db_mode).padStart(7)}  ${String(r.registrations_per_s).padStart(15)}  ${String(r.cpu_us_per_registration).padStart(10)}  ${r.rss_idle_mb.toFixed(1).padStart(11)}  ${r.rss_after_mb.toFixed(1).padStart(12)}  ${String(r.rss_bytes_per_contact).padStart(24)}`,
    );
  }
}
