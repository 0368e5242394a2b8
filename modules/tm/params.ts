// tm module parameters with Kamailio's names. Timer values are in the dialect's unit
// (SER 0.9: seconds, Kamailio 5.x: milliseconds); -1 means "the dialect's default".
// resolveTimers() turns them into milliseconds once, at init and on reconfigure.
import { param, type ParamValues } from '../../src/core/module-api.js';
import type { Dialect } from '../../src/core/dialect.js';

const dialectDefault = (o: { live?: boolean } = { live: true }) => param.int(-1, o);

export const tmParams = {
  fr_timer: dialectDefault(),
  fr_inv_timer: dialectDefault(),
  wt_timer: dialectDefault(),
  retr_timer1: dialectDefault(),
  retr_timer2: dialectDefault(),
  max_inv_lifetime: dialectDefault(),
  max_noninv_lifetime: dialectDefault(),
  /** SER 0.9 names for T1 (seconds); retr_timer1p1 is used as T1, p2/p3 follow from doubling */
  retr_timer1p1: param.int(-1, { live: true }),
  retr_timer1p2: param.ignored('int'),
  retr_timer1p3: param.ignored('int'),
  delete_timer: param.ignored('int'),
  noisy_ctimer: param.int(-1, { live: true }),
  auto_inv_100: param.bool(true, { live: true }),
  auto_inv_100_reason: param.str('trying -- your call is important to us', { live: true }),
  restart_fr_on_each_reply: param.bool(true, { live: true }),
  unmatched_cancel: param.int(0, { min: 0, max: 2, live: true }),
  cancel_b_method: param.int(1, { min: 0, max: 2, live: true }),
  ruri_matching: param.bool(true, { live: true }),
  via1_matching: param.bool(true, { live: true }),
  failure_reply_mode: param.int(3, { min: 0, max: 3, live: true }),
  faked_reply_prio: param.int(0, { live: true }),
  default_code: param.int(500, { min: 400, max: 699, live: true }),
  default_reason: param.str('Server Internal Error', { live: true }),
  local_cancel_reason: param.bool(true, { live: true }),
  e2e_cancel_reason: param.bool(true, { live: true }),
  /** tser: server transactions alive at once; past it new ones are refused with 503 (0 = no cap) */
  max_transactions: param.int(50000, { min: 0, live: true }),
  reparse_invite: param.ignored('int'),
  fr_timer_avp: param.ignored('str'),
  fr_inv_timer_avp: param.ignored('str'),
  contacts_avp: param.ignored('str'),
  contact_flows_avp: param.ignored('str'),
  pass_provisional_replies: param.ignored('int'),
  enable_stats: param.ignored('int'),
  tm_auto_inv_100: param.ignored('int'),
};

export type TmParams = ParamValues<typeof tmParams>;

/** everything the engine needs, timers in ms */
export interface TmConfig {
  frTimer: number;
  frInvTimer: number;
  wtTimer: number;
  t1: number;
  t2: number;
  maxInvLifetime: number;
  maxNoninvLifetime: number;
  noisyCtimer: boolean;
  autoInv100: boolean;
  autoInv100Reason: string;
  restartFrOnEachReply: boolean;
  unmatchedCancel: number;
  cancelBMethod: number;
  rfc2543RuriMatching: boolean;
  rfc2543ViaMatching: boolean;
  fakedReplyPrio: number;
  failureReplyMode: number;
  defaultCode: number;
  defaultReason: string;
  localCancelReason: boolean;
  e2eCancelReason: boolean;
  /** new server transactions are refused (503) while this many are alive */
  maxTransactions: number;
}

/** SER 0.9 (modules/tm/config.h, seconds) and Kamailio 5.6 (README.tm, ms) defaults */
const DEFAULTS: Record<Dialect, { fr: number; frInv: number; wt: number; t1: number; t2: number; maxInv: number; maxNoninv: number; noisy: boolean }> = {
  ser: { fr: 30, frInv: 120, wt: 5, t1: 0.5, t2: 4, maxInv: 180, maxNoninv: 32, noisy: false },
  kamailio: { fr: 30000, frInv: 120000, wt: 5000, t1: 500, t2: 4000, maxInv: 180000, maxNoninv: 32000, noisy: true },
};

export function resolveConfig(p: TmParams, dialect: Dialect): TmConfig {
  const d = DEFAULTS[dialect];
  const unit = dialect === 'ser' ? 1000 : 1;
  const ms = (v: number, def: number): number => Math.max(1, Math.round((v >= 0 ? v : def) * unit));
  const t1Raw = p.retr_timer1 >= 0 ? p.retr_timer1 : dialect === 'ser' && p.retr_timer1p1 >= 0 ? p.retr_timer1p1 : d.t1;
  return {
    frTimer: ms(p.fr_timer, d.fr),
    frInvTimer: ms(p.fr_inv_timer, d.frInv),
    wtTimer: ms(p.wt_timer, d.wt),
    t1: ms(t1Raw, d.t1),
    t2: ms(p.retr_timer2, d.t2),
    maxInvLifetime: ms(p.max_inv_lifetime, d.maxInv),
    maxNoninvLifetime: ms(p.max_noninv_lifetime, d.maxNoninv),
    noisyCtimer: p.noisy_ctimer >= 0 ? p.noisy_ctimer !== 0 : d.noisy,
    autoInv100: p.auto_inv_100,
    autoInv100Reason: p.auto_inv_100_reason,
    restartFrOnEachReply: p.restart_fr_on_each_reply,
    unmatchedCancel: p.unmatched_cancel,
    cancelBMethod: p.cancel_b_method,
    rfc2543RuriMatching: p.ruri_matching,
    rfc2543ViaMatching: p.via1_matching,
    fakedReplyPrio: p.faked_reply_prio,
    failureReplyMode: p.failure_reply_mode,
    defaultCode: p.default_code,
    defaultReason: p.default_reason,
    localCancelReason: p.local_cancel_reason,
    e2eCancelReason: p.e2e_cancel_reason,
    maxTransactions: p.max_transactions > 0 ? p.max_transactions : Number.MAX_SAFE_INTEGER,
  };
}
