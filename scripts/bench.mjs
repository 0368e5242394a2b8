#!/usr/bin/env node
// npm run bench: (1) in-process parse + route of an OPTIONS through examples/hello.cfg,
// (2) a SIPp OPTIONS load against tser over UDP, reported as a ratio to a baseline run in
// the same script: Kamailio with the same logic when installed, else a SIPp UAS answering
// directly (the machine's SIPp-to-SIPp capacity).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import dgram from 'node:dgram';

const root = resolve(import.meta.dirname, '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('src/cli.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const { loadConfig } = await import(dist('src/config/load.js'));
const { SipMessage } = await import(dist('src/sip/index.js'));
const { MsgContext } = await import(dist('src/script/context.js'));
const { Server } = await import(dist('src/core/server.js'));
const pino = (await import('pino')).default;

const CALLS = Number(process.env.BENCH_CALLS ?? 20000);
const RATE = Number(process.env.BENCH_RATE ?? 4000);

async function freePort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  s.close();
  return p;
}

// ---------- 1. in-process micro-benchmark ----------
async function micro() {
  const cfg = await loadConfig(join(root, 'examples/hello.cfg'));
  const server = new Server(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: 'silent' }) });
  await server.start();
  const port = server.listens()[0].port;
  const text = (i) =>
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${i}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${i}@bench\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  const bufs = Array.from({ length: 1000 }, (_, i) => Buffer.from(text(i)));
  const rcv = { proto: 'udp', srcIp: '127.0.0.1', srcPort: 9, local: server.listens()[0], connId: null, time: 0 };
  const script = server.script();
  // replies are really built but not sent: measure parse + route + reply build
  server.send = async () => true;
  const N = 200000;
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) SipMessage.parse(bufs[i % 1000]);
  const parseNs = Number(process.hrtime.bigint() - t);
  t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const msg = SipMessage.parse(bufs[i % 1000]);
    const ctx = new MsgContext(msg, rcv, script, server, 1);
    const r = script.run(script.routes.request, ctx);
    if (typeof r !== 'number') await r;
  }
  const routeNs = Number(process.hrtime.bigint() - t);
  await server.stop();
  return { parsePerSec: Math.round(N / (parseNs / 1e9)), routePerSec: Math.round(N / (routeNs / 1e9)) };
}

// ---------- 2. SIPp load ----------
function runSipp(targetPort, calls, rate) {
  const r = spawnSync(
    'sipp',
    ['-sf', join(root, 'test/fixtures/sipp/options-uac.xml'), '-i', '127.0.0.1', '-p', '0', '-m', String(calls), '-r', String(rate),
      '-l', '2000', '-timeout', '120s', '-nostdin', '-trace_stat', '-stf', join(tmp, 'stat.csv'),
      `127.0.0.1:${targetPort}`],
    { encoding: 'utf8', timeout: 180000, cwd: tmp },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  const stats = parseStat(join(tmp, 'stat.csv'));
  return { code: r.status, ...stats, out };
}

function parseStat(file) {
  if (!existsSync(file)) return { ok: 0, failed: -1, elapsed: 0 };
  const lines = spawnSync('cat', [file], { encoding: 'utf8' }).stdout.trim().split('\n');
  const head = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  const get = (n) => Number(last[head.indexOf(n)]);
  const elapsed = last[head.indexOf('ElapsedTime(C)')] ?? '0';
  const [h, m, s] = elapsed.split(':');
  const secs = Number(h) * 3600 + Number(m) * 60 + Number.parseFloat(s);
  return { ok: get('SuccessfulCall(C)'), failed: get('FailedCall(C)'), elapsed: secs };
}

const tmp = mkdtempSync(join(tmpdir(), 'tser-bench-'));

async function loadTser() {
  const port = await freePort();
  const proc = spawn(process.execPath, [dist('src/cli.js'), '-f', join(root, 'examples/hello.cfg'), '-l', `udp:127.0.0.1:${port}`], {
    env: { ...process.env, TSER_LOG_LEVEL: 'error' },
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 1500));
  const res = runSipp(port, CALLS, RATE);
  proc.kill('SIGTERM');
  return res;
}

async function loadBaseline() {
  const port = await freePort();
  if (spawnSync('which', ['kamailio']).status === 0) {
    const cfg = join(tmp, 'kamailio.cfg');
    writeFileSync(
      cfg,
      `#!KAMAILIO\ndebug=0\nlog_stderror=yes\nfork=yes\nchildren=2\ndisable_tcp=yes\nlisten=udp:127.0.0.1:${port}\nmpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"\nloadmodule "pv.so"\nloadmodule "sl.so"\nloadmodule "maxfwd.so"\nloadmodule "textops.so"\nloadmodule "siputils.so"\nrequest_route {\n if (!mf_process_maxfwd_header("10")) { sl_send_reply("483","Too Many Hops"); exit; }\n if (is_method("OPTIONS") && uri==myself) { sl_send_reply("200","OK"); exit; }\n sl_send_reply("404","Not Found");\n}\n`,
    );
    const proc = spawn('kamailio', ['-f', cfg, '-DD', '-E', '-P', join(tmp, 'k.pid')], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    const res = runSipp(port, CALLS, RATE);
    proc.kill('SIGTERM');
    return { name: 'kamailio (same logic, 2 children)', ...res };
  }
  const uas = spawn('sipp', ['-sf', join(root, 'test/fixtures/sipp/options-uas.xml'), '-i', '127.0.0.1', '-p', String(port), '-nostdin', '-bg'], {
    stdio: 'ignore',
    cwd: tmp,
  });
  await new Promise((r) => setTimeout(r, 1000));
  const res = runSipp(port, CALLS, RATE);
  spawnSync('pkill', ['-f', `options-uas.xml.*-p ${port}`]);
  uas.kill();
  return { name: 'SIPp UAS answering directly', ...res };
}

const m = await micro();
console.log(`in-process: parse ${m.parsePerSec.toLocaleString()} msg/s, parse+route+reply ${m.routePerSec.toLocaleString()} msg/s`);
const base = await loadBaseline();
const mine = await loadTser();
const rate = (x) => (x.elapsed > 0 ? Math.round(x.ok / x.elapsed) : 0);
console.log(`baseline (${base.name}): ${base.ok} ok, ${base.failed} failed, ${rate(base)} OPTIONS/s`);
console.log(`tser (examples/hello.cfg): ${mine.ok} ok, ${mine.failed} failed, ${rate(mine)} OPTIONS/s`);
if (rate(base) > 0) console.log(`ratio tser/baseline: ${(rate(mine) / rate(base)).toFixed(2)} (offered load ${RATE}/s, ${CALLS} requests)`);
