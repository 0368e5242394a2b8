// A flood of malformed datagrams over real UDP (issue 18): each kind of bad-input warning is
// logged for the first few, then counted, with one summary line per interval, so 250,000
// bad packets leave well under 1 MB of log at the info level; the proxy still answers after.
import { Writable } from 'node:stream';
import dgram from 'node:dgram';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Server } from '../../src/core/server.js';
import { loadSeeds, mutate, prng } from '../helpers/fuzz-mutations.js';
import { writeCfg } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';

const DATAGRAMS = Number(process.env.TSER_FLOOD_DATAGRAMS ?? 250_000);

const CFG = `#!KAMAILIO
debug=2
loadmodule "sl.so"
loadmodule "maxfwd.so"
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("OPTIONS") && uri == myself) { sl_send_reply("200", "OK"); exit; }
  sl_send_reply("404", "Not Found");
}
`;

/** malformed datagrams of every kind: garbage, missing headers, broken header values, oversized */
function floodSet(): Buffer[] {
  const seeds = loadSeeds().map((b) => b.toString('latin1'));
  const rnd = prng(0xbad);
  const out: Buffer[] = [];
  for (let i = 0; i < 3000; i++) out.push(Buffer.from(mutate(seeds[i % seeds.length]!, rnd), 'latin1'));
  out.push(Buffer.from('\x16\x03\x01 not sip at all'));
  out.push(Buffer.from('INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n')); // no From/To/Call-ID/CSeq
  out.push(Buffer.from(`OPTIONS sip:x SIP/2.0\r\nX: ${'a'.repeat(60_000)}\r\n\r\n`)); // past maxbuffer
  return out;
}

describe('log flood', () => {
  it(`${DATAGRAMS.toLocaleString()} malformed datagrams: under 1 MB of log, the proxy still answers`, async () => {
    let bytes = 0;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        bytes += chunk.length;
        if (lines.length < 2000) lines.push(chunk.toString());
        cb();
      },
    });
    const cfg = await loadConfig(writeCfg(CFG));
    expect(cfg.bag.errorCount).toBe(0);
    const server = new Server(cfg, { listen: ['udp:127.0.0.1:0'], log: pino({ level: 'info' }, sink) });
    await server.start();
    const port = server.listens()[0]!.port;
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.on('message', () => undefined); // the proxy's 400s and 404s
    const received = (): number => Number(server.stats.get('core:rcv_messages')['core:rcv_messages'] ?? 0);
    const before = received();
    const peer = await UdpPeer.open();
    try {
      const set = floodSet();
      const t0 = Date.now();
      for (let i = 0; i < DATAGRAMS; ) {
        // keep at most a few thousand in the socket buffers so the kernel drops none
        while (i - (received() - before) > 2000) await new Promise((r) => setImmediate(r));
        for (const end = Math.min(DATAGRAMS, i + 500); i < end; i++) sock.send(set[i % set.length]!, port, '127.0.0.1');
        await new Promise((r) => setImmediate(r));
      }
      const deadline = Date.now() + 20_000;
      while (received() - before < DATAGRAMS * 0.99 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const seconds = (Date.now() - t0) / 1000;
      expect(received() - before).toBeGreaterThanOrEqual(DATAGRAMS * 0.99);
      const bad = Number(server.stats.get('core:bad_msg_hdr')['core:bad_msg_hdr'] ?? 0);
      console.log(`flood: ${DATAGRAMS} datagrams in ${seconds.toFixed(1)} s, ${bad} counted bad, ${bytes} bytes of log in ${lines.length} lines`);
      expect(bad).toBeGreaterThan(DATAGRAMS / 10);
      expect(bytes).toBeLessThan(1_000_000);
      // still serving (the overload guard may answer 503 while the backlog drains)
      let status = 0;
      for (let k = 0; k < 50 && status !== 200; k++) {
        await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${port}`, port: peer.port }), port);
        status = statusOf((await peer.next()).text);
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    } finally {
      peer.close();
      sock.close();
      await server.stop();
    }
    // every kind was logged, then counted; the summaries are out by the time it stopped
    for (const kind of ['unparsable message dropped', 'bad request', 'bad message', 'cannot build reply']) {
      expect(lines.some((l) => l.includes(`"msg":"${kind}"`)), kind).toBe(true);
      expect(lines.some((l) => l.includes(`"msg":"${kind}: `) && l.includes('more not logged')), `${kind} summary`).toBe(true);
    }
  }, 120_000);
});
