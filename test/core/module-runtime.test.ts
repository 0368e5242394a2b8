// The module lifecycle: init in dependency order before the script compiles, all or none;
// argument fixups resolve module handles against the started modules (and report what they
// refuse at file:line:col); start hooks run before traffic; a reload that adds a module
// compiles against it; routes outside the request path run through CoreApi.runRoute.
import { afterAll, describe, expect, it } from 'vitest';
import { bindScript, loadConfig, type ModulePlan } from '../../src/config/load.js';
import { ArgError, fixup, type FunctionSpec, type ModuleDef, type ParamSpec } from '../../src/core/module-api.js';
import { initOrder, ModuleRuntime } from '../../src/core/module-runtime.js';
import type { UsrlocStore } from '../../modules/usrloc/store.js';
import { fakeCore } from '../helpers/offline.js';
import { startProxy } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { startControlled, type ControlledProxy } from '../control/helpers.js';
import { writeFileSync } from 'node:fs';

type AnyDef = ModuleDef<unknown, Record<string, ParamSpec>>;

function plan(name: string, deps: string[], init: () => unknown, events: string[]): ModulePlan {
  const def: AnyDef = {
    name,
    doc: name,
    deps: deps.map((module) => ({ module })),
    params: {},
    functions: {},
    init: () => {
      events.push(`init ${name}`);
      return init();
    },
    start: () => {
      events.push(`start ${name}`);
    },
    destroy: () => {
      events.push(`destroy ${name}`);
    },
  };
  return { def, params: {}, explicit: new Set(), holder: { state: undefined }, loc: null };
}

const core = fakeCore(() => {
  throw new Error('no script');
}, { replies: [], forwards: [] });

describe('module runtime', () => {
  it('orders init by declared deps, keeping load order otherwise', () => {
    const ev: string[] = [];
    const plans = [plan('registrar', ['usrloc'], () => ({}), ev), plan('sl', [], () => ({}), ev), plan('usrloc', [], () => ({}), ev)];
    expect(initOrder(plans).map((p) => p.def.name)).toEqual(['usrloc', 'registrar', 'sl']);
  });

  it('inits dependencies first, starts in the same order, destroys in reverse', async () => {
    const ev: string[] = [];
    const rt = new ModuleRuntime(core);
    await rt.init([plan('b', ['a'], () => ({ b: 1 }), ev), plan('a', [], () => ({ a: 1 }), ev)]);
    await rt.start();
    await rt.destroy();
    expect(ev).toEqual(['init a', 'init b', 'start a', 'start b', 'destroy b', 'destroy a']);
  });

  it('a failing init leaves no module behind: those started by the same call are destroyed', async () => {
    const ev: string[] = [];
    const rt = new ModuleRuntime(core);
    const bad = plan('bad', ['good'], () => {
      throw new Error('cannot open the database');
    }, ev);
    await expect(rt.init([bad, plan('good', [], () => ({}), ev)])).rejects.toThrow(/cannot open the database/);
    expect([...rt.modules.keys()]).toEqual([]);
    expect(ev).toEqual(['init good', 'init bad', 'destroy good']);
  });

  it('discard() undoes an init: module, hooks and pending start are gone', async () => {
    const ev: string[] = [];
    const rt = new ModuleRuntime(core);
    const p = plan('hooked', [], () => ({}), ev);
    p.def = { ...p.def, hooks: { request: () => 'continue' } };
    await rt.init([p]);
    expect(rt.requestHooks).toHaveLength(1);
    await rt.discard([p]);
    await rt.start();
    expect(rt.modules.size).toBe(0);
    expect(rt.requestHooks).toHaveLength(0);
    expect(ev).toEqual(['init hooked', 'destroy hooked']);
  });
});

