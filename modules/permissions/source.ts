// Where address rows come from: Kamailio's address file format (`grp ip [mask [port [tag]]]`,
// '#' comments) or the Kamailio 5.6 `address` table (version 6) through the DB layer.
import { readFileSync } from 'node:fs';
import type { Db } from '../../src/db/db.js';
import type { AddressRow } from './address-table.js';

export interface FileResult {
  rows: AddressRow[];
  /** lines that could not be read at all (bad group or port), reported and skipped */
  bad: { line: number; text: string; why: string }[];
}

export function parseAddressFile(text: string, file: string): FileResult {
  const rows: AddressRow[] = [];
  const bad: FileResult['bad'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const f = line.split(/\s+/);
    const where = `${file}:${i + 1}`;
    const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : s === undefined ? null : NaN);
    const grp = num(f[0]);
    const mask = num(f[2]);
    const port = num(f[3]);
    if (grp === null || Number.isNaN(grp) || f[1] === undefined) {
      bad.push({ line: i + 1, text: raw, why: 'expected: group address [mask [port [tag]]]' });
      return;
    }
    if (Number.isNaN(mask) || Number.isNaN(port)) {
      bad.push({ line: i + 1, text: raw, why: 'mask and port must be numbers' });
      return;
    }
    rows.push({ grp, ip_addr: f[1], mask, port: port ?? 0, tag: f[4] ?? null, where });
  });
  return { rows, bad };
}

export function readAddressFile(path: string): FileResult {
  return parseAddressFile(readFileSync(path, 'utf8'), path);
}

export interface AddressColumns {
  table: string;
  grp: string;
  ip: string;
  mask: string;
  port: string;
  tag: string;
}

function int(v: unknown, def: number): number {
  if (v === null || v === undefined || v === '') return def;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : NaN;
}

export async function queryAddressRows(db: Db, c: AddressColumns): Promise<AddressRow[]> {
  const rows = await db.query(c.table, { columns: [c.grp, c.ip, c.mask, c.port, c.tag] });
  return rows.map((r, i) => ({
    grp: int(r[c.grp], 1),
    ip_addr: String(r[c.ip] ?? ''),
    mask: int(r[c.mask], 32),
    port: int(r[c.port], 0),
    tag: r[c.tag] === null || r[c.tag] === undefined || r[c.tag] === '' ? null : String(r[c.tag]),
    where: `${c.table} row ${i + 1}`,
  }));
}
