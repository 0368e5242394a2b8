// event_route[dispatcher:dst-down] / [dispatcher:dst-up]: run, when the script defines them,
// on a stand-in OPTIONS request whose R-URI is the destination (as Kamailio's faked message);
// $dsv(code), $dsv(reason), $dsv(flags) tell what caused the change.
import type { Logger } from 'pino';
import type { CoreApi } from '../../src/core/core-api.js';
import { Route } from '../../src/core/module-api.js';
import { SipMessage } from '../../src/sip/index.js';

/** why a state changed: the reply code (408 for a timeout) and reason; flags bit 1 = a real reply */
export interface DsEventInfo {
  code: number;
  reason: string;
  flags: number;
}

export const EVENT_INFO_KEY = 'dispatcher.event';

let seq = 0;

export function runDsEvent(core: CoreApi, name: string, uri: string, info: DsEventInfo, log: Logger): void {
  const script = core.script();
  const route = script.getRoute(Route.EVENT, name);
  const local = core.listens()[0];
  if (!route || !local) return;
  let msg: SipMessage;
  try {
    const text =
      `OPTIONS ${uri} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${local.advertiseHost}:${local.advertisePort};branch=z9hG4bKdsev${++seq}\r\n` +
      `From: <sip:dispatcher@localhost>;tag=dsev${seq}\r\n` +
      `To: <${uri}>\r\n` +
      `Call-ID: dispatcher-event-${seq}@localhost\r\n` +
      'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
    msg = SipMessage.parse(Buffer.from(text, 'latin1'));
  } catch (e) {
    log.warn({ uri, err: (e as Error).message }, `dispatcher: cannot build the message for event_route[${name}]`);
    return;
  }
  const rcv = { proto: local.proto, srcIp: local.ip, srcPort: local.port, local, connId: null, time: Date.now() };
  try {
    const r = core.runRoute(script, route, msg, rcv, (ctx) => ctx.setExt(EVENT_INFO_KEY, info));
    if (!('code' in r)) r.catch((e: unknown) => log.error({ err: (e as Error).message }, `dispatcher: event_route[${name}] failed`));
  } catch (e) {
    log.error({ err: (e as Error).message }, `dispatcher: event_route[${name}] failed`);
  }
}