describe('fixups against started modules', () => {
  const cfgText = `#!KAMAILIO
loadmodule "sl.so"
request_route {
	sl_send_reply("404", "Not Here");
}
`;

  it('resolve when the script is bound; what a fixup refuses is reported at file:line:col', async () => {
    const cfg = await loadConfig('fixup.cfg', { text: cfgText });
    expect(cfg.bag.hasErrors).toBe(false);
    const sl = cfg.modules[0]!;
    const seen: unknown[] = [];
    const original = sl.def.functions.sl_send_reply!;
    const checked: FunctionSpec<unknown> = {
      ...original,
      args: [
        fixup(original.args[0]!, (v: unknown, self: { allowed: string }) => {
          seen.push([v, self]);
          if (String(v) !== self.allowed) throw new ArgError(`code ${String(v)} is not allowed here`);
          return v;
        }),
        original.args[1]!,
      ],
    };
    sl.def = { ...sl.def, functions: { ...sl.def.functions, sl_send_reply: checked } };
    // the module has not started: the first compile leaves the fixup for later
    const unbound = bindScript(cfg);
    expect(unbound.bag.hasErrors).toBe(false);
    expect(seen).toEqual([]);
    sl.holder.state = { allowed: '200' };
    const refused = bindScript(cfg);
    expect(refused.script).toBeNull();
    expect(refused.bag.format()).toMatch(/code 404 is not allowed here\n --> fixup\.cfg:4:16/);
    sl.holder.state = { allowed: '404' };
    const ok = bindScript(cfg);
    expect(ok.script).not.toBeNull();
    expect(seen.at(-1)).toEqual([404, { allowed: '404' }]);
  });

  it("registrar's table argument registers the usrloc table before usrloc starts (no module globals)", async () => {
    const { server, port } = await startProxy(`#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
request_route {
	if (is_method("REGISTER")) { save("loc_fixup"); exit; }
	if (lookup("loc_fixup")) { sl_send_reply("299", "Found"); exit; }
	sl_send_reply("404", "Not Found");
}
`);
    const peer = await UdpPeer.open();
    try {
      const store = (server.modules.get('usrloc')!.holder.state as { store: UsrlocStore }).store;
      expect(store.domains().map((d) => d.name)).toEqual(['loc_fixup']);
      await peer.send(
        request({ method: 'REGISTER', ruri: 'sip:127.0.0.1', port: peer.port, callId: 'fx-reg', extra: ['Expires: 60'], from: 'sip:carol@127.0.0.1', to: 'sip:carol@127.0.0.1' }),
        port,
      );
      expect(statusOf((await peer.next((m) => m.text.includes('fx-reg'))).text)).toBe(200);
      await peer.send(request({ method: 'OPTIONS', ruri: 'sip:carol@127.0.0.1', port: peer.port, callId: 'fx-lookup' }), port);
      expect(statusOf((await peer.next((m) => m.text.includes('fx-lookup'))).text)).toBe(299);
    } finally {
      peer.close();
      await server.stop();
    }
  });
});

describe('a reload that adds modules', () => {
  let p: ControlledProxy;
  let peer: UdpPeer;
  afterAll(async () => {
    peer.close();
    await p.stop();
  });

  it('compiles the new script against them: registrar added live binds the running usrloc', async () => {
    const base = `#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
request_route {
	sl_send_reply("404", "Not Found");
}
`;
    p = await startControlled(base);
    p.server.setLogLevel('silent');
    peer = await UdpPeer.open();
    writeFileSync(
      p.file,
      base
        .replace('loadmodule "usrloc.so"', 'loadmodule "usrloc.so"\nloadmodule "registrar.so"')
        .replace('\tsl_send_reply("404", "Not Found");', '\tif (is_method("REGISTER")) { save("added_live"); exit; }\n\tif (lookup("added_live")) { sl_send_reply("299", "Found"); exit; }\n\tsl_send_reply("404", "Not Found");'),
    );
    const r = await p.control.reloadNow('test');
    expect(r.modules.added).toEqual(['registrar']);
    await peer.send(
      request({ method: 'REGISTER', ruri: 'sip:127.0.0.1', port: peer.port, callId: 'rl-reg', extra: ['Expires: 60'], from: 'sip:dave@127.0.0.1', to: 'sip:dave@127.0.0.1' }),
      p.port,
    );
    expect(statusOf((await peer.next((m) => m.text.includes('rl-reg'))).text)).toBe(200);
    await peer.send(request({ method: 'OPTIONS', ruri: 'sip:dave@127.0.0.1', port: peer.port, callId: 'rl-lookup' }), p.port);
    expect(statusOf((await peer.next((m) => m.text.includes('rl-lookup'))).text)).toBe(299);
  });
});
