// Reading destinations: the list file format, URI checks and DNS at load, ordering inside a
// set, weight slots, attributes, and startup failures with the file location.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildSets, flagsText, parseAttrs, parseState, weightSlots, DsFlag } from '../../modules/dispatcher/list.js';
import { ListError, parseListFile, resolveAll, resolveDest, type RawDest } from '../../modules/dispatcher/load.js';
import { parseReplyCodes, isUpCode } from '../../modules/dispatcher/ping-codes.js';
import { dsHash, uriHash } from '../../modules/dispatcher/hash.js';
import { harness, listFile } from './helpers.js';
import { loadConfig } from '../../src/config/load.js';

const log = pino({ level: 'silent' });
const raw = (uri: string, over: Partial<RawDest> = {}): RawDest => ({ setid: 1, uri, flags: 0, priority: 0, attrs: '', description: '', where: 't', ...over });
const noDns = async () => null;

describe('list file format', () => {
  it('reads setid, uri, flags, priority and attrs; skips comments and blank lines', () => {
    const r = parseListFile(
      ['# gateways', '1 sip:10.0.0.1:5060 0 10 weight=50;duid=gw1', '', '1 sip:10.0.0.2 8', '2 sip:gw.example.com  # trailing'].join('\n'),
      'd.list',
    );
    expect(r.map((x) => [x.setid, x.uri, x.flags, x.priority, x.attrs])).toEqual([
      [1, 'sip:10.0.0.1:5060', 0, 10, 'weight=50;duid=gw1'],
      [1, 'sip:10.0.0.2', 8, 0, ''],
      [2, 'sip:gw.example.com', 0, 0, ''],
    ]);
  });

  it('rejects a malformed line with file:line', () => {
    expect(() => parseListFile('1 sip:a\nabc sip:b\n', 'd.list')).toThrow(/d\.list:2: the set id must be a number/);
    expect(() => parseListFile('1\n', 'd.list')).toThrow(/missing destination URI/);
    expect(() => parseListFile('1 sip:a x\n', 'd.list')).toThrow(ListError);
  });
});

describe('resolveDest', () => {
  it('keeps IP destinations, host, port and transport', async () => {
    const d = await resolveDest(raw('sip:10.0.0.1:5080;transport=tcp'), { log, attrsNone: false });
    expect(d).toMatchObject({ host: '10.0.0.1', port: 5080, proto: 'tcp', ip: '10.0.0.1' });
  });

  it('adds a missing sip: scheme', async () => {
    const d = await resolveDest(raw('10.0.0.1:5080'), { log, attrsNone: false });
    expect(d?.uri).toBe('sip:10.0.0.1:5080');
  });

  it('skips unresolvable hosts unless flag 16 says no DNS', async () => {
    expect(await resolveDest(raw('sip:nowhere.invalid'), { log, attrsNone: false, lookup: noDns })).toBeNull();
    const d = await resolveDest(raw('sip:nowhere.invalid', { flags: DsFlag.NODNS }), { log, attrsNone: false, lookup: noDns });
    expect(d?.ip).toBeNull();
  });

  it('skips bad URIs and counts them', async () => {
    const r = await resolveAll([raw('sip:10.0.0.1'), raw('mailto:x@y'), raw('sip:')], { log, attrsNone: false, lookup: noDns });
    expect(r.dests.length).toBe(1);
    expect(r.skipped).toBe(2);
  });
});

