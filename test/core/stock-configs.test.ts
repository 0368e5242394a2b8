// Real configs through the full check (tser -c): Kamailio 5.6's stock kamailio.cfg with the
// usual define sets, and every example shipped in examples/.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { repoRoot } from '../helpers/proxy.js';

const stock = join(repoRoot, 'test/fixtures/kamailio-configs/kamailio.cfg');

describe('Kamailio stock kamailio.cfg', () => {
  for (const defs of [[], ['WITH_MYSQL', 'WITH_AUTH', 'WITH_USRLOCDB'], ['WITH_MYSQL', 'WITH_AUTH', 'WITH_IPAUTH', 'WITH_ALIASDB']]) {
    it(`passes the full check with ${defs.length ? defs.join(' ') : 'no defines'}`, async () => {
      const cfg = await loadConfig(stock, { defines: new Map(defs.map((d) => [d, true])) });
      expect(cfg.bag.format()).toBe('');
      expect(cfg.dialect?.dialect).toBe('kamailio');
    });
  }
});

describe('examples/', () => {
  const files = readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.cfg'));
  for (const f of files) {
    it(`${f} passes the full check`, async () => {
      const cfg = await loadConfig(join(repoRoot, 'examples', f));
      expect(cfg.bag.errors()).toEqual([]);
    });
  }
});
