// Offline harness for registrar tests: compile a config that loads usrloc + registrar, give
// usrloc a fake clock and (optionally) a fake DB, then run REGISTERs/INVITEs through the
// request route and record the replies (OpenSIPS registrar/test style: real module, stub core).
import pino from 'pino';
import { bindScript, loadConfig } from '../../src/config/load.js';
import type { Db } from '../../src/db/db.js';
import type { Script } from '../../src/script/script.js';
import { SipMessage } from '../../src/sip/index.js';
import { UsrlocStore } from '../../modules/usrloc/store.js';
import type { UsrlocParams } from '../../modules/usrloc/params.js';
import { fakeCore, runRequest } from '../helpers/offline.js';
import { T0 } from '../usrloc/helpers.js';

export interface Harness {
  script: Script;
  store: UsrlocStore;
  clock: { t: number };
  run: (msg: SipMessage, srcIp?: string) => ReturnType<typeof runRequest>;
  stop: () => Promise<void>;
}

export async function harness(cfg: string, opts: { db?: Db | null } = {}): Promise<Harness> {
  const loaded = await loadConfig('test.cfg', { text: cfg });
  if (loaded.bag.hasErrors || !loaded.script) throw new Error(loaded.bag.format());
  const dialect = loaded.dialect!.dialect;
  const log = pino({ level: 'silent' });
  const clock = { t: T0 };
  const core = fakeCore(() => loaded.script!, { replies: [], forwards: [] });
  let store: UsrlocStore | null = null;
  for (const m of loaded.modules) {
    if (m.def.name === 'usrloc') {
      store = new UsrlocStore({ params: m.params as UsrlocParams, log, stats: core.stats, dialect, db: opts.db ?? null, clock: () => clock.t });
      m.holder.state = { store, preload: [] };
      continue;
    }
    m.holder.state = await m.def.init({
      params: m.params as never,
      log,
      core,
      dialect,
      bindApi: <T>(name: string) => (name === 'usrloc' ? (store as T | null) ?? undefined : undefined),
    });
  }
  if (!store) throw new Error('config does not load usrloc');
  // as the server does: compile against the started modules (fixups name the tables), then start usrloc
  const bound = bindScript(loaded);
  if (!bound.script) throw new Error(bound.bag.format());
  loaded.script = bound.script;
  await store.start([]);
  const s = store;
  // Date.now() drives nothing in registrar: the usrloc clock is the only time source
  return { script: loaded.script, store: s, clock, run: (msg, src) => runRequest(loaded.script!, msg, src), stop: () => s.stop() };
}

let cseqSeq = 0;

export interface RegOpts {
  aor?: string;
  contacts?: string[];
  expires?: number | string | null;
  callId?: string;
  cseq?: number;
  extra?: string[];
}

/** a REGISTER for sip:<aor>@example.com with the given Contact values */
export function register(o: RegOpts = {}): SipMessage {
  const aor = o.aor ?? 'alice';
  const lines = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK' + Math.random().toString(16).slice(2),
    `From: <sip:${aor}@example.com>;tag=ft${Math.random().toString(16).slice(2, 8)}`,
    `To: <sip:${aor}@example.com>`,
    `Call-ID: ${o.callId ?? 'reg-call-1@10.0.0.5'}`,
    `CSeq: ${o.cseq ?? ++cseqSeq} REGISTER`,
    'Max-Forwards: 70',
    ...(o.contacts ?? ['<sip:' + aor + '@10.0.0.5:5070>']).map((c) => `Contact: ${c}`),
    ...(o.expires === null || o.expires === undefined ? [] : [`Expires: ${o.expires}`]),
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return SipMessage.parse(Buffer.from(lines.join('\r\n'), 'latin1'));
}

export function invite(ruri: string, extra: string[] = []): SipMessage {
  const text = [
    `INVITE ${ruri} SIP/2.0`,
    'Via: SIP/2.0/UDP 10.0.0.9:5080;branch=z9hG4bKinv' + Math.random().toString(16).slice(2),
    'From: <sip:bob@example.com>;tag=b1',
    `To: <${ruri}>`,
    'Call-ID: inv-1@10.0.0.9',
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return SipMessage.parse(Buffer.from(text, 'latin1'));
}

/** header value from a recorded reply's header list */
export function hdr(headers: string[] | undefined, name: string): string | undefined {
  const h = (headers ?? []).find((x) => x.toLowerCase().startsWith(name.toLowerCase() + ':'));
  return h?.slice(name.length + 1).trim();
}
