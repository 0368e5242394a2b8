// The seed's promise, end to end: "We now store all user registration data to MySQL which
// enables us to restart the SIP proxy without affecting user registrations." SIPp registers
// through the seed config (auth removed: another issue), tser is stopped with SIGTERM and
// started again, and an INVITE to the user still reaches the SIPp UAS — db_mode 1, 2 and 3,
// against the real MariaDB. db_mode 2 also shows lookup("aliases") from the DB table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { join } from 'node:path';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { freePort, repoRoot, spawnTser, tempDir, writeCfg, type ChildProxy } from '../helpers/proxy.js';
import { expectSippPassed, startSipp, startSippUas, type SippOptions } from '../helpers/sipp.js';

const DB = 'tser_test_usrloc';
const URL = mysqlUrl(DB);
let db: Db;

beforeAll(async () => {
  await recreateDatabase(DB);
  db = openDb(URL, pino({ level: 'silent' }));
  await createSchema(db, ['location', 'aliases']);
});

afterAll(async () => {
  await db?.close();
  await dropDatabase(DB);
});

/** the seed's ser.cfg (chapter 7) with the digest-auth lines taken out */
function seedCfg(mode: number, port: number): string {
  const fifo = join(tempDir('tser-fifo-'), 'ser_fifo');
  return `
debug=3
fork=no
log_stderror=yes

listen=127.0.0.1
port=${port}
children=4

dns=no
rev_dns=no
fifo="${fifo}"
fifo_db_url="${URL}"

loadmodule "/usr/local/lib/ser/modules/mysql.so"
loadmodule "/usr/local/lib/ser/modules/sl.so"
loadmodule "/usr/local/lib/ser/modules/tm.so"
loadmodule "/usr/local/lib/ser/modules/rr.so"
loadmodule "/usr/local/lib/ser/modules/maxfwd.so"
loadmodule "/usr/local/lib/ser/modules/usrloc.so"
loadmodule "/usr/local/lib/ser/modules/registrar.so"

modparam("usrloc", "db_url", "${URL}")
modparam("usrloc", "db_mode", ${mode})
modparam("rr", "enable_full_lr", 1)

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
    } else if (method=="INVITE") {
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
    if (!save("location")) {
        sl_reply_error();
    };
}

route[3] {
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

/**
 * spawnTser, retried: other engineers' test runs rebuild dist/ concurrently, so a start can
 * briefly find a module half-written
 */
async function start(cfg: string): Promise<ChildProxy> {
  for (let i = 0; ; i++) {
    try {
      return await spawnTser(['-f', cfg]);
    } catch (e) {
      if (i >= 3 || !/not available|Cannot find module|SyntaxError/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

async function rows(table = 'location') {
  return db.query(table, { where: {} });
}

/** one call of a scenario from test/fixtures/sipp/registrar; reaching -timeout is a failure */
const scenario = (file: string, o: Partial<SippOptions> = {}): SippOptions => ({
  scenario: join(repoRoot, 'test/fixtures/sipp/registrar', file),
  calls: 1,
  timeoutSec: 20,
  timeoutError: true,
  ...o,
});

async function call(tserPort: number, uasPort: number, user: string): Promise<void> {
  const uas = await startSippUas(scenario('uas-invite.xml', { port: uasPort }));
  try {
    const uac = startSipp(scenario('uac-invite.xml', { target: `127.0.0.1:${tserPort}`, service: user }));
    await expectSippPassed(uac, `INVITE ${user}`);
    await expectSippPassed(uas, 'UAS');
  } finally {
    uas.kill();
  }
}

describe.each([1, 2, 3])('seed config, usrloc db_mode %i', (mode) => {
  let tser: ChildProxy | undefined;
  afterAll(async () => {
    if (tser) await tser.stop('SIGKILL');
  });

  it('keeps a SIPp registration across SIGTERM and restart; the INVITE reaches the UAS', async () => {
    await db.delete('location', {});
    await db.delete('aliases', {});
    const port = await freePort();
    const uasPort = await freePort();
    const cfg = writeCfg(seedCfg(mode, port));
    tser = await start(cfg);

    const reg = startSipp(scenario('register.xml', { target: `127.0.0.1:${port}`, keys: { reg_user: '1000', contact_port: uasPort, reg_expires: 3600 } }));
    await expectSippPassed(reg, 'REGISTER');
    // write-through and DB-only write at once; write-back waits for the timer or shutdown
    if (mode !== 2) expect(await rows()).toHaveLength(1);

    expect(await tser.stop('SIGTERM')).toBe(0);
    const stored = await rows();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ username: '1000', contact: `sip:1000@127.0.0.1:${uasPort}`, user_agent: 'SIPp registrar test' });
    expect(String(stored[0]!['ruid'])).toMatch(/^uloc-[0-9a-f]+-[0-9a-f]+-\d+$/);
    expect((stored[0]!['expires'] as Date).getTime()).toBeGreaterThan(Date.now() + 3500_000);

    if (mode === 2) {
      // SER 0.9 aliases: an alias AOR whose "contact" is the user's URI, kept in its own table
      await db.insert('aliases', {
        ruid: 'uloc-alias-1',
        username: 'info',
        contact: `sip:1000@127.0.0.1:${port}`,
        expires: new Date(0),
        q: 1,
        callid: 'alias',
        cseq: 1,
        flags: 128,
        user_agent: 'serctl',
        last_modified: new Date(),
      });
    }

    tser = await start(cfg);
    await call(port, uasPort, '1000');
    if (mode === 2) await call(port, uasPort, 'info');
    expect(await tser.stop('SIGTERM')).toBe(0);
    tser = undefined;
    // the restart did not duplicate or lose the row
    expect(await rows()).toHaveLength(1);
  });
});
