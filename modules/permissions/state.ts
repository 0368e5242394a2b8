// Module state: the current address table and where it is loaded from. A reload builds a new
// table and swaps it in only when reading succeeded, so bad input keeps the last good data.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CoreApi } from '../../src/core/core-api.js';
import { RpcError } from '../../src/core/module-api.js';
import type { Db } from '../../src/db/db.js';
import { openDb } from '../../src/db/open.js';
import { checkVersion } from '../../src/db/schema.js';
import { AddressTable, type AddressRow } from './address-table.js';
import type { PermParams } from './index.js';
import { parsePvName, type PvTarget } from './pv-name.js';
import { queryAddressRows, readAddressFile } from './source.js';

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
  };
  if (params.address_file) {
    // Kamailio: a relative name is looked up next to the config file
    const base = dirname(resolve(core.script().file));
    st.file = isAbsolute(params.address_file) ? params.address_file : resolve(base, params.address_file);
  } else if (params.db_url) {
    st.db = openDb(params.db_url, log);
    await checkVersion(st.db, params.address_table, ADDRESS_TABLE_VERSION);
  } else {
    log.info('permissions: no address_file and no db_url; the address table is empty');
    return st;
  }
  await reloadAddresses(st, false);
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
