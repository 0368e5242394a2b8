#!/usr/bin/env node
// `tserctl`: subscribers, aliases and schema in the database (src/ctl/commands-db.ts), and
// control of a running tser over its control socket (src/ctl/commands-rpc.ts). Global
// options may come anywhere before `--`. Errors are one line on stderr with exit code 1.
import type { CtlCommand } from './ctl/commands-rpc.js';
import { dbCommands, type DbCtlContext } from './ctl/commands-db.js';
// control-socket commands (reload, ps, uptime, version, stats, ul, methods, rpc) live here:
import { rpcCommands } from './ctl/commands-rpc.js';
import { readRc } from './ctl/rpc-client.js';
import { SERVER_VERSION } from './core/server.js';

/** every command, by name; later tables may not shadow earlier names */
const commands: CtlCommand[] = [...dbCommands, ...rpcCommands];

function help(): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  const lines = commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.help}`);
  return `tserctl ${SERVER_VERSION} — manage tser subscribers and a running tser

Usage: tserctl [options] COMMAND [ARGS...]

Options:
  -d URL        database URL (mysql://user:pass@host/db or text:///dir); else $TSER_DB_URL or DBURL= in tserctl.rc
  -D DOMAIN     SIP domain for USER without @DOMAIN; else $SIP_DOMAIN or SIP_DOMAIN= in tserctl.rc
  --plaintext   also store the plaintext password (needed with auth_db calculate_ha1=1); or STORE_PLAINTEXT_PW=1
  -s SOCKET     control socket of the running tser; else $TSER_CTL_SOCKET or CTL_SOCKET= in tserctl.rc
  --json        print control results as JSON
  -h, --help    this help
  -V            version

tserctl.rc (KEY=VALUE lines, like kamctlrc) is read from $TSERCTL_RC, ./tserctl.rc, ~/.tserctlrc or /etc/tser/tserctl.rc.

Commands:
${lines.join('\n')}
`;
}

interface Parsed {
  ctx: DbCtlContext;
  rest: string[];
  help: boolean;
  version: boolean;
}

function parse(argv: string[]): Parsed | string {
  const ctx: DbCtlContext = {};
  const rest: string[] = [];
  let helpFlag = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | null => {
      const v = argv[++i];
      return v === undefined ? null : v;
    };
    switch (a) {
      case '--':
        rest.push(...argv.slice(i + 1));
        i = argv.length;
        break;
      case '-d':
      case '--db-url': {
        const v = value();
        if (v === null) return `${a} needs a database URL`;
        ctx.dbUrl = v;
        break;
      }
      case '-D':
      case '--domain': {
        const v = value();
        if (v === null) return `${a} needs a domain`;
        ctx.domain = v;
        break;
      }
      case '-s':
      case '--socket': {
        const v = value();
        if (v === null) return `${a} needs a socket path`;
        ctx.socket = v;
        break;
      }
      case '--plaintext':
        ctx.plaintext = true;
        break;
      case '--json':
        ctx.json = true;
        break;
      case '-h':
      case '--help':
        helpFlag = true;
        break;
      case '-V':
      case '--version':
        version = true;
        break;
      default:
        rest.push(a);
    }
  }
  return { ctx, rest, help: helpFlag, version };
}

async function main(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (typeof p === 'string') {
    process.stderr.write(`tserctl: ${p}\n`);
    return 1;
  }
  if (p.version) {
    process.stdout.write(`tserctl ${SERVER_VERSION}\n`);
    return 0;
  }
  const [name, ...args] = p.rest;
  if (p.help || name === undefined || name === 'help') {
    process.stdout.write(help());
    return name === undefined && !p.help ? 1 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`tserctl: unknown command "${name}" (tserctl --help lists them)\n`);
    return 1;
  }
  p.ctx.rc = readRc();
  return cmd.run(args, p.ctx);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tserctl: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
