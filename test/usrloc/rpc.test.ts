// usrloc RPC methods (Kamailio ul.* and SER 0.9 ul_*) on a memory store.
import { afterEach, describe, expect, it } from 'vitest';
import { ulRpc } from '../../modules/usrloc/rpc.js';
import { UlRpcError } from '../../modules/usrloc/api.js';
import { ci, makeStore, T0, type TestStore } from './helpers.js';

let s: TestStore;
afterEach(async () => {
  await s?.store.stop();
});

function call(name: string, ...params: (string | number)[]) {
  return Promise.resolve(ulRpc[name]!.run({ store: s.store }, params));
}

describe('ul.* RPC', () => {
  it('ul.add, ul.lookup, ul.dump, ul.rm_contact, ul.rm', async () => {
    s = makeStore();
    await s.store.start(['location']);
    await call('ul.add', 'location', 'sip:alice@example.com', 'sip:alice@10.0.0.1:5060', 3600, '0.5');
    await call('ul.add', 'location', 'alice', 'sip:alice@10.0.0.2', 0);
    const r = (await call('ul.lookup', 'location', 'alice')) as { AoR: string; Contacts: { Contact: Record<string, unknown> }[] };
    expect(r.AoR).toBe('alice');
    expect(r.Contacts.map((c) => c.Contact['Address'])).toEqual(['sip:alice@10.0.0.1:5060', 'sip:alice@10.0.0.2']);
    expect(r.Contacts[0]!.Contact).toMatchObject({ Expires: 3600, Q: 0.5 });
    expect(r.Contacts[1]!.Contact['Q']).toBe(-1); // not given, as Kamailio
    expect(r.Contacts[1]!.Contact['Expires']).toBe('permanent');

    const dump = (await call('ul.dump')) as { Domains: { Domain: { Domain: string; AoRs: unknown[] } }[] };
    expect(dump.Domains[0]!.Domain.Domain).toBe('location');
    expect(dump.Domains[0]!.Domain.AoRs).toHaveLength(1);

    await call('ul.rm_contact', 'location', 'alice', 'sip:alice@10.0.0.2');
    expect(((await call('ul.lookup', 'location', 'alice')) as { Contacts: unknown[] }).Contacts).toHaveLength(1);
    await call('ul.rm', 'location', 'alice');
    await expect(call('ul.lookup', 'location', 'alice')).rejects.toMatchObject({ rpcCode: 404 });
  });

  it('rejects unknown tables, bad q and missing params with UlRpcError codes', async () => {
    s = makeStore();
    await s.store.start(['location']);
    await expect(call('ul.lookup', 'nosuch', 'alice')).rejects.toBeInstanceOf(UlRpcError);
    await expect(call('ul.add', 'location', 'alice', 'sip:a@h', 60, 'x')).rejects.toMatchObject({ rpcCode: 400 });
    await expect(call('ul.rm', 'location')).rejects.toMatchObject({ rpcCode: 400 });
  });

  it('SER 0.9 ul_add / ul_show_contact / ul_rm', async () => {
    s = makeStore();
    await s.store.start(['aliases']);
    expect(await call('ul_add', 'aliases', 'info', 'sip:1000@example.com', 0, '1', 0, 128)).toBe('Added to table');
    expect(await call('ul_show_contact', 'aliases', 'info')).toEqual(['<sip:1000@example.com>;q=1;expires=permanent']);
    s.clock.t = T0 + 10;
    await s.store.getDomain('aliases').insert('x', ci('sip:x@h', 100));
    expect(await call('ul_show_contact', 'aliases', 'x')).toEqual(['<sip:x@h>;expires=90']);
    expect(await call('ul_rm', 'aliases', 'info')).toMatch(/deleted/);
    await expect(call('ul_show_contact', 'aliases', 'info')).rejects.toMatchObject({ rpcCode: 404 });
  });
});
