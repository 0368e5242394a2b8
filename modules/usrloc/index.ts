// usrloc: the user location store (Kamailio 5.6 / SER 0.9 usrloc). Tables of AOR → contacts
// in memory, backed by the `location` table per db_mode (0 memory, 1 write-through,
// 2 write-back, 3 DB only, 4 read-only). The registrar binds to it with bindApi('usrloc').
import { defineModule } from '../../src/core/module-api.js';
import { openDb } from '../../src/db/open.js';
import type { UsrlocApi } from './api.js';
import { usrlocParams } from './params.js';
import { ulRpc, type RpcState } from './rpc.js';
import { UsrlocStore } from './store.js';

const DEFAULT_DB_URL = {
  kamailio: 'mysql://kamailio:kamailiorw@localhost/kamailio',
  ser: 'mysql://ser:heslo@localhost/ser',
} as const;

interface UsrlocState extends RpcState {
  /** tables to load at start besides those the script names (`preload`) */
  preload: readonly string[];
}

export default defineModule({
  name: 'usrloc',
  doc: 'user location: contacts per address-of-record, in memory and in the location table',
  params: usrlocParams,
  init: (env): UsrlocState => {
    const p = env.params;
    if (p.db_mode === 3 && env.dialect === 'ser') {
      env.log.warn('usrloc db_mode 3 (DB only) does not exist in SER 0.9; tser runs it as Kamailio does');
    }
    const url = p.db_url || DEFAULT_DB_URL[env.dialect];
    const db = p.db_mode === 0 ? null : openDb(url, env.log);
    const store = new UsrlocStore({ params: p, log: env.log, stats: env.core.stats, dialect: env.dialect, db });
    const preload = p.preload
      .split(/[,;\s]+/)
      .map((t) => t.trim())
      .filter(Boolean);
    env.log.debug({ dbMode: p.db_mode, db: db?.displayUrl ?? null }, 'usrloc ready');
    return { store, preload };
  },
  // the script's fixups have named their tables (registrar save/lookup): load those and
  // the `preload` ones before traffic
  start: (st: UsrlocState) => st.store.start(st.preload),
  api: (st): UsrlocApi => st.store,
  destroy: (st) => st.store.stop(),
  functions: {},
  rpc: ulRpc,
});
