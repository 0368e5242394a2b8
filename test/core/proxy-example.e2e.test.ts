// examples/proxy.cfg — what `npm start` runs — end to end on its embedded text:// store:
// SIPp phones register with digest auth and call each other through tm; the write-back
// store keeps the registration in the db_text file across a stop.
import { createHash } from 'node:crypto';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/core/server.js';
import { freePort, repoRoot, startProxy, tempDir } from '../helpers/proxy.js';
import { request, statusOf, UdpPeer } from '../helpers/sip-client.js';
import { runSipp, startSipp } from '../helpers/sipp.js';

const scen = (f: string) => join(repoRoot, 'test/fixtures/sipp/seed', f);
let server: Server;
let port: number;
let dbDir: string;

beforeAll(async () => {
  dbDir = join(tempDir('tser-example-'), 'db');
  cpSync(join(repoRoot, 'examples/db'), dbDir, { recursive: true });
  const text = readFileSync(join(repoRoot, 'examples/proxy.cfg'), 'utf8')
    .replace('#!trydef DBURL "text://examples/db"', `#!trydef DBURL "text://${dbDir}"`)
    // users write From: <sip:user@127.0.0.1> (port 5060): that is us too
    .replace('listen=tcp:127.0.0.1:5060', 'listen=tcp:127.0.0.1:5060\nalias=127.0.0.1:5060');
  ({ server, port } = await startProxy(text));
});

afterAll(async () => {
  await server?.stop();
});

describe('examples/proxy.cfg (npm start)', () => {
  it('answers keepalive OPTIONS, challenges an unauthenticated INVITE and refuses a wrong password', async () => {
    const peer = await UdpPeer.open();
    try {
      await peer.send(request({ method: 'OPTIONS', ruri: `sip:127.0.0.1:${port}`, port: peer.port, callId: 'ka@test' }), port);
      expect(statusOf((await peer.next((m) => m.text.includes('ka@test'))).text)).toBe(200);
      await peer.send(
        request({ method: 'INVITE', ruri: `sip:alice@127.0.0.1:${port}`, from: '<sip:bob@127.0.0.1>', port: peer.port, callId: 'noauth@test' }),
        port,
      );
      const r = await peer.next((m) => m.text.includes('noauth@test') && statusOf(m.text) >= 200);
      expect(statusOf(r.text)).toBe(407);
      expect(r.text).toMatch(/Proxy-Authenticate: Digest realm="127\.0\.0\.1", nonce="/);
      // answer the challenge with a wrong password: challenged again
      const nonce = /nonce="([^"]+)"/.exec(r.text)![1]!;
      const uri = `sip:alice@127.0.0.1:${port}`;
      const md5 = (x: string) => createHash('md5').update(x).digest('hex');
      const response = md5(`${md5('bob:127.0.0.1:wrong')}:${nonce}:${md5(`INVITE:${uri}`)}`);
      await peer.send(
        request({
          method: 'INVITE',
          ruri: uri,
          from: '<sip:bob@127.0.0.1>',
          port: peer.port,
          callId: 'badpw@test',
          extra: [`Proxy-Authorization: Digest username="bob", realm="127.0.0.1", nonce="${nonce}", uri="${uri}", response="${response}"`],
        }),
        port,
      );
      const again = await peer.next((m) => m.text.includes('badpw@test') && statusOf(m.text) >= 200);
      expect(statusOf(again.text)).toBe(407);
    } finally {
      peer.close();
    }
  });

  it('registers alice with digest auth, bob calls her through tm, the store keeps her contact', async () => {
    const uasPort = await freePort();
    const uas = startSipp({ scenario: join(repoRoot, 'test/fixtures/sipp/auth/uas-call.xml'), port: uasPort, timeoutSec: 30 });
    try {
      const reg = await runSipp({
        scenario: scen('register-auth.xml'),
        target: `127.0.0.1:${port}`,
        calls: 1,
        keys: { user: 'alice', cport: uasPort, expires: 600 },
        auth: { user: 'alice', password: 'alice-secret' },
      });
      expect(reg.successful, reg.output).toBe(1);
      const call = await runSipp({
        scenario: scen('call-auth.xml'),
        target: `127.0.0.1:${port}`,
        calls: 1,
        keys: { user: 'bob', callee: 'alice' },
        auth: { user: 'bob', password: 'bob-secret' },
      });
      expect(call.successful, call.output).toBe(1);
    } finally {
      await uas.stop();
    }
    await server.stop();
    expect(readFileSync(join(dbDir, 'location'), 'utf8')).toContain(`sip\\:alice@127.0.0.1\\:${uasPort}`);
  }, 60_000);
});
