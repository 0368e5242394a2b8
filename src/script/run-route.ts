// Running a route outside the request path (tm's failure, onreply and branch routes, event
// routes): the core builds the message context here, so modules never construct one.
import type { CoreApi, RouteRun } from '../core/core-api.js';
import type { SipMessage } from '../sip/message.js';
import type { ReceiveInfo } from '../transport/types.js';
import { MsgContext } from './context.js';
import type { CompiledRoute, Script } from './script.js';

export function runRouteOn(
  core: CoreApi,
  script: Script,
  route: CompiledRoute,
  msg: SipMessage,
  rcv: ReceiveInfo,
  prepare?: (ctx: MsgContext) => void,
): RouteRun | Promise<RouteRun> {
  const ctx = new MsgContext(msg, rcv, script, core, route.type);
  if (prepare !== undefined) prepare(ctx);
  const r = script.run(route, ctx);
  return typeof r === 'number' ? { ctx, code: r } : r.then((code) => ({ ctx, code }));
}
