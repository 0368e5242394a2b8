#!/usr/bin/env node
// `tser`: the daemon. Flags follow Kamailio where Kamailio has them (-f -c -l -A -n -E -D -V -h).
import { parseArgs } from 'node:util';
import { configureLogger, levelFromDebug } from './core/log.js';
import { describeLoad, loadConfig, type LoadedConfig } from './config/load.js';
import { SERVER_VERSION, Server } from './core/server.js';
import type { Dialect } from './core/dialect.js';
import { startControl } from './control/start.js';

const HELP = `tser ${SERVER_VERSION} — SIP Express Router in TypeScript

Usage: tser [options]
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
  try {
    await server.start();
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'cannot start');
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
  const control = await startControl(server, cfg, { defines, dialect });
  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'shutting down');
    await control.stop().catch(() => undefined);
    await server.stop();
    log.flush?.();
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => void control.reload('SIGHUP'));
  process.on('uncaughtException', (e) => log.error({ err: e.message, stack: e.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (e) => log.error({ err: String(e) }, 'unhandled rejection'));
}

main().catch((e: unknown) => {
  process.stderr.write(`tser: ${(e as Error).message}\n`);
  process.exit(1);
});
