// acc: accounting. tser implements explicit accounting records (acc_log_request) as
// structured log lines; Kamailio's flag-driven automatic accounting of transactions and the
// DB backend are not implemented yet: their parameters are accepted and a warning says so.
import { arg, defineModule, fnFor, optional, param, REQ_FAIL_BRANCH, Route } from '../../src/core/module-api.js';
import type { Logger } from 'pino';

interface AccState {
  log: Logger;
}

const fn = fnFor<AccState>();

export default defineModule({
  name: 'acc',
  doc: 'accounting records as structured log lines',
  params: {
    log_flag: param.int(-1),
    log_missed_flag: param.int(-1),
    log_level: param.int(1),
    log_facility: param.ignored('str'),
    log_extra: param.ignored('str'),
    db_flag: param.int(-1),
    db_missed_flag: param.int(-1),
    db_url: param.str(''),
    db_extra: param.ignored('str'),
    failed_transaction_flag: param.int(-1),
    early_media: param.ignored('int'),
    report_ack: param.ignored('int'),
    report_cancels: param.ignored('int'),
    detect_direction: param.ignored('int'),
    acc_time_mode: param.ignored('int'),
    cdr_enable: param.ignored('int'),
  },
  init: (env): AccState => {
    const p = env.params;
    if (p.log_flag >= 0 || p.db_flag >= 0 || p.log_missed_flag >= 0 || p.db_missed_flag >= 0)
      env.log.warn('acc: flag-driven transaction accounting is not implemented in tser; use acc_log_request() in the script');
    return { log: env.log };
  },
  functions: {
    acc_log_request: fn({
      args: [optional(arg.str())],
      routes: REQ_FAIL_BRANCH | Route.ONREPLY,
      run: (ctx, st, comment) => {
        let from = '';
        let to = '';
        try {
          from = ctx.msg.from().uri;
          to = ctx.msg.to().uri;
        } catch {
          // accounting a malformed request still logs what it has
        }
        st.log.info(
          { acc: true, method: ctx.msg.method, callId: ctx.msg.value('call-id'), from, to, ruri: ctx.ruri, src: ctx.rcv.srcIp, comment: comment ?? '' },
          'acc',
        );
        return 1;
      },
    }),
  },
});
