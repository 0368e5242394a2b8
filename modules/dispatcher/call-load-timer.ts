// Expiry of call-load entries (algorithm 10) every ds_hash_check_interval seconds, for calls
// whose BYE or failure never reached ds_load_update()/ds_load_unset().
import type { DsState } from './state.js';

export function startCallLoadSweep(st: DsState): void {
  if (st.p.ds_hash_size <= 0) return;
  const t = setInterval(() => {
    const n = st.callLoad.sweep();
    if (n > 0) st.log.info({ expired: n }, 'dispatcher: call load entries expired');
  }, st.p.ds_hash_check_interval * 1000);
  t.unref();
  st.timers.push(t);
}
