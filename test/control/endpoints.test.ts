// Where the control plane listens for a given config: SER fifo, jsonrpcs, ctl, overrides,
// and loopback unless an address is written explicitly.
import { describe, expect, it } from 'vitest';
import { describeEndpoint, parseAddress, planEndpoints } from '../../src/control/endpoints.js';

type G = Map<string, (string | number | boolean)[]>;
const plan = (globals: G, modules: Record<string, Record<string, unknown>> = {}, socketOverride?: string) =>
  planEndpoints({ globals, modules: new Map(Object.entries(modules)), runDir: '/run/x', socketOverride });

describe('planEndpoints', () => {
  it('SER fifo= with fifo_dir and fifo_mode, plus the default control socket (0600)', () => {
    const p = plan(new Map<string, (string | number | boolean)[]>([['fifo', ['/tmp/ser_fifo']], ['fifo_dir', ['/var/tmp']], ['fifo_mode', [0o660]]]));
    expect(p.endpoints).toEqual([
      { kind: 'fifo', path: '/tmp/ser_fifo', replyDir: '/var/tmp/', mode: 0o660, owner: 'core fifo', pretty: false },
      { kind: 'unix', path: '/run/x/tser_ctl', mode: 0o600, owner: 'control socket' },
    ]);
  });

  it('jsonrpcs: fifo relative to the run dir, udp/tcp sockets on loopback by default, unix dgram noted', () => {
    const p = plan(new Map(), {
      jsonrpcs: { transport: 0, fifo_name: 'rpc.fifo', fifo_reply_dir: '/tmp', fifo_mode: 0o600, dgram_socket: 'udp:8090', tcp_socket: 'tcp:localhost:8091', pretty_format: 1 },
    });
    expect(p.endpoints.map(describeEndpoint)).toEqual(['fifo:/run/x/rpc.fifo', 'udp:127.0.0.1:8090', 'tcp:127.0.0.1:8091', 'unix:/run/x/tser_ctl']);
    const q = plan(new Map(), { jsonrpcs: { transport: 6, fifo_name: '', dgram_socket: 'kamailio_rpc.sock' } });
    expect(q.notes[0]).toMatch(/unix datagram sockets are not supported/);
    expect(q.endpoints.map(describeEndpoint)).toEqual(['unix:/run/x/tser_ctl']);
  });

  it('ctl binrpc: a unix path replaces the default socket, tcp replaces it too; -s wins for the unix path', () => {
    expect(plan(new Map(), { ctl: { binrpc: 'unix:/tmp/k_ctl', mode: 0o660 } }).endpoints).toEqual([
      { kind: 'unix', path: '/tmp/k_ctl', mode: 0o660, owner: 'control socket' },
    ]);
    expect(plan(new Map(), { ctl: { binrpc: 'tcp:*:2046' } }).endpoints.map(describeEndpoint)).toEqual(['tcp:0.0.0.0:2046']);
    expect(plan(new Map(), { ctl: { binrpc: 'unix:/tmp/k_ctl' } }, '/tmp/mine').endpoints.map(describeEndpoint)).toEqual(['unix:/tmp/mine']);
  });

  it('ctl: every repeated binrpc address is opened, tcp without a port takes 2049, user/group kept', () => {
    const p = planEndpoints({
      globals: new Map(),
      modules: new Map([['ctl', { binrpc: 'tcp:127.0.0.1', mode: 0o660, user: 'kamailio', group: 'adm' }]]),
      runDir: '/run/x',
      ctlBinrpc: ['unix:/run/x/kamailio_ctl', 'tcp:127.0.0.1', 'udp:localhost:2046', 'unixs:/tmp/other', 'unixd:/tmp/dg'],
    });
    expect(p.endpoints.map(describeEndpoint)).toEqual(['tcp:127.0.0.1:2049', 'udp:127.0.0.1:2046', 'unix:/tmp/other', 'unix:/run/x/kamailio_ctl']);
    expect(p.endpoints[3]).toMatchObject({ mode: 0o660, user: 'kamailio', group: 'adm' });
    expect(p.notes[0]).toMatch(/unix datagram/);
  });

  it('ctl without binrpc: Kamailio\'s default socket name kamailio_ctl in the run dir, besides tser_ctl', () => {
    expect(plan(new Map(), { ctl: { binrpc: '', mode: 0o600 } }).endpoints.map(describeEndpoint)).toEqual(['unix:/run/x/kamailio_ctl', 'unix:/run/x/tser_ctl']);
  });
});

describe('parseAddress', () => {
  it('parses unix, udp, tcp forms', () => {
    expect(parseAddress('/run/a', 'udp')).toEqual({ kind: 'unix', path: '/run/a' });
    expect(parseAddress('unixs:/run/a', 'udp')).toEqual({ kind: 'unix', path: '/run/a' });
    expect(parseAddress('10.0.0.1:2046', 'udp')).toEqual({ kind: 'udp', host: '10.0.0.1', port: 2046 });
    expect(parseAddress('tcp:[::1]:2046', 'udp')).toEqual({ kind: 'tcp', host: '::1', port: 2046 });
    expect(parseAddress('unixd:/x', 'udp').kind).toBe('unsupported');
    expect(parseAddress('tcp:host:99999', 'udp').kind).toBe('bad');
  });
});
