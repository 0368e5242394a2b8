// Receive-path fuzzing: 100,000 mutated messages through the whole server (parse, sanity
// checks, modules' hooks, the compiled script, replies and forwarding) — no exception may
// escape, nothing may be logged as an internal error, and the proxy still answers after.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Server } from '../../src/core/server.js';
import { loadSeeds, mutate, prng } from '../helpers/fuzz-mutations.js';
import { writeCfg } from '../helpers/proxy.js';

const CASES = Number(process.env.TSER_FUZZ_CASES ?? 100_000);

const CFG = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "rr.so"
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (msg:len > max_len) { sl_send_reply("513", "Too big"); exit; }
  if (has_totag()) { if (loose_route()) { forward(); exit; } }
  record_route();
  if ($rU =~ "^[0-9]+$" && $fd != "" && $(hdr(Contact){nameaddr.uri}) != $null) { $ru = "sip:" + $rU + "@127.0.0.1:9"; forward(); exit; }
  if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
  sl_send_reply("404", "Not Found");
}
reply_route { if ($rs == 199) { drop; } }
`;

describe('receive path', () => {
  it(`survives ${CASES.toLocaleString()} mutated messages`, async () => {
    const errors: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        const line = chunk.toString();
        if (/"level":(50|60)/.test(line)) errors.push(line);
        cb();
      },
    });
    const log = pino({ level: 'error' }, sink);
    const cfg = await loadConfig(writeCfg(CFG));
    expect(cfg.bag.errorCount).toBe(0);
    const server = new Server(cfg, { listen: ['udp:127.0.0.1:0'], log });
    await server.start();
    let sent = 0;
    server.send = async () => {
      sent++;
      return true;
    };
    server.resolveUri = async () => ({ proto: 'udp', ip: '127.0.0.1', port: 9 });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const seeds = loadSeeds().map((b) => b.toString('latin1'));
      const rnd = prng(0xf00d);
      const local = server.listens()[0]!;
      for (let i = 0; i < CASES; i++) {
        const text = mutate(seeds[i % seeds.length]!, rnd);
        server.receive(Buffer.from(text, 'latin1'), { proto: 'udp', srcIp: '127.0.0.1', srcPort: 5070, local, connId: null, time: 0 });
        // let async work (forward, DNS stub) settle now and then
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      expect(errors.slice(0, 3)).toEqual([]);
      expect(sent).toBeGreaterThan(CASES / 10); // replies and forwards really happened
      expect(server.inflightCount).toBe(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await server.stop();
    }
  }, 120_000);
});
