#!/usr/bin/env node
// `tser`: the daemon. Flags follow Kamailio where Kamailio has them (-f -c -l -A -n -E -D -V -h).
//
// Startup memory: loading the config, its modules and their drivers allocates a lot that
// lives on (code, tables), which would make V8 grow the young generation to its largest
// size and tier hot loader functions up to optimized code, and both would then stay in the
// idle process's memory. So until the proxy has started, the young generation does not grow
// and nothing is compiled beyond bytecode; then V8's defaults apply again (under load the
// young generation grows and hot code is compiled as usual). Measured with the benchmark:
// idle RSS down by about 7 MB, CPU per registration unchanged. The rest of the code is
// imported after the flags are set.
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import type { Dialect } from './core/dialect.js';
import type { LoadedConfig } from './config/load.js';

// [V8 flag names, value during startup, V8's default restored after it]; a flag given on
// the command line or in NODE_OPTIONS is left alone
const STARTUP_FLAGS: [names: string[], during: string, after: string][] = [
  [['semi-space-growth-factor'], '--semi-space-growth-factor=1', '--semi-space-growth-factor=2'],
  [['turbofan', 'opt'], '--no-turbofan', '--turbofan'],
  [['sparkplug'], '--no-sparkplug', '--sparkplug'],
];
const userFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => a.replace(/_/g, '-'));
const given = (name: string): boolean => userFlags.some((a) => a === `--${name}` || a === `--no-${name}` || a.startsWith(`--${name}=`));
const startupFlags = STARTUP_FLAGS.filter(([names]) => !names.some(given));
for (const [, during] of startupFlags) v8.setFlagsFromString(during);
// Running: after a major GC the old generation may grow to 1.5× what survived before the
// next one (V8 picks up to 4× when GC looks cheap). A burst of registrations (or calls)
// promotes the requests it had in flight; with 4× that garbage stays in the process's
// memory at idle, since V8 collects again only when allocation resumes. Measured: CPU per
// registration unchanged, 100,000 contacts about 150 bytes each less RSS.
const RUNNING_FLAGS: [names: string[], flag: string][] = [[['heap-growing-percent'], '--heap-growing-percent=50']];
function startupDone(): void {
  for (const [, , after] of startupFlags) v8.setFlagsFromString(after);
  for (const [names, flag] of RUNNING_FLAGS) if (!names.some(given)) v8.setFlagsFromString(flag);
}

const { configureLogger, levelFromDebug } = await import('./core/log.js');
const { describeLoad, loadConfig } = await import('./config/load.js');
const { SERVER_VERSION, Server } = await import('./core/server.js');
const { startControl } = await import('./control/start.js');

const HELP = `tser ${SERVER_VERSION} — SIP Express Router in TypeScript

Usage: tser [options]
       tser test -f FILE CASES.yaml...   run the script on test cases offline (tser test -h)
  -f FILE          routing script (default: ./tser.cfg)
  -c               check the config (syntax, modules, functions, arguments) and exit 0/1
  --syntax-only    parse only, do not resolve modules (for porting configs)
  -l ADDR          listen address, repeatable: [proto:]addr[:port] (overrides the config)
  -A NAME[=VALUE]  preprocessor define (#!define), repeatable
  -n N             number of children (accepted; tser runs one event loop, see README)
  -E               log to stderr
  -D               stay in foreground (tser always does; accepted for compatibility)
  --dialect D      ser | kamailio, when the script has no mode line and no clues
  --debug N        log level as the config's debug= (overrides it)
  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics
  -V               print version
  -h               this help
`;

function fail(msg: string): never {
  process.stderr.write(`tser: ${msg}\n`);
  process.exit(1);
}

