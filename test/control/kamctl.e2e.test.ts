// Debian's real `kamctl`, unchanged, pointed at a running tser by a kamctlrc (~/.kamctlrc
// with RPCFIFOPATH = tser's jsonrpcs FIFO, the db_text directory tser reads): ps, uptime,
// stats, ul show / ul rm, online, srv sockets, dispatcher show (DB) and dispatcher dump / reload (RPC).
// tser's FIFO replies are laid out as Kamailio's pretty_format=1, which kamctl's filters
// and `online`'s grep/awk read.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { startControlled, type ControlledProxy } from './helpers.js';

const KAM_DBTEXT = '/usr/share/kamailio/dbtext/kamailio';

let p: ControlledProxy;
let home: string;

function setup(dir: string): string {
  const db = join(dir, 'db');
  mkdirSync(db);
  copyFileSync(join(KAM_DBTEXT, 'version'), join(db, 'version'));
  writeFileSync(
    join(db, 'dispatcher'),
    'id(int,auto) setid(int) destination(string) flags(int) priority(int) attrs(string) description(string) \n' +
      '1:1:sip\\:127.0.0.1\\:5090:0:0:weight=50:gw one\n' +
      '2:2:sip\\:127.0.0.1\\:5092:0:0:weight=10:gw two\n',
  );
  home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(
    join(home, '.kamctlrc'),
    `RPCFIFOPATH=${dir}/kamailio_rpc.fifo\nSIP_DOMAIN=example.com\nDBENGINE=DBTEXT\nDB_PATH=${db}\n`,
  );
  return `#!KAMAILIO
loadmodule "sl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "dispatcher.so"
loadmodule "jsonrpcs.so"
loadmodule "corex.so"
modparam("jsonrpcs", "fifo_name", "${dir}/kamailio_rpc.fifo")
modparam("dispatcher", "db_url", "text://${db}")

request_route {
	if (is_method("REGISTER")) { save("location"); exit; }
	sl_send_reply("404", "Not Found");
}
`;
}

/** run kamctl with only the test's kamctlrc (HOME) pointing it at tser */
function kamctl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('kamctl', args, { timeout: 15000, env: { ...process.env, HOME: home } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kamctl ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

async function register(user: string): Promise<void> {
  const peer = await UdpPeer.open();
  try {
    const id = `kamctl-${user}`;
    await peer.send(request({ method: 'REGISTER', ruri: 'sip:example.com', from: `<sip:${user}@example.com>`, to: `<sip:${user}@example.com>`, port: peer.port, callId: id }), p.port);
    expect(statusOf((await peer.next((m) => m.text.includes(id))).text)).toBe(200);
  } finally {
    peer.close();
  }
}

beforeAll(async () => {
  p = await startControlled(setup);
  await register('alice');
  await register('bob');
});

afterAll(async () => {
  await p.stop();
});

describe('kamctl against tser', () => {
  it('ps and uptime', async () => {
    expect(await kamctl(['ps'])).toMatch(new RegExp(`"PID":\\s+${process.pid},`));
    expect(await kamctl(['uptime'])).toMatch(/"uptime":\s+\d+\n/);
  });

  it('srv sockets lists the listen sockets (corex.list_sockets)', async () => {
    const out = await kamctl(['srv', 'sockets']);
    expect(out).toMatch(/"PROTO":\s+"udp",\n\s+"NAME":\s+"127\.0\.0\.1",\n\s+"ADDRLIST":\s+\{\n\s+"ADDR":\s+"127\.0\.0\.1"\n\s+\},\n\s+"PORT":\s+"\d+",/);
  });

  it('online lists the registered AoRs, one per line', async () => {
    expect((await kamctl(['online'])).trim().split('\n')).toEqual(['alice', 'bob']);
  });

  it('ul show, ul show USER, ul rm USER', async () => {
    const all = await kamctl(['ul', 'show']);
    expect(all).toMatch(/"AoR":\s+"alice",/);
    expect(all).toMatch(/"Address":\s+"sip:alice@127\.0\.0\.1:\d+",/);
    expect(await kamctl(['ul', 'show', 'alice'])).toMatch(/"AoR":\s+"alice",\n\s+"Contacts":\s+\[\{/);
    await kamctl(['ul', 'rm', 'bob']);
    expect(await kamctl(['ul', 'show', 'bob'])).toMatch(/"code":\s+404,/);
    expect((await kamctl(['online'])).trim().split('\n')).toEqual(['alice']);
  });

  it('stats and stats GROUP', async () => {
    expect(await kamctl(['stats'])).toMatch(/"registrar:accepted_regs = 2",/);
    const sl = await kamctl(['stats', 'sl']);
    expect(sl).toMatch(/"sl:sent_replies = \d+"/);
    expect(sl).not.toMatch(/registrar:/);
  });

  it('dispatcher show reads the table tser reads; dispatcher dump / reload go over RPC', async () => {
    const show = await kamctl(['dispatcher', 'show']);
    expect(show).toMatch(/sip:127\.0\.0\.1:5090/);
    expect(show).toMatch(/gw two/);
    const dump = await kamctl(['dispatcher', 'dump']);
    expect(dump).toMatch(/"URI":\s+"sip:127\.0\.0\.1:5090",/);
    expect(dump).toMatch(/"NRSETS":\s+2,/);
    expect(await kamctl(['dispatcher', 'reload'])).not.toMatch(/error/i);
  });
});
