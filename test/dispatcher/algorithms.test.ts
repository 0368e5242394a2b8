// Selection algorithms run from a script: hashing (0-3, 5, 7), round-robin (4), priority (8),
// weight (9: 10 and 1 → 10/11 and 1/11), call load (10), relative weight (11), parallel (12),
// and that inactive destinations are never chosen.
import { afterEach, describe, expect, it } from 'vitest';
import { DsFlag } from '../../modules/dispatcher/list.js';
import { harness, invite, listFile, type Harness } from './helpers.js';

const GW = ['sip:10.0.0.1:5060', 'sip:10.0.0.2:5060', 'sip:10.0.0.3:5060'];

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function setup(lines: string[], alg: number | string, extraParams = ''): Promise<Harness> {
  const f = listFile(lines);
  h = await harness(
    `modparam("dispatcher", "list_file", "${f}")\nmodparam("dispatcher", "hash_pvar", "$hdr(X-Key)")\n${extraParams}`,
    `request_route { if (!ds_select_dst("1", "${alg}")) { sl_send_reply("503", "none"); exit; } }`,
  );
  return h;
}

async function pick(hh: Harness, callId = 'c1', from?: string, ruri?: string): Promise<string | null> {
  return (await hh.run(invite(callId, { from, ruri }))).dstUri;
}

function count(list: (string | null)[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const x of list) m[String(x)] = (m[String(x)] ?? 0) + 1;
  return m;
}

describe('hashing algorithms', () => {
  it('0: the same Call-ID always picks the same gateway; different ones spread', async () => {
    const hh = await setup(GW.map((g) => `1 ${g}`), 0);
    const a = await pick(hh, 'same-call');
    for (let i = 0; i < 5; i++) expect(await pick(hh, 'same-call')).toBe(a);
    const seen = new Set<string | null>();
    for (let i = 0; i < 60; i++) seen.add(await pick(hh, `call-${i}`));
    expect(seen.size).toBe(3);
  });

  it('1: hashes the From URI; 3: hashes the R-URI', async () => {
    const hh = await setup(GW.map((g) => `1 ${g}`), 1);
    const a = await pick(hh, 'x1', 'sip:carol@example.com');
    expect(await pick(hh, 'x2', 'sip:carol@example.com')).toBe(a);
    await hh.close();
    const h3 = await setup(GW.map((g) => `1 ${g}`), 3);
    const b = await pick(h3, 'y1', undefined, 'sip:4420@x.test');
    expect(await pick(h3, 'y2', undefined, 'sip:4420@x.test')).toBe(b);
  });

  it('7: hashes hash_pvar; an empty value fails', async () => {
    const hh = await setup(GW.map((g) => `1 ${g}`), 7);
    const ctx = await hh.run(invite('z1'));
    expect(ctx.dstUri).toBeNull();
    expect(hh.rec.replies.map((r) => r.code)).toEqual([503]);
  });

  it('skips an inactive gateway and takes the next one', async () => {
    const hh = await setup([`1 ${GW[0]} 1`, `1 ${GW[1]}`], 0);
    for (let i = 0; i < 20; i++) expect(await pick(hh, `c${i}`)).toBe(GW[1]);
  });
});

describe('round-robin and priority', () => {
  it('4: cycles through the set in order', async () => {
    const hh = await setup(GW.map((g, i) => `1 ${g} 0 ${10 - i}`), 4);
    const got: (string | null)[] = [];
    for (let i = 0; i < 6; i++) got.push(await pick(hh, `c${i}`));
    expect(got).toEqual([GW[0], GW[1], GW[2], GW[0], GW[1], GW[2]]);
  });

  it('4: skips disabled and inactive destinations', async () => {
    const hh = await setup([`1 ${GW[0]} 0 3`, `1 ${GW[1]} 4 2`, `1 ${GW[2]} 1 1`], 4);
    for (let i = 0; i < 4; i++) expect(await pick(hh, `c${i}`)).toBe(GW[0]);
  });

  it('8: always the highest priority that is usable', async () => {
    const hh = await setup([`1 ${GW[0]} 0 1`, `1 ${GW[1]} 0 9`, `1 ${GW[2]} 0 5`], 8);
    expect(await pick(hh)).toBe(GW[1]);
    hh.st.sets.get(1)!.dests[0]!.flags = DsFlag.INACTIVE;
    expect(await pick(hh)).toBe(GW[2]);
  });

  it('returns false when every destination is down', async () => {
    const hh = await setup([`1 ${GW[0]} 1`, `1 ${GW[1]} 4`], 4);
    expect(await pick(hh)).toBeNull();
    expect(hh.rec.replies.map((r) => r.code)).toEqual([503]);
  });

  it('returns false for an unknown set id', async () => {
    const f = listFile([`1 ${GW[0]}`]);
    h = await harness(`modparam("dispatcher", "list_file", "${f}")`, 'request_route { if (!ds_select_dst("7", "4")) { sl_send_reply("404", "no set"); } }');
    await h.run();
    expect(h.rec.replies.map((r) => r.code)).toEqual([404]);
  });
});

