// What a reload would change, computed from two loads: routes, globals, module params.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { diffGlobals, diffModules, diffRoutes } from '../../src/control/config-diff.js';
import { defineModule, param } from '../../src/core/module-api.js';
import type { ModuleInstance } from '../../src/core/server.js';
import type { ModulePlan } from '../../src/config/load.js';

const base = `
loadmodule "sl.so"
route {
  route(A);
  sl_send_reply("404", "Not Found");
}
route[A] { if (method == "OPTIONS") { sl_send_reply("200", "OK"); exit; } }
route[B] { exit; }
failure_route[F] { exit; }
`;

async function routesOf(text: string) {
  const cfg = await loadConfig('mem.cfg', { text });
  expect(cfg.bag.format()).toBe('');
  return cfg.script!.routes;
}

describe('diffRoutes', () => {
  it('reports modified, added, removed; layout-only edits are unchanged', async () => {
    const a = await routesOf(base);
    const b = await routesOf(
      base
        .replace('"404", "Not Found"', '"486", "Busy Here"')
        .replace('route[B] { exit; }', '\n\n  route[C] { exit; }')
        .replace('failure_route[F] { exit; }', 'failure_route[F] {\n    exit;\n}'),
    );
    expect(diffRoutes(a, b)).toEqual({ added: ['route[C]'], removed: ['route[B]'], modified: ['request_route'], unchanged: 2 });
  });
});

describe('diffGlobals', () => {
  it('applies live parameters and keeps the running value of the others', () => {
    const running = new Map<string, (string | number | boolean)[]>([
      ['debug', [3]],
      ['children', [4]],
      ['listen', ['udp:1.2.3.4:5060']],
      ['server_header', ['Server: a']],
    ]);
    const next = new Map<string, (string | number | boolean)[]>([
      ['debug', [4]],
      ['children', [8]],
      ['listen', ['udp:1.2.3.4:5060', 'tcp:1.2.3.4:5060']],
      ['max_while_loops', [500]],
    ]);
    const d = diffGlobals(running, next);
    expect(d.applied.map((c) => c.name)).toEqual(['debug', 'max_while_loops', 'server_header']);
    expect(d.restart).toEqual([
      { scope: 'core', name: 'children', running: 4, configured: 8, why: 'restart required' },
      { scope: 'core', name: 'listen', running: ['udp:1.2.3.4:5060'], configured: ['udp:1.2.3.4:5060', 'tcp:1.2.3.4:5060'], why: 'restart required' },
    ]);
    expect(d.globals.get('debug')).toEqual([4]);
    expect(d.globals.get('children')).toEqual([4]);
    expect(d.globals.has('server_header')).toBe(false);
    expect(d.globals.get('max_while_loops')).toEqual([500]);
  });
});

describe('diffModules', () => {
  const def = defineModule({
    name: 'm',
    doc: 't',
    params: { realm: param.str('', { live: true }), db_url: param.str(''), noise: param.ignored() },
    functions: {},
    init: () => ({}),
    reconfigure: () => undefined,
  }) as unknown as ModuleInstance['def'];
  const stiff = { ...def, name: 'stiff', reconfigure: undefined } as ModuleInstance['def'];
  const inst = (d: ModuleInstance['def'], params: Record<string, unknown>): ModuleInstance => ({ def: d, params, holder: { state: {} } });
  const plan = (d: ModuleInstance['def'], params: Record<string, unknown>): ModulePlan => ({
    def: d,
    params,
    explicit: new Set(),
    holder: { state: undefined },
    loc: null,
  });

  it('splits live changes from restart-required ones and lists added/removed modules', () => {
    const running = new Map([
      ['m', inst(def, { realm: 'a', db_url: 'mysql://x', noise: null })],
      ['stiff', inst(stiff, { realm: 'a', db_url: '' })],
      ['gone', inst({ ...def, name: 'gone' } as ModuleInstance['def'], {})],
    ]);
    const newDef = { ...def, name: 'new' } as ModuleInstance['def'];
    const d = diffModules(running, [
      plan(def, { realm: 'b', db_url: 'mysql://y', noise: 5 }),
      plan(stiff, { realm: 'b', db_url: '' }),
      plan(newDef, {}),
    ]);
    expect(d.applied).toEqual([{ scope: 'm', name: 'realm', running: 'a', configured: 'b' }]);
    expect(d.restart.map((c) => `${c.scope}.${c.name}: ${c.why}`)).toEqual([
      'm.db_url: restart required',
      'stiff.realm: module cannot reconfigure at run time',
    ]);
    expect(d.reconfigure.get('m')).toEqual({ realm: 'b', db_url: 'mysql://x', noise: null });
    expect(d.added.map((p) => p.def.name)).toEqual(['new']);
    expect(d.removed).toEqual(['gone']);
  });
});
