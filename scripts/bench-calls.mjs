#!/usr/bin/env node
// Call benchmark for tm: SIPp callers (INVITE/180/200/ACK/BYE along the Record-Route) through a
// stateful tser to a SIPp callee, at increasing call rates. Reports the highest rate with fewer
// than 0.5% failed calls, then waits for every transaction to leave its wait timer and reports
// the transaction count (must be 0) and tser's memory after a forced GC.
//
//   npm run build && node scripts/bench-calls.mjs [--rates 100,200,400] [--duration 10]
//
// tser runs in this process (the built dist/), SIPp in child processes, so the figures are the
// proxy's own; the script re-runs itself with --expose-gc to measure memory after GC.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { values: a } = parseArgs({
  options: {
    rates: { type: 'string', default: '50,100,200,300,400,500,600,800,1000,1200,1500' },
    duration: { type: 'string', default: '10' },
    'max-failed': { type: 'string', default: '0.005' },
    /** keep going after a failing step (memory checks after overload) */
    'keep-going': { type: 'boolean', default: false },
  },
});
const RATES = a.rates.split(',').map(Number);
const DURATION = Number(a.duration);
const MAX_FAILED = Number(a['max-failed']);

const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('src/cli.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const { loadConfig } = await import(dist('src/config/load.js'));
const { Server } = await import(dist('src/core/server.js'));
const pino = (await import('pino')).default;

const scenarios = join(root, 'test/fixtures/sipp/tm');
const tmp = mkdtempSync(join(tmpdir(), 'tser-bench-calls-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function mem() {
  globalThis.gc();
  const m = process.memoryUsage();
  return { rssMb: +(m.rss / 1048576).toFixed(1), heapMb: +(m.heapUsed / 1048576).toFixed(1) };
}

function parseStat(file) {
  if (!existsSync(file)) return { ok: 0, failed: 0, elapsed: 0 };
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const head = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  const get = (n) => Number(last[head.indexOf(n)]);
  const [h, m, s] = (last[head.indexOf('ElapsedTime(C)')] ?? '0:0:0').split(':');
  return { ok: get('SuccessfulCall(C)'), failed: get('FailedCall(C)'), elapsed: Number(h) * 3600 + Number(m) * 60 + Number.parseFloat(s) };
}

/** one load step: `rate` calls/s for DURATION seconds; resolves with SIPp's counts */
function runStep(proxyPort, rate, step) {
  const calls = rate * DURATION;
  const stf = join(tmp, `uac-${step}.csv`);
  return new Promise((resolve) => {
    const p = spawn(
      'sipp',
      ['-sf', join(scenarios, 'uac-call.xml'), '-i', '127.0.0.1', '-p', '0', '-s', 'bench', '-m', String(calls), '-r', String(rate),
        '-l', String(Math.max(100, rate * 3)), '-recv_timeout', '8000', '-timeout', `${DURATION + 30}s`, '-nostdin',
        '-trace_stat', '-stf', stf, '-fd', '1', '-trace_err', '-error_file', join(tmp, `uac-${step}-errors.log`),
        `127.0.0.1:${proxyPort}`],
      { cwd: tmp, stdio: 'ignore' },
    );
    p.once('exit', (code) => resolve({ code, calls, ...parseStat(stf) }));
  });
}

const uasPort = await freePort();
const cfgFile = join(tmp, 'bench-calls.cfg');
writeFileSync(
  cfgFile,
  `#!KAMAILIO
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
# shorter than the defaults (30 s / 120 s) only so that calls a failed step left behind end
# within the drain wait below; the timers do not change the throughput
modparam("tm", "fr_timer", 10000)
modparam("tm", "fr_inv_timer", 20000)
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (has_totag()) {
    if (loose_route()) { if (!t_relay()) { sl_reply_error(); } exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  record_route();
  $du = "sip:127.0.0.1:${uasPort}";
  if (!t_relay()) { sl_reply_error(); }
}
`,
);
const cfg = await loadConfig(cfgFile);
if (cfg.bag.hasErrors) {
  console.error(cfg.bag.format());
  process.exit(1);
}
const server = new Server(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: 'error' }) });
await server.start();
const proxyPort = server.listens()[0].port;
const tmStat = (name) => server.stats.get(`tm:${name}`)[`tm:${name}`] ?? 0;