describe('weights', () => {
  it('9: weights 10 and 1 give exactly 10 of every 11 calls to the first gateway', async () => {
    const hh = await setup([`1 ${GW[0]} 0 0 weight=10`, `1 ${GW[1]} 0 0 weight=1`], 9);
    const got: (string | null)[] = [];
    for (let i = 0; i < 1100; i++) got.push(await pick(hh, `w${i}`));
    expect(count(got)).toEqual({ [GW[0]!]: 1000, [GW[1]!]: 100 });
  });

  it('9: an inactive gateway gets nothing, the others keep their proportion', async () => {
    const hh = await setup([`1 ${GW[0]} 1 0 weight=50`, `1 ${GW[1]} 0 0 weight=30`, `1 ${GW[2]} 0 0 weight=10`], 9);
    const got: (string | null)[] = [];
    for (let i = 0; i < 360; i++) got.push(await pick(hh, `w${i}`));
    const c = count(got);
    expect(c[GW[0]!]).toBeUndefined();
    expect(c[GW[1]!]! / 360).toBeCloseTo(0.75, 1);
  });

  it('11: relative weight is recomputed over active gateways (1/2/1 → 25/50/25, then 33/67)', async () => {
    const hh = await setup([`1 ${GW[0]} 0 0 rweight=1`, `1 ${GW[1]} 0 0 rweight=2`, `1 ${GW[2]} 0 0 rweight=1`], 11);
    const got: (string | null)[] = [];
    for (let i = 0; i < 400; i++) got.push(await pick(hh, `r${i}`));
    expect(count(got)).toEqual({ [GW[0]!]: 100, [GW[1]!]: 200, [GW[2]!]: 100 });
    const { updateState } = await import('../../modules/dispatcher/state.js');
    updateState(hh.st, 1, GW[2]!, DsFlag.INACTIVE, 1, { code: 0, reason: '', flags: 0 });
    const after: (string | null)[] = [];
    for (let i = 0; i < 300; i++) after.push(await pick(hh, `s${i}`));
    expect(count(after)).toEqual({ [GW[0]!]: 100, [GW[1]!]: 200 });
  });
});

describe('call load (10) and parallel (12)', () => {
  it('10: least loaded first, respecting maxload; BYE gives the slot back', async () => {
    const f = listFile([`1 ${GW[0]} 0 0 duid=a;maxload=1`, `1 ${GW[1]} 0 0 duid=b;maxload=1`]);
    h = await harness(
      `modparam("dispatcher", "list_file", "${f}")\nmodparam("dispatcher", "ds_hash_size", 8)`,
      `request_route {
        if (is_method("BYE")) { ds_load_update(); exit; }
        if (!ds_select_dst("1", "10")) { sl_send_reply("503", "full"); exit; }
      }`,
    );
    const a = (await h.run(invite('l1'))).dstUri;
    const b = (await h.run(invite('l2'))).dstUri;
    expect(new Set([a, b])).toEqual(new Set([GW[0], GW[1]]));
    expect((await h.run(invite('l3'))).dstUri).toBeNull();
    expect(h.rec.replies.map((r) => r.code)).toEqual([503]);
    await h.run(invite('l1', { method: 'BYE' }));
    expect((await h.run(invite('l4'))).dstUri).toBe(a);
  });

  it('12: the first destination is set and the rest become branches', async () => {
    const hh = await setup(GW.map((g, i) => `1 ${g} 0 ${10 - i}`), 12);
    const ctx = await hh.run(invite('p1'));
    expect(ctx.dstUri).toBe(GW[0]);
    expect(ctx.branches.map((b) => b.dstUri)).toEqual([GW[1], GW[2]]);
  });
});

describe('ds_select_domain', () => {
  it('rewrites host, port and params of the R-URI, keeping the user', async () => {
    const f = listFile(['1 sip:10.9.9.9:5080;transport=tcp']);
    h = await harness(`modparam("dispatcher", "list_file", "${f}")`, 'request_route { ds_select_domain("1", "8"); }');
    const ctx = await h.run(invite('d1', { ruri: 'sip:4420@old.example.com' }));
    expect(ctx.ruri).toBe('sip:4420@10.9.9.9:5080;transport=tcp');
    expect(ctx.dstUri).toBeNull();
  });
});
