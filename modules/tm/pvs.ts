// Pseudo-variables of tm: $T_reply_code, $T_reply_reason, $T_branch_idx (Kamailio tmx/tm).
import type { PvSpec } from '../../src/core/module-api.js';
import type { TmEngine } from './engine.js';
import { currentCode, currentReason } from './functions.js';
import { BRANCH_KEY } from './routes.js';

export const pvs: Record<string, PvSpec<TmEngine>> = {
  T_reply_code: { get: (ctx) => currentCode(ctx) },
  T_reply_reason: { get: (ctx) => currentReason(ctx) },
  T_branch_idx: { get: (ctx) => ctx.getExt<number>(BRANCH_KEY) ?? 0 },
};