function parse() {
  try {
    return parseArgs({
      options: {
        f: { type: 'string' },
        c: { type: 'boolean' },
        'syntax-only': { type: 'boolean' },
        l: { type: 'string', multiple: true },
        A: { type: 'string', multiple: true },
        n: { type: 'string' },
        E: { type: 'boolean' },
        D: { type: 'boolean', multiple: true },
        dialect: { type: 'string' },
        debug: { type: 'string' },
        metrics: { type: 'string' },
        V: { type: 'boolean' },
        h: { type: 'boolean' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n${HELP}`);
  }
}

function printDiagnostics(cfg: LoadedConfig, verbose: boolean): void {
  const text = cfg.bag.format(verbose);
  if (text) process.stderr.write(`${text}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'test') {
    // `tser test`: the offline routing-script test runner (src/testing)
    const { runTestCommand } = await import('./testing/run.js');
    const code = await runTestCommand(process.argv.slice(3));
    process.exit(code);
  }
  const args = parse();
  if (args.h) {
    process.stdout.write(HELP);
    return;
  }
  if (args.V) {
    process.stdout.write(`tser ${SERVER_VERSION} (node ${process.version})\n`);
    return;
  }
  const file = args.f ?? 'tser.cfg';
  const defines = new Map<string, string | true>();
  for (const d of args.A ?? []) {
    const i = d.indexOf('=');
    if (i < 0) defines.set(d, true);
    else defines.set(d.slice(0, i), d.slice(i + 1));
  }
  let dialect: Dialect | null = null;
  if (args.dialect) {
    if (args.dialect !== 'ser' && args.dialect !== 'kamailio') fail('--dialect must be "ser" or "kamailio"');
    dialect = args.dialect;
  }
  if (args.n !== undefined && !/^\d+$/.test(args.n)) fail('-n takes a number');

  const cfg = await loadConfig(file, { defines, dialect, syntaxOnly: args['syntax-only'] === true });
  if (args.c || args['syntax-only']) {
    printDiagnostics(cfg, false);
    const errors = cfg.bag.errorCount;
    const summary = `${describeLoad(cfg)}\n${errors === 0 ? 'config OK' : `${errors} error${errors === 1 ? '' : 's'}`}\n`;
    (errors ? process.stderr : process.stdout).write(summary);
    process.exit(errors ? 1 : 0);
  }
  if (cfg.bag.hasErrors || !cfg.script) {
    printDiagnostics(cfg, false);
    process.stderr.write(`tser: ${cfg.bag.errorCount} error(s) in ${file}, not starting\n`);
    process.exit(1);
  }
  const debug = args.debug ?? cfg.globals.get('debug')?.[0];
  const logToStderr = args.E === true || cfg.globals.get('log_stderror')?.[0] === true;
  const level =
    debug !== undefined && process.env.TSER_LOG_LEVEL === undefined
      ? levelFromDebug(Number(debug), cfg.dialect!.dialect)
      : process.env.TSER_LOG_LEVEL;
  const log = configureLogger({ level, stderr: logToStderr });
  const warnings = cfg.bag.items.filter((d) => d.severity === 'warning');
  if (warnings.length) printDiagnostics(cfg, false);

  const server = new Server(cfg, { listen: args.l, log });
  let control: Awaited<ReturnType<typeof startControl>> | null = null;
  let metrics: Awaited<ReturnType<typeof startMetricsOrExit>> | null = null;
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'shutting down');
    await control?.stop().catch(() => undefined);
    await metrics?.close().catch(() => undefined);
    await server.stop();
    log.flush?.();
    setTimeout(() => process.exit(0), 50).unref();
  };
  // installed before the start: a SIGTERM while starting (systemd, a test) still shuts down cleanly
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    if (control) void control.reload('SIGHUP');
    else log.warn('SIGHUP while starting: no reload');
  });
  try {
    await server.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'cannot start');
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
  if (stopping) return;
  control = await startControl(server, cfg, { defines, dialect });
  metrics = args.metrics === undefined ? null : await startMetricsOrExit(server, args.metrics, log);
  startupDone();
  process.on('uncaughtException', (e) => log.error({ err: e.message, stack: e.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (e) => log.error({ err: String(e) }, 'unhandled rejection'));
}

async function startMetricsOrExit(server: InstanceType<typeof Server>, address: string, log: ReturnType<typeof configureLogger>) {
  const { startMetrics } = await import('./metrics/start.js');
  try {
    return await startMetrics(server, address);
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'cannot open the metrics endpoint');
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`tser: ${(e as Error).message}\n`);
  process.exit(1);
});
