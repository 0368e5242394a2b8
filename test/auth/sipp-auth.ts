// Shared by the auth end-to-end tests: the seed's config (SER 0.9 tutorial, chapter 7) with
// a test db_url, and a SIPp runner for the scenarios in test/fixtures/sipp/auth that keeps
// SIPp's message trace for assertions.
import { join } from 'node:path';
import { repoRoot } from '../helpers/proxy.js';
import { runSipp, type SippResult } from '../helpers/sipp.js';

const FIX = join(repoRoot, 'test/fixtures/sipp/auth');
export const REALM = '127.0.0.1'; // SER derives the realm from the To/From host: SIPp uses the proxy IP

export interface SeedOpts {
  dbUrl: string;
  /** extra modparam lines */
  extra?: string;
  /** second argument of www_challenge/proxy_challenge ("0" in the seed, "1" = qop) */
  qop?: '0' | '1';
}

/** the seed's config (003), only the listen line and db_url changed */
export function seedConfig(o: SeedOpts): string {
  const q = o.qop ?? '0';
  return `
debug=3
fork=no
log_stderror=yes
port=5060
children=4
dns=no
rev_dns=no
fifo="/tmp/ser_fifo"
fifo_db_url="${o.dbUrl}"

loadmodule "/usr/local/lib/ser/modules/mysql.so"
loadmodule "/usr/local/lib/ser/modules/sl.so"
loadmodule "/usr/local/lib/ser/modules/tm.so"
loadmodule "/usr/local/lib/ser/modules/rr.so"
loadmodule "/usr/local/lib/ser/modules/maxfwd.so"
loadmodule "/usr/local/lib/ser/modules/usrloc.so"
loadmodule "/usr/local/lib/ser/modules/registrar.so"
loadmodule "/usr/local/lib/ser/modules/auth.so"
loadmodule "/usr/local/lib/ser/modules/auth_db.so"
loadmodule "/usr/local/lib/ser/modules/uri_db.so"

modparam("auth_db|uri_db|usrloc", "db_url", "${o.dbUrl}")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("usrloc", "db_mode", 2)
modparam("rr", "enable_full_lr", 1)
${o.extra ?? ''}

route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        break;
    };
    if (msg:len > max_len) {
        sl_send_reply("513", "Message Overflow");
        break;
    };
    if (method!="REGISTER") {
        record_route();
    };
    if (loose_route()) {
        route(1);
        break;
    };
    if (uri!=myself) {
        route(1);
        break;
    };
    if (method=="ACK") {
        route(1);
        break;
    } if (method=="INVITE") {
        route(3);
        break;
    } else if (method=="REGISTER") {
        route(2);
        break;
    };
    lookup("aliases");
    if (uri!=myself) {
        route(1);
        break;
    };
    if (!lookup("location")) {
        sl_send_reply("404", "User Not Found");
        break;
    };
    route(1);
}

route[1] {
    if (!t_relay()) {
        sl_reply_error();
    };
}

route[2] {
    sl_send_reply("100", "Trying");
    if (!www_authorize("", "subscriber")) {
        www_challenge("", "${q}");
        break;
    };
    if (!check_to()) {
        sl_send_reply("401", "Unauthorized");
        break;
    };
    consume_credentials();
    if (!save("location")) {
        sl_reply_error();
    };
}

route[3] {
    if (!proxy_authorize("", "subscriber")) {
        proxy_challenge("", "${q}");
        break;
    } else if (!check_from()) {
        sl_send_reply("403", "Use From=ID");
        break;
    };
    consume_credentials();
    lookup("aliases");
    if (uri!=myself) {
        route(1);
        break;
    };
    if (!lookup("location")) {
        sl_send_reply("404", "User Not Found");
        break;
    };
    route(1);
}
`;
}

let nextPort = 20000 + (process.pid % 1000) * 10;

/** a fresh port number for a SIPp Contact or UAS */
export function contactPort(): number {
  return nextPort++;
}

/** run one SIPp scenario from test/fixtures/sipp/auth against the proxy, keeping its message trace */
export function sipp(
  scenario: string,
  port: number,
  o: { user: string; password: string; from?: string; to?: string; keys?: Record<string, string>; args?: string[]; service?: string },
): Promise<SippResult> {
  const keys = { from_user: o.from ?? o.user, to_user: o.to ?? o.user, contact_port: String(contactPort()), ...o.keys };
  return runSipp({
    scenario: join(FIX, scenario),
    target: `127.0.0.1:${port}`,
    calls: 1,
    timeoutSec: 20,
    auth: { user: o.user, password: o.password },
    traceMsg: true,
    service: o.service,
    keys,
    args: o.args,
  });
}

export function expectPass(r: SippResult): void {
  if (r.exitCode !== 0 || r.successful !== 1) throw new Error(`SIPp failed (exit ${r.exitCode}):\n${r.output.slice(-1500)}\n--- messages ---\n${r.messages.slice(-4000)}`);
}

/** status lines of the replies SIPp received, in order */
export function receivedStatuses(r: SippResult): string[] {
  return [...r.messages.matchAll(/message received[^\n]*\n+(SIP\/2\.0 \d{3}[^\r\n]*)/g)].map((m) => m[1]!);
}

