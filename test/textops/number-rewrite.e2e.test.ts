// examples/number-rewrite.cfg over UDP: a SIPp customer dials numbers in international,
// 00 and national form with various caller ids; the SIPp carrier gateway must see E.164
// digits in the R-URI user and the From user.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { freePort, repoRoot, startProxy } from '../helpers/proxy.js';
import { runCaller, startGateway, type Gateway } from '../dispatcher/gateways.js';

let server: Server;
let port: number;
let gw: Gateway;

beforeAll(async () => {
  gw = await startGateway(await freePort());
  const text = readFileSync(join(repoRoot, 'examples/number-rewrite.cfg'), 'utf8').replace(
    '#!KAMAILIO\n',
    `#!KAMAILIO\n#!define CARRIER_URI "sip:127.0.0.1:${gw.port}"\n`,
  );
  ({ server, port } = await startProxy(text, { listen: ['udp:127.0.0.1:0'] }));
}, 30000);

afterAll(async () => {
  await server?.stop();
  await gw?.stop();
});

/** the INVITE the gateway got for the last call */
function lastInvite(): string {
  const all = gw.messages('INVITE');
  return all[all.length - 1]!;
}

async function call(service: string, cli: string): Promise<{ ruriUser: string; from: string }> {
  const before = gw.messages('INVITE').length;
  const r = await runCaller(port, { service, cli, calls: 1, rate: 1 });
  expect(r.code, r.errors || r.out).toBe(0);
  expect(gw.messages('INVITE').length).toBeGreaterThan(before);
  const inv = lastInvite();
  return {
    ruriUser: /^INVITE sip:([^@]+)@/.exec(inv)![1]!,
    from: /^From:\s*(.*)$/im.exec(inv)![1]!.trim(),
  };
}

describe('number-rewrite.cfg', () => {
  it('+ international: the + goes, the CLI keeps its digits', async () => {
    const r = await call('+442071234567', '+442079460001');
    expect(r.ruriUser).toBe('442071234567');
    expect(r.from).toMatch(/^"Customer" <sip:442079460001@127\.0\.0\.1:\d+>;tag=/);
  });

  it('00 international prefix is removed', async () => {
    const r = await call('00442071234567', '00442079460002');
    expect(r.ruriUser).toBe('442071234567');
    expect(r.from).toMatch(/<sip:442079460002@/);
  });

  it('national 0 becomes the country code (destination and CLI)', async () => {
    const r = await call('02071234567', '02079460003');
    expect(r.ruriUser).toBe('442071234567');
    expect(r.from).toMatch(/<sip:442079460003@/);
  });

  it('a withheld CLI is replaced by the trunk number with an Anonymous display name', async () => {
    const r = await call('442071234567', 'anonymous');
    expect(r.ruriUser).toBe('442071234567');
    expect(r.from).toMatch(/^"Anonymous" <sip:442079460000@127\.0\.0\.1:\d+>;tag=/);
  });
});
