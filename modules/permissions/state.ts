// Module state: the current address table (and trusted cache) and where they are loaded
// from. A reload builds new data and swaps it in only when reading succeeded, so bad input
// keeps the last good data.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CoreApi } from '../../src/core/core-api.js';
import { Ret, RpcError } from '../../src/core/module-api.js';
import type { Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import type { MsgContext } from '../../src/script/context.js';
import { checkVersion } from '../../src/db/schema.js';
import { AddressTable, type AddressRow } from './address-table.js';
import type { PermParams } from './index.js';
import { parsePvName, writePv, type PvTarget } from '../../src/script/pv-target.js';
import { queryAddressRows, readAddressFile } from './source.js';
import { matchTrusted, queryTrusted, type TrustedCols, type TrustedRule } from './trusted.js';

/** Kamailio permissions expects `address` table version 6 */
export const ADDRESS_TABLE_VERSION = 6;

export interface PermState {
  params: PermParams;
  log: Logger;
  table: AddressTable;
  tagTarget: PvTarget | null;
  /** resolved address_file path, or null when the DB (or nothing) is used */
  file: string | null;
  db: Db | null;
  lastReload: number;
  /** cached trusted rules (db_mode 1), null when not cached */
  trusted: TrustedRule[] | null;
  lastTrustedReload: number;
}

export async function createState(params: PermParams, log: Logger, core: CoreApi): Promise<PermState> {
  const st: PermState = {
    params,
    log,
    table: AddressTable.empty(),
    tagTarget: params.peer_tag_avp ? parsePvName(params.peer_tag_avp) : null,
    file: null,
    db: null,
    lastReload: 0,
    trusted: null,
    lastTrustedReload: 0,
  };
  if (params.db_url) st.db = openDb(params.db_url, log);
  if (params.address_file) {
    // Kamailio: a relative name is looked up next to the config file
    const base = dirname(resolve(core.script().file));
    st.file = isAbsolute(params.address_file) ? params.address_file : resolve(base, params.address_file);
  } else if (st.db) {
    await checkVersion(st.db, params.address_table, ADDRESS_TABLE_VERSION);
  } else {
    log.info('permissions: no address_file and no db_url; the address table is empty');
  }
  if (st.file || st.db) await reloadAddresses(st, false);
  if (st.db && params.db_mode === 1) await reloadTrusted(st, false);
  return st;
}

async function readRows(st: PermState): Promise<AddressRow[]> {
  if (st.file) {
    const r = readAddressFile(st.file);
    for (const b of r.bad) st.log.warn({ where: `${st.file}:${b.line}`, line: b.text.trim() }, `permissions: address file line skipped: ${b.why}`);
    return r.rows;
  }
  if (st.db) {
    const p = st.params;
    return queryAddressRows(st.db, {
      table: p.address_table,
      grp: p.grp_col,
      ip: p.ip_addr_col,
      mask: p.mask_col,
      port: p.port_col,
      tag: p.tag_col,
    });
  }
  return [];
}

/** re-read the source; returns the entry count. Throws (keeping the old table) on failure. */
export async function reloadAddresses(st: PermState, fromRpc: boolean): Promise<number> {
  const now = Date.now();
  if (fromRpc && st.params.reload_delta > 0 && now - st.lastReload < st.params.reload_delta * 1000) {
    throw new RpcError(500, `ongoing reload: wait ${st.params.reload_delta} s between reloads (reload_delta)`);
  }
  if (fromRpc) st.lastReload = now;
  let rows: AddressRow[];
  try {
    rows = await readRows(st);
  } catch (e) {
    st.log.error({ err: (e as Error).message, source: st.file ?? st.db?.displayUrl }, 'permissions: cannot read address data; keeping the previous table');
    throw e;
  }
  const { table, skipped } = AddressTable.build(rows, st.params.max_subnets, st.log);
  st.table = table;
  st.log.info(
    { hosts: table.hosts.length, subnets: table.subnets.length, domains: table.domains.length, skipped },
    'permissions: address table loaded',
  );
  return table.size;
}

function trustedCols(p: PermParams): TrustedCols {
  return {
    table: p.trusted_table,
    src: p.source_col,
    proto: p.proto_col,
    from: p.from_col,
    ruri: p.ruri_col,
    tag: p.tag_col,
    priority: p.priority_col,
  };
}

/** (re)cache the trusted table (db_mode 1); the old cache stays when reading fails */
export async function reloadTrusted(st: PermState, fromRpc: boolean): Promise<number> {
  if (!st.db) throw new RpcError(500, 'no db_url: there is no trusted table');
  if (st.params.db_mode !== 1) throw new RpcError(500, 'db_mode is 0: the trusted table is not cached');
  const now = Date.now();
  if (fromRpc && st.params.reload_delta > 0 && now - st.lastTrustedReload < st.params.reload_delta * 1000) {
    throw new RpcError(500, `ongoing reload: wait ${st.params.reload_delta} s between reloads (reload_delta)`);
  }
  if (fromRpc) st.lastTrustedReload = now;
  try {
    st.trusted = await queryTrusted(st.db, trustedCols(st.params), null, st.log);
  } catch (e) {
    st.log.error({ err: (e as Error).message }, 'permissions: cannot read the trusted table; keeping the previous entries');
    throw e;
  }
  st.log.info({ entries: st.trusted.length }, 'permissions: trusted table loaded');
  return st.trusted.length;
}

/** allow_trusted([src_ip, proto[, from_uri]]): 1 (or the match count with peer_tag_mode 1), -1 */
export async function allowTrusted(ctx: MsgContext, st: PermState, ip?: string, proto?: string, furi?: string): Promise<number> {
  if (!st.db) {
    st.log.warn('permissions: allow_trusted needs db_url');
    return Ret.FALSE;
  }
  let fromUri = furi;
  if (fromUri === undefined) {
    try {
      fromUri = ctx.msg.from().uri;
    } catch {
      return Ret.FALSE;
    }
  }
  const q = { src: ip ?? ctx.rcv.srcIp, proto: proto ?? ctx.rcv.proto, fromUri, ruri: ctx.ruri };
  let rules: TrustedRule[];
  if (st.params.db_mode === 1) rules = st.trusted ?? [];
  else {
    try {
      rules = await queryTrusted(st.db, trustedCols(st.params), q.src, st.log);
    } catch (e) {
      st.log.error({ err: (e as Error).message }, 'permissions: trusted table query failed');
      return Ret.FALSE;
    }
  }
  const all = st.params.peer_tag_mode === 1;
  const hits = matchTrusted(rules, q, all);
  if (hits.length === 0) return Ret.FALSE;
  if (st.tagTarget) for (const h of hits) if (h.tag !== null) writePv(ctx, st.tagTarget, h.tag);
  return all ? hits.length : Ret.OK;
}
