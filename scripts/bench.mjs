#!/usr/bin/env node
// npm run bench [-- compare.sh options]: (1) the in-process CPU cost per scenario on the
// yardstick's config (scripts/bench-inproc.mjs: no SIPp, no kernel send cost), then (2) the
// yardstick itself (../shared/bench/compare.sh): Kamailio 5.6 and tser on the same config,
// MariaDB and SIPp load, interleaved, printed as tser/Kamailio ratios.
// Default yardstick run: every scenario at a fixed rate for 10 s (a few minutes); pass
// e.g. `-- --reps 2 --find-max --step-duration 10` for the maximum rates.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const benchDir = resolve(root, '../shared/bench');
if (!existsSync(join(root, 'dist/src/cli.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
if (!existsSync(join(benchDir, 'compare.sh'))) {
  console.error(`the yardstick is not at ${benchDir} (../shared/bench from the repo root)`);
  process.exit(1);
}

const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

// the bench DB with its 10,000 subscribers, as the yardstick creates it
if (run(join(benchDir, 'setup-db.sh'), ['--users', '10000', 'bench_tser']) !== 0) process.exit(1);
console.log('# in-process CPU per scenario (tser alone, sends captured)');
for (const [scenario, count] of [['options', '200000'], ['reg', '20000']]) {
  run(process.execPath, [join(root, 'scripts/bench-inproc.mjs'), scenario, count, join(benchDir, 'project/ser.cfg')]);
}

const args = process.argv.slice(2);
console.log(`# yardstick: compare.sh ${args.length ? args.join(' ') : '(default: --reps 1 --rate 1000 --duration 10)'}`);
process.exit(run(join(benchDir, 'compare.sh'), args.length ? args : ['--reps', '1', '--rate', '1000', '--duration', '10']));
