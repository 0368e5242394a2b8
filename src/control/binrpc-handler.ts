// One BINRPC request packet in, one reply or fault packet out: decode, call the method
// table, encode. Errors become faults with Kamailio's codes and wording where kamcmd users
// see them ("500 - command x.y not found"); nothing here throws.
import { RpcError } from '../core/module-api.js';
import { BinRpcError, BinRpcPacket, encodeFault, encodeReply, parseRequest, type BinRpcHeader } from './binrpc.js';
import { JsonRpcCode, type RpcCaller } from './jsonrpc.js';

export type BinRpcHandler = (header: BinRpcHeader, body: Buffer, transport: string) => Promise<Buffer>;

/** a fault code kamcmd users expect: JSON-RPC's negative codes become 400/500 */
function faultCode(e: RpcError): number {
  if (e.rpcCode > 0) return e.rpcCode;
  return e.rpcCode === JsonRpcCode.INVALID_PARAMS || e.rpcCode === JsonRpcCode.INVALID_REQUEST ? 400 : 500;
}

export function binRpcHandler(caller: RpcCaller): BinRpcHandler {
  return async (header, body, transport) => {
    const cookie = header.cookie;
    if (header.type !== BinRpcPacket.REQ) return encodeFault(cookie, 400, `not a request (packet type ${header.type})`);
    let req;
    try {
      req = parseRequest(body);
    } catch (e) {
      return encodeFault(cookie, e instanceof BinRpcError ? e.code : 400, `bad request: ${(e as Error).message}`);
    }
    try {
      const result = await caller.call(req.method, req.params, { transport: `binrpc ${transport}` });
      return encodeReply(cookie, result);
    } catch (e) {
      if (e instanceof RpcError) {
        if (e.rpcCode === JsonRpcCode.METHOD_NOT_FOUND) return encodeFault(cookie, 500, `command ${req.method} not found`);
        return encodeFault(cookie, faultCode(e), e.message);
      }
      if (e instanceof BinRpcError) return encodeFault(cookie, e.code, e.message);
      return encodeFault(cookie, 500, (e as Error)?.message ?? String(e));
    }
  };
}
