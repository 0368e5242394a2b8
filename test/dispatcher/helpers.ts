// Offline harness for dispatcher tests: load a config with a list file, initialise its modules
// against a fake core, and run the request route (or a failure route) on parsed messages.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { Route } from '../../src/core/module-api.js';
import { MsgContext } from '../../src/script/context.js';
import type { Script } from '../../src/script/script.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import type { DsState } from '../../modules/dispatcher/state.js';
import { fakeCore, local, sipRequest, type Recorded } from '../helpers/offline.js';
import { tempDir } from '../helpers/proxy.js';

export function listFile(lines: string[]): string {
  const f = join(tempDir('tser-ds-'), 'dispatcher.list');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

export interface Harness {
  script: Script;
  st: DsState;
  rec: Recorded;
  /** run the request route; src = "ip:port" */
  run(msg?: SipMessage, src?: string): Promise<MsgContext>;
  /** run a failure route on a context that carries the AVPs of `from` (as tm does) */
  failure(name: string, from: MsgContext, status?: number): Promise<MsgContext>;
  close(): Promise<void>;
}

export async function harness(params: string, routes: string, extraModules = ''): Promise<Harness> {
  const text = `#!KAMAILIO\nloadmodule "sl.so"\n${extraModules}loadmodule "dispatcher.so"\n${params}\n${routes}\n`;
  const loaded = await loadConfig(join(tempDir('tser-dscfg-'), 'test.cfg'), { text });
  if (loaded.bag.hasErrors || !loaded.script) throw new Error(loaded.bag.format());
  const script = loaded.script;
  const rec: Recorded = { replies: [], forwards: [] };
  const core = fakeCore(() => script, rec);
  const log = pino({ level: process.env.TSER_TEST_LOG ?? 'silent' });
  let st: DsState | undefined;
  for (const m of loaded.modules) {
    m.holder.state = await m.def.init({ params: m.params as never, log, core, dialect: 'kamailio', bindApi: () => undefined });
    if (m.def.name === 'dispatcher') st = m.holder.state as DsState;
  }
  const rcvOf = (src: string): ReceiveInfo => {
    const [ip, port] = src.split(':');
    return { proto: 'udp', srcIp: ip!, srcPort: Number(port ?? 5060), local, connId: null, time: Date.now() };
  };
  return {
    script,
    st: st!,
    rec,
    async run(msg = sipRequest(), src = '10.0.0.5:5070') {
      const ctx = new MsgContext(msg, rcvOf(src), script, core, Route.REQUEST);
      await script.run(script.routes.request!, ctx);
      return ctx;
    },
    async failure(name, from, status = 503) {
      const ctx = new MsgContext(from.msg, from.rcv, script, core, Route.FAILURE);
      ctx.avps = from.avps;
      ctx.dstUri = from.dstUri;
      ctx.newUri = from.newUri;
      const { SipMessage } = await import('../../src/sip/index.js');
      ctx.reply = SipMessage.parse(
        Buffer.from(
          `SIP/2.0 ${status} Failed\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1234\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: call-1@test\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n`,
          'latin1',
        ),
      );
      const route = script.getRoute(Route.FAILURE, name);
      if (!route) throw new Error(`no failure_route[${name}]`);
      await script.run(route, ctx);
      return ctx;
    },
    async close() {
      for (const m of [...loaded.modules].reverse()) await m.def.destroy?.(m.holder.state);
    },
  };
}

export function invite(callId = 'call-1@test', opts: { from?: string; ruri?: string; method?: string } = {}): SipMessage {
  const msg = sipRequest({ method: opts.method ?? 'INVITE', ruri: opts.ruri });
  const raw = msg.raw.replace('Call-ID: call-1@test', `Call-ID: ${callId}`).replace('sip:alice@example.com', opts.from ?? 'sip:alice@example.com');
  return (msg.constructor as typeof SipMessage).parse(Buffer.from(raw, 'latin1'));
}
