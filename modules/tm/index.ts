// tm: stateful forwarding (RFC 3261 §16, §17) the way Kamailio's tm does it — export table only.
import { defineModule } from '../../src/core/module-api.js';
import { makeApi } from './api.js';
import { TmEngine } from './engine.js';
import { currentCode, functions } from './functions.js';
import { replyHook, requestHook } from './hooks.js';
import { resolveConfig, tmParams } from './params.js';
import { pvs } from './pvs.js';

export type { TmApi, UacRequest, UacResult } from './api.js';

export default defineModule({
  name: 'tm',
  doc: 'transaction management: stateful forwarding, retransmissions, timers, CANCEL, failure routes, forking',
  deps: [{ module: 'sl', optional: true }],
  params: tmParams,
  init: (env): TmEngine => {
    const tm = new TmEngine(env.core, env.log, resolveConfig(env.params, env.dialect), env.dialect);
    tm.start();
    return tm;
  },
  reconfigure: (tm, params) => tm.setConfig(resolveConfig(params, tm.dialect)),
  destroy: (tm) => tm.stop(),
  api: (tm) => makeApi(tm, currentCode),
  hooks: {
    request: (ctx, tm) => requestHook(ctx, tm),
    reply: (msg, rcv, tm) => replyHook(msg, rcv, tm),
  },
  functions,
  pvs,
  rpc: {
    'tm.stats': { help: 'transaction statistics (current, waiting, total, replies by class)', run: (tm) => tm.stats() },
    'tm.hash_stats': {
      help: 'transaction table sizes',
      run: (tm) => ({ server_transactions: tm.servers.size, client_branches: tm.clients.size, timers: tm.wheel.count }),
    },
  },
});
