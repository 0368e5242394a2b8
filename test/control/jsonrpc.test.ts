// JSON-RPC framing and dispatch without sockets: document splitting, request validation,
// error codes, batches, notifications, module RPC lookup and failing handlers.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { JsonFramer, scanJsonEnd } from '../../src/control/json-scan.js';
import { handleJsonRpc, parseDocument, type JsonRpcResponse, type RpcCaller } from '../../src/control/jsonrpc.js';
import { Dispatcher, type ControlMethod } from '../../src/control/dispatcher.js';
import { defineModule, RpcError } from '../../src/core/module-api.js';
import type { ModuleInstance } from '../../src/core/server.js';

const log = pino({ level: 'silent' });

describe('JsonFramer', () => {
  it('splits concatenated, newline-separated and chunked documents', () => {
    const f = new JsonFramer();
    expect(f.push('{"a":1}{"b":"}"}\n[1,2]')).toEqual([{ doc: '{"a":1}' }, { doc: '{"b":"}"}' }, { doc: '[1,2]' }]);
    expect(f.push('{"c":')).toEqual([]);
    expect(f.push(' "x\\"{"}\n')).toEqual([{ doc: '{"c": "x\\"{"}' }]);
    expect(f.pending).toBe(0);
  });

  it('hands on a garbage line as one document (for a parse error) and marks oversized input', () => {
    const f = new JsonFramer(32);
    expect(f.push('not json\n{"ok":1}')).toEqual([{ doc: 'not json' }, { doc: '{"ok":1}' }]);
    expect(f.push(`{"x":"${'y'.repeat(64)}`)).toEqual([{ tooLarge: true }]);
  });

  it('decodes UTF-8 split across chunks', () => {
    const f = new JsonFramer();
    const b = Buffer.from('{"n":"é"}');
    expect(f.push(b.subarray(0, 7))).toEqual([]);
    expect(f.push(b.subarray(7))).toEqual([{ doc: '{"n":"é"}' }]);
  });

  it('scanJsonEnd ignores brackets in strings', () => {
    expect(scanJsonEnd('{"a":"]}"} tail', 0)).toBe(10);
    expect(scanJsonEnd('{"a":[1,2', 0)).toBe(-1);
  });
});

const echo: RpcCaller = {
  call: async (method, params) => {
    if (method === 'echo') return params;
    if (method === 'fail') throw new RpcError(404, 'nothing here', { why: 'test' });
    if (method === 'crash') throw new Error('boom');
    throw new RpcError(-32601, `Method not found: ${method}`);
  },
};
const info = { transport: 'test' };

async function run(text: string): Promise<JsonRpcResponse | JsonRpcResponse[] | null> {
  const p = parseDocument(text);
  if (!p.ok) return p.response;
  return handleJsonRpc(p.value, echo, info);
}

describe('handleJsonRpc', () => {
  it('answers a call with result and the same id', async () => {
    expect(await run('{"jsonrpc":"2.0","method":"echo","params":[1,"a",true,null],"id":7}')).toEqual({
      jsonrpc: '2.0',
      result: [1, 'a', true, null],
      id: 7,
    });
  });

  it('takes by-name params in order', async () => {
    expect(await run('{"jsonrpc":"2.0","method":"echo","params":{"x":"a","y":2},"id":"s"}')).toMatchObject({ result: ['a', 2], id: 's' });
  });

  it('-32700 on malformed JSON, -32600 on invalid requests', async () => {
    expect(await run('{"jsonrpc":"2.0",')).toMatchObject({ error: { code: -32700 }, id: null });
    expect(await run('"just a string"')).toMatchObject({ error: { code: -32600 } });
    expect(await run('{"jsonrpc":"1.0","method":"echo","id":1}')).toMatchObject({ error: { code: -32600 }, id: 1 });
    expect(await run('{"jsonrpc":"2.0","method":5,"id":1}')).toMatchObject({ error: { code: -32600 } });
    expect(await run('{"jsonrpc":"2.0","method":"echo","id":{"x":1}}')).toMatchObject({ error: { code: -32600 }, id: null });
    expect(await run('[]')).toMatchObject({ error: { code: -32600 } });
  });

  it('-32602 on params that are not a list of scalars', async () => {
    expect(await run('{"jsonrpc":"2.0","method":"echo","params":"x","id":1}')).toMatchObject({ error: { code: -32602 } });
    expect(await run('{"jsonrpc":"2.0","method":"echo","params":[[1]],"id":1}')).toMatchObject({ error: { code: -32602 } });
  });

  it('keeps handler error codes and data; other exceptions are 500', async () => {
    expect(await run('{"jsonrpc":"2.0","method":"fail","id":1}')).toEqual({
      jsonrpc: '2.0',
      error: { code: 404, message: 'nothing here', data: { why: 'test' } },
      id: 1,
    });
    expect(await run('{"jsonrpc":"2.0","method":"crash","id":2}')).toMatchObject({ error: { code: 500, message: 'boom' } });
  });

  it('runs batches in order and answers only calls with an id', async () => {
    const r = await run('[{"jsonrpc":"2.0","method":"echo","params":[1],"id":1},{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"nope","id":3}]');
    expect(r).toEqual([
      { jsonrpc: '2.0', result: [1], id: 1 },
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found: nope' }, id: 3 },
    ]);
    expect(await run('{"jsonrpc":"2.0","method":"echo"}')).toBeNull();
  });
});

function fakeModules(): Map<string, ModuleInstance> {
  const def = defineModule({
    name: 'fake',
    doc: 'test',
    params: {},
    functions: {},
    init: () => ({ n: 41 }),
    rpc: {
      'fake.get': { help: 'state value', run: (st: { n: number }) => st.n + 1 },
      'fake.coded': {
        help: 'module error class with a numeric code',
        run: () => {
          const e = new Error('AOR not found') as Error & { code: number };
          e.code = 404;
          throw e;
        },
      },
      'fake.throw': {
        help: 'throws',
        run: () => {
          throw new TypeError('bad state');
        },
      },
      'fake.hang': { help: 'never answers', run: () => new Promise(() => undefined) },
      'core.version': { help: 'shadowed by the control plane', run: () => 'module' },
    },
  });
  return new Map([['fake', { def: def as unknown as ModuleInstance['def'], params: {}, holder: { state: { n: 41 } } }]]);
}

describe('Dispatcher', () => {
  const own = new Map<string, ControlMethod>([['core.version', { help: 'v', run: () => 'core' }]]);
  const d = new Dispatcher({ modules: fakeModules() }, own, log, 300);

  it('finds module methods generically and passes the module state', async () => {
    expect(await d.call('fake.get', [], info)).toBe(42);
    expect(d.names()).toEqual(['core.version', 'fake.coded', 'fake.get', 'fake.hang', 'fake.throw']);
  });

  it('prefers its own methods over a module method of the same name', async () => {
    expect(await d.call('core.version', [], info)).toBe('core');
  });

  it('maps errors: unknown → -32601, numeric code kept, exceptions → 500, hang → timeout 500', async () => {
    await expect(d.call('nope', [], info)).rejects.toMatchObject({ rpcCode: -32601 });
    await expect(d.call('fake.coded', [], info)).rejects.toMatchObject({ rpcCode: 404, message: 'AOR not found' });
    await expect(d.call('fake.throw', [], info)).rejects.toMatchObject({ rpcCode: 500, message: 'bad state' });
    await expect(d.call('fake.hang', [], info)).rejects.toMatchObject({ rpcCode: 500, message: expect.stringMatching(/timed out/) });
  });
});
