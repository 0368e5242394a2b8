// JSON-RPC 2.0 framing shared by every transport (unix/TCP stream, UDP, FIFO): validate a
// request or batch, call the dispatcher, build the response. Errors are JSON-RPC error
// objects (-32700 parse, -32600 invalid request, -32601 no such method, -32602 bad params,
// handler failures keep their own code, default 500 as Kamailio's jsonrpcs).
import { RpcError, type RpcParams } from '../core/module-api.js';

export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
} as const;

export type JsonRpcId = string | number | null;

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  result?: unknown;
  error?: JsonRpcError;
  id: JsonRpcId;
}

/** where a call came from (logs, and methods that behave per transport) */
export interface CallInfo {
  transport: string;
}

export interface RpcCaller {
  call(method: string, params: RpcParams, info: CallInfo): Promise<unknown>;
}

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', error: data === undefined ? { code, message } : { code, message, data }, id };
}

/** JSON.parse that answers -32700 instead of throwing */
export function parseDocument(text: string): { ok: true; value: unknown } | { ok: false; response: JsonRpcResponse } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, response: errorResponse(null, JsonRpcCode.PARSE_ERROR, `Parse error: ${(e as Error).message}`) };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** positional params; by-name params are taken in order (as Kamailio's jsonrpcs does) */
function normalizeParams(p: unknown): RpcParams | null {
  if (p === undefined) return [];
  const list = Array.isArray(p) ? p : isObject(p) ? Object.values(p) : null;
  if (!list || !list.every(isPrimitive)) return null;
  return list;
}

/** run one parsed document (request or batch); null when nothing is to be answered */
export async function handleJsonRpc(
  value: unknown,
  caller: RpcCaller,
  info: CallInfo,
): Promise<JsonRpcResponse | JsonRpcResponse[] | null> {
  if (Array.isArray(value)) {
    if (value.length === 0) return errorResponse(null, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: empty batch');
    const out: JsonRpcResponse[] = [];
    // sequentially: a batch may hold a reload followed by calls that expect its effect
    for (const v of value) {
      const r = await handleOne(v, caller, info);
      if (r) out.push(r);
    }
    return out.length ? out : null;
  }
  return handleOne(value, caller, info);
}

async function handleOne(v: unknown, caller: RpcCaller, info: CallInfo): Promise<JsonRpcResponse | null> {
  if (!isObject(v)) return errorResponse(null, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: expected an object');
  const hasId = 'id' in v;
  const rawId = v.id;
  if (hasId && !(rawId === null || typeof rawId === 'string' || typeof rawId === 'number'))
    return errorResponse(null, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: id must be a string, number or null');
  const id: JsonRpcId = hasId ? (rawId as JsonRpcId) : null;
  // "jsonrpc" may be left out (hand-typed requests); when present it must say 2.0
  if ('jsonrpc' in v && v.jsonrpc !== '2.0') return errorResponse(id, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"');
  if (typeof v.method !== 'string' || v.method === '')
    return errorResponse(id, JsonRpcCode.INVALID_REQUEST, 'Invalid Request: method must be a non-empty string');
  const params = normalizeParams(v.params);
  let response: JsonRpcResponse;
  if (!params) {
    response = errorResponse(id, JsonRpcCode.INVALID_PARAMS, 'Invalid params: expected an array (or object) of strings, numbers, booleans');
  } else {
    try {
      const result = await caller.call(v.method, params, info);
      response = { jsonrpc: '2.0', result: result === undefined ? null : result, id };
    } catch (e) {
      response =
        e instanceof RpcError
          ? errorResponse(id, e.rpcCode, e.message, e.data)
          : errorResponse(id, 500, (e as Error)?.message ?? String(e));
    }
  }
  return hasId ? response : null; // a notification gets no answer (JSON-RPC 2.0 §4.1)
}
