// Build a usrloc store for unit tests: default params, a fake clock, an optional fake DB.
import pino from 'pino';
import { Stats } from '../../src/core/stats.js';
import type { Db } from '../../src/db/db.js';
import type { Dialect } from '../../src/core/dialect.js';
import { usrlocParams, type UsrlocParams } from '../../modules/usrloc/params.js';
import { UsrlocStore } from '../../modules/usrloc/store.js';
import type { ContactInfo } from '../../modules/usrloc/api.js';

export const T0 = 1_700_000_000;

export function defaultParams<P extends Record<string, { default: unknown }>>(spec: P): { [K in keyof P]: P[K]['default'] } {
  return Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, s.default])) as { [K in keyof P]: P[K]['default'] };
}

export interface TestStore {
  store: UsrlocStore;
  clock: { t: number };
  stats: Stats;
  log: pino.Logger;
}

export function makeStore(over: Partial<UsrlocParams> = {}, db: Db | null = null, dialect: Dialect = 'kamailio'): TestStore {
  const clock = { t: T0 };
  const stats = new Stats();
  const log = pino({ level: 'silent' });
  const params = { ...defaultParams(usrlocParams), ...over } as UsrlocParams;
  const store = new UsrlocStore({ params, log, stats, dialect, db, clock: () => clock.t });
  return { store, clock, stats, log };
}

export function ci(uri: string, expiresIn: number, o: Partial<ContactInfo> = {}, now = T0): ContactInfo {
  return { uri, expires: expiresIn === 0 ? 0 : now + expiresIn, callid: 'cid-1', cseq: 1, ...o };
}
