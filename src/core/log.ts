// Root logger (pino). Levels below the configured one are no-ops in pino, so debug calls
// on the hot path cost one function call; never build log strings eagerly there.
import pino, { type Logger } from 'pino';

export type { Logger };

let root: Logger = pino({ level: process.env.TSER_LOG_LEVEL ?? 'info', base: { app: 'tser' } });

export function rootLogger(): Logger {
  return root;
}

/** (re)create the root logger: stderr when asked, else stdout */
export function configureLogger(opts: { level?: string; stderr?: boolean }): Logger {
  const dest = pino.destination({ fd: opts.stderr ? 2 : 1, sync: false });
  root = pino({ level: opts.level ?? root.level, base: { app: 'tser' } }, dest);
  return root;
}

/** SER/Kamailio `debug` values to pino levels (SER 0.9: higher = more verbose; Kamailio: -5..3) */
export function levelFromDebug(debug: number, dialect: 'ser' | 'kamailio'): string {
  if (dialect === 'ser') {
    if (debug >= 4) return 'debug';
    if (debug >= 3) return 'info';
    if (debug >= 1) return 'warn';
    return 'error';
  }
  if (debug >= 3) return 'debug';
  if (debug >= 2) return 'info';
  if (debug >= 0) return 'warn';
  if (debug >= -1) return 'error';
  return 'fatal';
}