describe('sets', () => {
  it('orders by priority, highest first; equal priorities in reverse file order (Kamailio)', async () => {
    const { dests } = await resolveAll(
      [raw('sip:10.0.0.1', { priority: 0 }), raw('sip:10.0.0.2', { priority: 5 }), raw('sip:10.0.0.3', { priority: 0 })],
      { log, attrsNone: false },
    );
    expect(buildSets(dests).get(1)!.dests.map((d) => d.uri)).toEqual(['sip:10.0.0.2', 'sip:10.0.0.3', 'sip:10.0.0.1']);
  });

  it('weight slots repeat each index by its weight', () => {
    const s = weightSlots([10, 1]);
    expect(s.length).toBe(11);
    expect(s.filter((i) => i === 0).length).toBe(10);
  });

  it('parses attributes and rejects weights outside 1..100', () => {
    const bad: string[] = [];
    const a = parseAttrs('weight=10;duid=gw1;maxload=5;rweight=500;account=acme;', (w) => bad.push(w));
    expect(a).toMatchObject({ body: 'weight=10;duid=gw1;maxload=5;rweight=500;account=acme', weight: 10, duid: 'gw1', maxload: 5, rweight: 0 });
    expect(bad.length).toBe(1);
  });

  it('formats and parses states', () => {
    expect(flagsText(0)).toBe('AX');
    expect(flagsText(DsFlag.INACTIVE | DsFlag.PROBING)).toBe('IP');
    expect(flagsText(DsFlag.DISABLED)).toBe('DX');
    expect(flagsText(DsFlag.TRYING | DsFlag.PROBING)).toBe('TP');
    expect(parseState('ip')).toBe(DsFlag.INACTIVE | DsFlag.PROBING);
    expect(parseState('A')).toBe(0);
    expect(parseState('x')).toBeNull();
  });
});

describe('ping reply codes and hashing', () => {
  it('accepts 2xx plus configured codes and classes', () => {
    const rc = parseReplyCodes('class=4;code=503');
    expect(isUpCode(200, rc)).toBe(true);
    expect(isUpCode(404, rc)).toBe(true);
    expect(isUpCode(503, rc)).toBe(true);
    expect(isUpCode(500, rc)).toBe(false);
    expect(() => parseReplyCodes('code=abc')).toThrow();
  });

  it('hashes like Kamailio: stable, never 0, host:port only for non-default ports', () => {
    expect(dsHash('abc')).toBe(dsHash('abc'));
    expect(dsHash('')).not.toBe(0);
    expect(uriHash('sip:bob@h:5060', false)).toBe(uriHash('sip:bob@h', false));
    expect(uriHash('sip:bob@h:5070', false)).not.toBe(uriHash('sip:bob@h', false));
    expect(uriHash('sip:bob@h1', true)).toBe(uriHash('sip:bob@h2', true));
  });
});

describe('startup', () => {
  it('a malformed list file stops the start with its location', async () => {
    const f = listFile(['1 sip:10.0.0.1', 'bad line here']);
    await expect(harness(`modparam("dispatcher", "list_file", "${f}")`, 'request_route { exit; }')).rejects.toThrow(/dispatcher\.list:2/);
  });

  it('a missing list file stops the start', async () => {
    await expect(harness(`modparam("dispatcher", "list_file", "/nonexistent/ds.list")`, 'request_route { exit; }')).rejects.toThrow(
      /cannot read list file/,
    );
  });

  it('an empty list file starts with no sets; selection then fails', async () => {
    const f = listFile(['# nothing yet']);
    const h = await harness(
      `modparam("dispatcher", "list_file", "${f}")`,
      'request_route { if (!ds_select_dst("1", "4")) { sl_send_reply("503", "none"); } }',
    );
    await h.run();
    expect(h.rec.replies.map((r) => r.code)).toEqual([503]);
    await h.close();
  });

  it('bad parameters are config errors', async () => {
    const l = await loadConfig('t.cfg', {
      text: '#!KAMAILIO\nloadmodule "dispatcher.so"\nmodparam("dispatcher", "ds_ping_reply_codes", "code=9999")\nmodparam("dispatcher", "attrs_pvname", "$ru")\nrequest_route { exit; }\n',
    });
    const out = l.bag.format();
    expect(out).toMatch(/ds_ping_reply_codes/);
    expect(out).toMatch(/attrs_pvname/);
  });
});
