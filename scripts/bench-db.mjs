#!/usr/bin/env node
// DB layer benchmark: the auth_db hot query (`query('subscriber', { columns, where: { username },
// limit: 1 })`) COUNT times with INFLIGHT in flight, against a scratch table in database `test`
// on the local MariaDB, through:
//   baseline  the mysql:// driver as it was (src/db/mysql.ts at --baseline-rev, transpiled
//             here: mysql2/promise pool, getConnection/release and SQL text per query)
//   new       the current dist/ driver (default options)
//   new-d<N>  the current driver with pipelineDepth N (--depths 4,64: N queries handed to a
//             connection at once; mysql2 queues them there)
//   handle    with --handle: the current driver behind openDb()'s shared handle, as modules
//             use it
// Prints queries/s and process CPU µs per query (process.cpuUsage: this process only), the
// median over --rounds, and each as a ratio to the baseline.
//
//   npm run build && node scripts/bench-db.mjs [--count 20000] [--inflight 64] [--rounds 3]
//        [--url mysql://root@127.0.0.1/test] [--depths 64] [--handle] [--baseline-rev <git rev>]
//
// --baseline-rev defaults to HEAD when src/db/mysql.ts has uncommitted changes, else to the
// parent of the last commit that changed it.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('src/db/mysql.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const { values: a } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    url: { type: 'string', default: 'mysql://root@127.0.0.1/test' },
    depths: { type: 'string', default: '64' },
    handle: { type: 'boolean', default: false },
    'baseline-rev': { type: 'string', default: '' },
  },
});
const COUNT = Number(a.count);
const INFLIGHT = Number(a.inflight);
const ROUNDS = Number(a.rounds);
const USERS = 1000;
const TABLE = 'bench_db_subscriber';

const pino = (await import('pino')).default;
const log = pino({ level: 'silent' });
const { MysqlDb, createMysqlDatabase } = await import(pathToFileURL(dist('src/db/mysql.js')).href);
const { parseDbUrl, maskDbUrl } = await import(pathToFileURL(dist('src/db/url.js')).href);
const { tableDef } = await import(pathToFileURL(dist('src/db/schema.js')).href);
const { openDb } = await import(pathToFileURL(dist('src/db/open.js')).href);

// ---- the baseline driver, from git ----
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
function baselineRev() {
  if (a['baseline-rev']) return a['baseline-rev'];
  const dirty = git('status', '--porcelain', '--', 'src/db/mysql.ts').trim() !== '';
  if (dirty) return 'HEAD';
  return `${git('rev-list', '-1', 'HEAD', '--', 'src/db/mysql.ts').trim()}^`;
}
const rev = baselineRev();
const ts = (await import('typescript')).default;
const oldSrc = git('show', `${rev}:src/db/mysql.ts`);
// next to the built driver, so that './db.js' and the mysql2 package resolve the same way
const baselineFile = dist('src/db/.bench-baseline-mysql.js');
writeFileSync(baselineFile, ts.transpileModule(oldSrc, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
let Baseline;
try {
  ({ MysqlDb: Baseline } = await import(pathToFileURL(baselineFile).href));
} finally {
  rmSync(baselineFile, { force: true });
}

// ---- scratch table ----
const cfg = parseDbUrl(a.url);
const display = maskDbUrl(a.url);
await createMysqlDatabase(a.url);
{
  const db = new MysqlDb(cfg, display, log);
  await db.dropTable(TABLE);
  await db.createTable({ ...tableDef('subscriber'), name: TABLE, indexes: [{ name: 'account_idx', columns: ['username', 'domain'], unique: true }] });
  for (let i = 0; i < USERS; i += 100) {
    const vals = [];
    for (let k = i; k < i + 100; k++) vals.push(`('user${k}', 'bench.example', 'pw${k}', '${'a'.repeat(32)}', '${'b'.repeat(32)}')`);
    await db.raw(`INSERT INTO ${TABLE} (username, domain, password, ha1, ha1b) VALUES ${vals.join(', ')}`);
  }
  await db.close();
}

const names = Array.from({ length: USERS }, (_, i) => `user${i}`);
const COLUMNS = ['password', 'ha1'];

async function load(db, n) {
  let next = 0;
  let bad = 0;
  async function worker() {
    while (next < n) {
      const k = next++;
      const rows = await db.query(TABLE, { columns: COLUMNS, where: { username: names[k % USERS] }, limit: 1 });
      if (rows.length !== 1 || rows[0].password !== `pw${k % USERS}`) bad++;
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  if (bad) throw new Error(`${bad} wrong answers`);
}

async function measure(make) {
  const db = make();
  await load(db, 2000); // connect, prepare, warm up the JIT
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await load(db, COUNT);
  const ns = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  await db.close();
  return { qps: COUNT / (ns / 1e9), cpuUs: (c.user + c.system) / COUNT };
}

const impls = [
  ['baseline', () => new Baseline(cfg, display, log)],
  ['new', () => new MysqlDb(cfg, display, log)],
  ...a.depths
    .split(',')
    .filter(Boolean)
    .map((d) => [`new-d${d}`, () => new MysqlDb(cfg, display, log, { pipelineDepth: Number(d) })]),
  ...(a.handle ? [['handle', () => openDb(a.url, log)]] : []),
];
const results = new Map(impls.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) {
  // rotate the order so no variant always runs first
  for (let i = 0; i < impls.length; i++) {
    const [name, make] = impls[(i + r) % impls.length];
    results.get(name).push(await measure(make));
  }
}

{
  const db = new MysqlDb(cfg, display, log);
  await db.dropTable(TABLE);
  await db.close();
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`bench-db: ${COUNT} queries, ${INFLIGHT} in flight, ${ROUNDS} rounds (median), baseline = src/db/mysql.ts at ${rev}`);
const base = { qps: median(results.get('baseline').map((x) => x.qps)), cpuUs: median(results.get('baseline').map((x) => x.cpuUs)) };
for (const [name] of impls) {
  const qps = median(results.get(name).map((x) => x.qps));
  const cpuUs = median(results.get(name).map((x) => x.cpuUs));
  console.log(
    `${name.padEnd(10)} ${qps.toFixed(0).padStart(7)} queries/s  ${cpuUs.toFixed(1).padStart(6)} µs CPU/query` +
      `   ratio to baseline: queries/s ${(qps / base.qps).toFixed(2)}  CPU/query ${(cpuUs / base.cpuUs).toFixed(2)}`,
  );
}
