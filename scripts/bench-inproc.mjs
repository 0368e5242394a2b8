#!/usr/bin/env node
// In-process CPU cost of the yardstick's scenarios on the yardstick's config, without SIPp
// and without the kernel's send cost: the proxy runs in this process, datagrams are fed to
// Server.receive() and its UDP sends are captured and answered by a small client here.
// Prints CPU µs per scenario (process.cpuUsage, client work included: digest + parsing
// replies, a few µs). Needs `npm run build` and the bench DB (../shared/bench/setup-db.sh).
//   node scripts/bench-inproc.mjs [reg|options] [count] [config]
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = (p) => join(root, 'dist', p);
const { loadConfig } = await import(dist('src/config/load.js'));
const { Server } = await import(dist('src/core/server.js'));
const { UdpListener } = await import(dist('src/transport/udp.js'));
const pino = (await import('pino')).default;

const scenario = process.argv[2] ?? 'reg';
const COUNT = Number(process.argv[3] ?? 20000);
const cfgFile = process.argv[4] ?? join(root, '../shared/bench/project/ser.cfg');
const WINDOW = 64;

const cfg = await loadConfig(cfgFile);
const server = new Server(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: 'error' }) });

// capture every UDP send: the "network" hands replies to the client below
let onSend = () => undefined;
UdpListener.prototype.send = function (data) {
  onSend(data);
  return true;
};
await server.start();
const local = server.listens()[0];
const host = `127.0.0.1:${local.port}`;
const rcv = { proto: 'udp', srcIp: '127.0.0.1', srcPort: 5999, local, connId: null, time: 0 };
// the receive time feeds the overload guard's queueing delay
const at = () => ({ ...rcv, time: Date.now() });
const md5 = (s) => createHash('md5').update(s).digest('hex');
// Call-IDs unique per run: usrloc db_mode 2 keeps an earlier run's bindings, and the same
// Call-ID with a CSeq not above the stored one is refused (400 Invalid CSeq), as in Kamailio
const RUN = `${process.pid}x${Date.now().toString(36)}`;

function register(user, n, auth) {
  return Buffer.from(
    `REGISTER sip:${host} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-${n}-${auth ? 2 : 1}\r\n` +
      `From: <sip:${user}@127.0.0.1>;tag=t${n}\r\nTo: <sip:${user}@127.0.0.1>\r\nCall-ID: c${n}.${RUN}@bench\r\n` +
      `CSeq: ${auth ? 2 : 1} REGISTER\r\nContact: <sip:${user}@127.0.0.1:5070>\r\n${auth ? `${auth}\r\n` : ''}` +
      `Max-Forwards: 70\r\nExpires: 3600\r\nUser-Agent: sipp-bench\r\nContent-Length: 0\r\n\r\n`,
  );
}

function options(n) {
  return Buffer.from(
    `OPTIONS sip:nobody@${host} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-o${n}\r\n` +
      `From: <sip:bench@127.0.0.1>;tag=o${n}\r\nTo: <sip:nobody@127.0.0.1>\r\nCall-ID: o${n}.${RUN}@bench\r\n` +
      `CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
}

function authHeader(user, nonce) {
  const uri = `sip:${host}`;
  const ha1 = md5(`${user}:127.0.0.1:pw${user}`);
  const resp = md5(`${ha1}:${nonce}:${md5(`REGISTER:${uri}`)}`);
  return `Authorization: Digest username="${user}", realm="127.0.0.1", nonce="${nonce}", uri="${uri}", response="${resp}", algorithm=MD5`;
}

async function run(count) {
  let started = 0;
  let done = 0;
  let failed = 0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const next = () => {
    if (started >= count) return;
    const n = started++;
    if (scenario === 'options') server.receive(options(n), at());
    else server.receive(register(10000 + (n % 10000), n, null), at());
  };
  onSend = (data) => {
    const text = data.toString('latin1');
    const code = Number(text.slice(8, 11));
    if (code === 100) return;
    const n = Number(/Call-ID: [co](\d+)\./.exec(text)?.[1]);
    if (code === 401) {
      const nonce = /nonce="([^"]+)"/.exec(text)[1];
      const user = 10000 + (n % 10000);
      queueMicrotask(() => server.receive(register(user, n, authHeader(user, nonce)), at()));
      return;
    }
    if (!((scenario === "options" && code === 404) || (scenario === "reg" && code === 200))) {
      failed++;
      if (failed <= 3) console.error(`unexpected reply: ${text}`);
    }
    done++;
    if (done === count) finish();
    else setImmediate(next);
  };
  for (let i = 0; i < WINDOW; i++) next();
  // a request that never gets its final reply must not hang the benchmark
  let seen = -1;
  const watchdog = setInterval(() => {
    if (done === seen) {
      console.error(`stalled: ${count - done} scenarios got no final reply`);
      failed += count - done;
      finish();
    }
    seen = done;
  }, 5000);
  await finished;
  clearInterval(watchdog);
  return failed;
}

if (process.env.BENCH_COLD) {
  // cold start: what the first scenarios of a fresh process cost (JIT tiering, DB connections)
  for (let i = 0; i < 4; i++) {
    const c0 = process.cpuUsage();
    await run(1000);
    const c = process.cpuUsage(c0);
    console.log(`cold batch ${i}: cpu µs/scenario ${((c.user + c.system) / 1000).toFixed(0)} (ends at ${process.uptime().toFixed(2)} s)`);
  }
}
await run(Math.min(COUNT, 5000)); // warm-up: JIT, DB connections
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const failed = await run(COUNT);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
const c = process.cpuUsage(c0);
console.log(
  `${scenario}: ${COUNT} in ${wall.toFixed(0)} ms, failed ${failed}, cpu µs/scenario ${((c.user + c.system) / COUNT).toFixed(1)} ` +
    `(user ${(c.user / COUNT).toFixed(1)}, sys ${(c.system / COUNT).toFixed(1)})`,
);
await server.stop();
process.exit(0);
