// Pseudo-variables: $xavp(_dsdst_[i]=>uri|grp|attrs|dstid) and $xavp(_dsctx_=>cnt) read the
// failover list as Kamailio scripts do; $dsv(code|reason|flags) in the dispatcher event routes.
import type { PvSpec, PvValue } from '../../src/core/module-api.js';
import { EVENT_INFO_KEY, type DsEventInfo } from './events.js';
import { getCount, getRecords, parseXavpInner, type DsRecord, type XavpRef } from './failover.js';
import type { DsState } from './state.js';

function field(r: DsRecord, f: string): PvValue {
  switch (f) {
    case 'uri':
      return r.uri;
    case 'grp':
      return r.grp;
    case 'attrs':
      return r.attrs || null;
    case 'dstid':
      return r.dstid ?? null;
    default:
      return null;
  }
}

export const pvs: Record<string, PvSpec<DsState>> = {
  xavp: {
    parseInner: (inner) => parseXavpInner(inner),
    get: (ctx, st, inner) => {
      const ref = inner as XavpRef;
      if (ref.name === st.p.xavp_ctx) return ref.field === 'cnt' && ref.index === 0 ? getCount(ctx, ref.name) : null;
      if (ref.name !== st.p.xavp_dst || ref.field === null) return null;
      const r = getRecords(ctx, ref.name)[ref.index];
      return r ? field(r, ref.field) : null;
    },
  },
  dsv: {
    parseInner: (inner) => {
      const k = (inner ?? '').trim();
      if (k !== 'code' && k !== 'reason' && k !== 'flags') throw new Error(`bad $dsv key "${k}": expected code, reason or flags`);
      return k;
    },
    get: (ctx, _st, inner) => {
      const info = ctx.getExt<DsEventInfo>(EVENT_INFO_KEY);
      if (!info) return null;
      return inner === 'code' ? info.code : inner === 'reason' ? info.reason : info.flags;
    },
  },
};