// the callee keeps finished calls for 8 s (not 0.5 s) so that a BYE retransmitted after a lost
// 200 is answered again, as a real UA would during Timer J
const uasXml = join(tmp, 'uas-call.xml');
writeFileSync(uasXml, readFileSync(join(scenarios, 'uas-call.xml'), 'utf8').replace('<timewait milliseconds="500"/>', '<timewait milliseconds="8000"/>'));
const uas = spawn('sipp', ['-sf', uasXml, '-i', '127.0.0.1', '-p', String(uasPort), '-d', '0', '-nostdin', '-t', 'u1'], {
  cwd: tmp,
  stdio: 'ignore',
});
await sleep(800);

const before = mem();
console.log(`tser tm call benchmark: ${DURATION} s per step, pass = under ${MAX_FAILED * 100}% failed calls`);
console.log(`memory before: rss ${before.rssMb} MB, heap ${before.heapMb} MB`);
let best = 0;
let failedOnce = false;
let step = 0;
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, tmStat('inuse_transactions'))), 200);
for (const rate of RATES) {
  const r = await runStep(proxyPort, rate, step++);
  const done = r.ok + r.failed;
  const failedRatio = done > 0 ? r.failed / done : 1;
  const achieved = r.elapsed > 0 ? r.ok / r.elapsed : 0;
  // SIPp must also have kept the offered rate (a slow proxy stretches the run instead of failing)
  const pass = failedRatio < MAX_FAILED && r.ok >= r.calls * (1 - MAX_FAILED) && achieved >= rate * 0.9;
  console.log(
    `  ${String(rate).padStart(5)} calls/s offered: ${r.ok}/${r.calls} ok, ${r.failed} failed (${(failedRatio * 100).toFixed(2)}%), ` +
      `${achieved.toFixed(0)} calls/s achieved, ${pass ? 'pass' : 'FAIL'}`,
  );
  if (!pass) {
    const f = join(tmp, `uac-${step - 1}-errors.log`);
    if (existsSync(f)) {
      const why = new Map();
      for (const l of readFileSync(f, 'utf8').split('\n')) {
        const m = /(Aborting call on unexpected message|Call-Id: .*$)|(Aborting call on UDP Socket error|timeout|Unexpected)[^\n]*/i.exec(l);
        if (m && !m[0].startsWith('Call-Id')) why.set(m[0].slice(0, 80), (why.get(m[0].slice(0, 80)) ?? 0) + 1);
      }
      for (const [k, n] of why) console.log(`      ${n} × ${k}`);
    }
    if (!a['keep-going']) break;
  } else if (!failedOnce) best = rate;
  if (!pass) failedOnce = true;
  // let this step's transactions leave their wait timers before the next step
  await sleep(pass ? 6000 : 25000);
  const m = mem();
  console.log(`        after the step: ${tmStat('inuse_transactions')} transactions in use, heap ${m.heapMb} MB, rss ${m.rssMb} MB`);
}
clearInterval(sampler);

// every transaction must go through its wait timer (wt_timer 5 s) and be freed
const drainStart = Date.now();
const deadline = drainStart + 60000;
while (Date.now() < deadline && tmStat('inuse_transactions') !== 0) await sleep(250);
const after = mem();
console.log(`highest call rate with under ${MAX_FAILED * 100}% failed calls: ${best} calls/s`);
console.log(`peak transactions in memory: ${peak}`);
console.log(`drained in ${((Date.now() - drainStart) / 1000).toFixed(1)} s after the last step`);
console.log(
  `transactions after the run: ${tmStat('inuse_transactions')} in use (created ${tmStat('created_transactions')}, freed ${tmStat('freed_transactions')})`,
);
console.log(`memory after the run (after GC): rss ${after.rssMb} MB, heap ${after.heapMb} MB (heap ${(after.heapMb - before.heapMb >= 0 ? '+' : '')}${(after.heapMb - before.heapMb).toFixed(1)} MB)`);
uas.kill('SIGKILL');
await server.stop();
process.exit(tmStat('inuse_transactions') === 0 ? 0 : 1);
