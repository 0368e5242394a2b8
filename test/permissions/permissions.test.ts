// The permissions module in a script: allow_source_address and friends against an address
// file and the Kamailio 5.6 `address` table in MariaDB, the tag AVP, RPC reload/dump, and
// the last good table kept when a reload reads bad data.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openDb } from '../../src/db/open.js';
import { createSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/db.js';
import { compile, runRequest, sipRequest } from '../helpers/offline.js';
import { dropDatabase, mysqlUrl, recreateDatabase } from '../helpers/mariadb.js';
import { tempDir } from '../helpers/proxy.js';
import type { Script } from '../../src/script/script.js';
import permissions from '../../modules/permissions/index.js';
import type { PermState } from '../../modules/permissions/state.js';

const DBNAME = 'tser_test_permissions';

function headFor(params: string): string {
  return `#!KAMAILIO\nloadmodule "sl.so"\nloadmodule "permissions.so"\n${params}\n`;
}

const ROUTE = `request_route {
  if (allow_source_address("1")) { sl_send_reply("200", "tag=$avp(tag)"); exit; }
  $var(g) = allow_source_address_group();
  if ($var(g) > 0) { sl_send_reply("201", "group $var(g)"); exit; }
  if (allow_address("3", "$hdr(X-Ip)", "5060")) { sl_send_reply("202", "by header"); exit; }
  sl_send_reply("403", "Forbidden");
}`;

async function compileWith(params: string): Promise<Script> {
  const s = await compile(headFor(params) + ROUTE);
  return s;
}

async function reply(script: Script, src: string, extra: string[] = []): Promise<string> {
  const r = await runRequest(script, sipRequest({ extra }), src);
  const x = r.replies[0]!;
  return `${x.code} ${x.reason}`;
}

describe('address_file', () => {
  const dir = tempDir('tser-perm-');
  const file = join(dir, 'address.list');
  let script: Script;

  beforeAll(async () => {
    writeFileSync(
      file,
      ['# customers', '1 10.0.0.5 32 0 acme-7001', '2 192.168.10.0 24 0 globex', '3 2001:db8::1 128 0 v6', '1 10.0.0.0/40 32 0 bad-cidr'].join('\n'),
    );
    script = await compileWith(`modparam("permissions", "address_file", "${file}")\nmodparam("permissions", "peer_tag_avp", "$avp(tag)")`);
  });

  it('lets a listed source IP pass and sets the tag AVP', async () => {
    expect(await reply(script, '10.0.0.5')).toBe('200 tag=acme-7001');
  });

  it('returns the group of a subnet match for allow_source_address_group', async () => {
    expect(await reply(script, '192.168.10.77')).toBe('201 group 2');
  });

  it('matches an address given as a variable (IPv6)', async () => {
    expect(await reply(script, '8.8.8.8', ['X-Ip: 2001:db8::1'])).toBe('202 by header');
  });

  it('refuses everything else', async () => {
    expect(await reply(script, '10.0.0.6')).toBe('403 Forbidden');
  });
});

describe('address table in MariaDB', () => {
  let db: Db;
  const log = pino({ level: 'silent' });
  const url = mysqlUrl(DBNAME);

  beforeAll(async () => {
    await recreateDatabase(DBNAME);
    db = openDb(url, log);
    await createSchema(db, ['address', 'trusted']);
    await db.insert('address', { grp: 1, ip_addr: '10.0.0.5', mask: 32, port: 0, tag: 'db-acme' });
    await db.insert('address', { grp: 2, ip_addr: '172.16.0.0', mask: 12, port: 0, tag: null });
    await db.insert('address', { grp: 2, ip_addr: '172.16.0.0', mask: 99, port: 0, tag: 'bad-mask' });
    await db.insert('trusted', { src_ip: '10.0.0.5', proto: 'any', from_pattern: '^sip:alice@example\\.com$', ruri_pattern: null, tag: 'peer-alice', priority: 1 });
    await db.insert('trusted', { src_ip: '10.0.0.5', proto: 'tcp', from_pattern: null, ruri_pattern: null, tag: 'tcp-only', priority: 9 });
    await db.insert('trusted', { src_ip: '10.0.0.6', proto: 'udp', from_pattern: '(bad', ruri_pattern: null, tag: 'bad-re', priority: 0 });
  });

  afterAll(async () => {
    await db.close();
    await dropDatabase(DBNAME);
  });

  async function start(extra = ''): Promise<{ st: PermState }> {
    const loaded = await loadConfig('t.cfg', {
      text: headFor(`modparam("permissions", "db_url", "${url}")\nmodparam("permissions", "peer_tag_avp", "$avp(tag)")\nmodparam("permissions", "reload_delta", 0)${extra}`) + ROUTE,
    });
    if (loaded.bag.hasErrors) throw new Error(loaded.bag.format());
    const plan = loaded.modules.find((m) => m.def.name === 'permissions')!;
    const { fakeCore } = await import('../helpers/offline.js');
    const st = (await permissions.init({
      params: plan.params as never,
      log,
      core: fakeCore(() => loaded.script!, { replies: [], forwards: [] }),
      dialect: 'kamailio',
      bindApi: () => undefined,
    })) as PermState;
    return { st };
  }

  it('loads rows, skips the bad one, and matches', async () => {
    const { st } = await start();
    expect(st.table.match(1, '10.0.0.5', 5060)?.tag).toBe('db-acme');
    expect(st.table.match(2, '172.31.9.9', 5060)).not.toBeNull();
    expect(st.table.size).toBe(2);
    await permissions.destroy!(st);
  });

  it('permissions.addressReload picks up new rows; dumps show them', async () => {
    const { st } = await start();
    await db.insert('address', { grp: 4, ip_addr: '10.9.9.9', mask: 32, port: 5060, tag: 't4' });
    const rpc = permissions.rpc!;
    expect(await rpc['permissions.addressReload']!.run(st, [])).toMatch(/Reload OK/);
    const dump = (await rpc['permissions.addressDump']!.run(st, [])) as { group: number; ip: string; port: number; tag: string }[];
    expect(dump).toContainEqual({ table: 'address', group: 4, ip: '10.9.9.9', port: 5060, tag: 't4' });
    const subnets = (await rpc['permissions.subnetDump']!.run(st, [])) as { ip: string; mask: number }[];
    expect(subnets.map((x) => `${x.ip}/${x.mask}`)).toEqual(['172.16.0.0/12']);
    await permissions.destroy!(st);
  });

  it('a reload that cannot read the table keeps the last good data', async () => {
    const { st } = await start();
    await db.raw('RENAME TABLE address TO address_moved');
    try {
      await expect(permissions.rpc!['permissions.addressReload']!.run(st, [])).rejects.toThrow(/Reload failed/);
      expect(st.table.match(1, '10.0.0.5', 5060)?.tag).toBe('db-acme');
    } finally {
      await db.raw('RENAME TABLE address_moved TO address');
      await permissions.destroy!(st);
    }
  });

  it('allow_trusted matches source IP, protocol and From pattern (db_mode 0 and 1)', async () => {
    const { MsgContext } = await import('../../src/script/context.js');
    const { allowTrusted } = await import('../../modules/permissions/state.js');
    for (const mode of [0, 1]) {
      const { st } = await start(`\nmodparam("permissions", "db_mode", ${mode})`);
      const ctxFor = (src: string) => {
        const msg = sipRequest();
        const rcv = { proto: 'udp' as const, srcIp: src, srcPort: 5060, local: { proto: 'udp' as const, ip: '127.0.0.1', port: 5060, af: 4 as const, advertiseHost: '127.0.0.1', advertisePort: 5060, id: 'x' }, connId: null, time: 0 };
        return new MsgContext(msg, rcv, null as never, null as never, 1);
      };
      const c1 = ctxFor('10.0.0.5');
      expect(await allowTrusted(c1, st)).toBe(1);
      expect(c1.avps?.get('tag')).toEqual(['peer-alice']);
      expect(await allowTrusted(ctxFor('10.0.0.5'), st, '10.0.0.5', 'udp', 'sip:bob@example.com')).toBe(-1);
      expect(await allowTrusted(ctxFor('10.0.0.5'), st, '10.0.0.5', 'tcp', 'sip:bob@example.com')).toBe(1);
      expect(await allowTrusted(ctxFor('10.0.0.6'), st)).toBe(-1);
      if (mode === 1) {
        const dump = (await permissions.rpc!['permissions.trustedDump']!.run(st, [])) as { tag: string }[];
        expect(dump.map((d) => d.tag)).toEqual(['tcp-only', 'peer-alice']);
        await db.insert('trusted', { src_ip: '10.0.0.7', proto: 'any', from_pattern: null, ruri_pattern: null, tag: 'late', priority: 0 });
        expect(await allowTrusted(ctxFor('10.0.0.7'), st)).toBe(-1);
        await permissions.rpc!['permissions.trustedReload']!.run(st, []);
        expect(await allowTrusted(ctxFor('10.0.0.7'), st)).toBe(1);
      }
      await permissions.destroy!(st);
    }
  });

  it('refuses to start with a wrong address table version', async () => {
    await db.update('version', { table_name: 'address' }, { table_version: 5 });
    try {
      await expect(start()).rejects.toThrow(/invalid version 5 for table "address"/);
    } finally {
      await db.update('version', { table_name: 'address' }, { table_version: 6 });
    }
  });
});

describe('config checks', () => {
  it('peer_tag_avp must name an AVP or a $var', async () => {
    const l = await loadConfig('t.cfg', { text: headFor(`modparam("permissions", "peer_tag_avp", "$ru")`) + ROUTE });
    expect(l.bag.format()).toMatch(/peer_tag_avp/);
  });
});
