// Gaps inside a live sector (services/storer/porep/sectors.ts): the free ranges a released file leaves
// below the watermark, merged when they touch, found again at start as the complement of the live
// ranges, and taken best fit (the smallest gap a placement fits) before room above the watermark.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PorepNetworkParams } from '../../../lib/chain/sealed.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { workerLabeller } from '../../../services/storer/porep/labeller.js';
import { SectorStore, addGap, gapsBelow } from '../../../services/storer/porep/sectors.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/storer/sector-gaps.test.ts');
logSeedOnFailure(test);

const PARAMS: PorepNetworkParams = { sectorBytes: 64 * 1024, layers: 4, sealChallenges: 64, auditChallenges: 16 };

test('gapsBelow: the complement of the live ranges below the watermark, in order, whatever order the ranges come in', (t) => {
  t.deepEqual(gapsBelow(0, []), []);
  t.deepEqual(gapsBelow(100, []), [{ first: 0, count: 100 }], 'no live file: all of [0, used)');
  t.deepEqual(gapsBelow(100, [{ first: 0, count: 100 }]), []);
  t.deepEqual(gapsBelow(1400, [{ first: 900, count: 500 }, { first: 0, count: 250 }]), [{ first: 250, count: 650 }]);
  t.deepEqual(gapsBelow(1000, [{ first: 100, count: 100 }, { first: 500, count: 100 }]), [{ first: 0, count: 100 }, { first: 200, count: 300 }, { first: 600, count: 400 }]);
  t.deepEqual(gapsBelow(300, [{ first: 0, count: 100 }, { first: 100, count: 200 }]), [], 'adjacent live ranges leave no gap');
});

test('addGap: merged with the gaps it touches on either side, kept in order', (t) => {
  t.deepEqual(addGap([], { first: 10, count: 5 }), [{ first: 10, count: 5 }]);
  t.deepEqual(addGap([{ first: 0, count: 10 }], { first: 10, count: 5 }), [{ first: 0, count: 15 }], 'touching on the left');
  t.deepEqual(addGap([{ first: 15, count: 5 }], { first: 10, count: 5 }), [{ first: 10, count: 10 }], 'on the right');
  t.deepEqual(addGap([{ first: 0, count: 10 }, { first: 15, count: 5 }], { first: 10, count: 5 }), [{ first: 0, count: 20 }], 'both');
  t.deepEqual(addGap([{ first: 30, count: 5 }, { first: 0, count: 10 }].sort((a, b) => a.first - b.first), { first: 20, count: 5 }), [{ first: 0, count: 10 }, { first: 20, count: 5 }, { first: 30, count: 5 }], 'apart: in order');
});

test('a placement takes the smallest gap it fits, then room above the watermark; a released range is taken once', async (t) => {
  t.timeout(120_000);
  const store = new SectorStore({ dir: join(mkdtempSync(join(tmpdir(), 'wolk-sector-gaps-'))), storerId: seeded.bytes(32), params: PARAMS, labeller: workerLabeller, logger: silentLogger, random: (n) => seeded.bytes(n) });
  store.init();
  store.start();
  try {
    const at = async (count: number) => store.place(count, AbortSignal.timeout(60_000));
    const [a, b, c, d] = [await at(300), await at(50), await at(100), await at(50)];
    const id = a.sector.idHex;
    t.deepEqual([b, c, d].map((p) => p.sector.idHex), [id, id, id]);
    await store.adoptLive(new Map([[id, [a, b, c, d].map((p) => ({ first: p.first, count: p.count }))]]));
    await store.release(id, { first: a.first, count: a.count });
    await store.release(id, { first: c.first, count: c.count });
    t.deepEqual(store.get(id)?.gaps, [{ first: 0, count: 300 }, { first: 350, count: 100 }]);
    const e = await at(80);
    t.deepEqual([e.sector.idHex, e.first], [id, 350], 'the 100-node gap, the smallest that fits 80');
    const f = await at(150);
    t.deepEqual([f.sector.idHex, f.first], [id, 0], 'the 300-node gap for 150');
    const g = await at(200);
    t.deepEqual([g.sector.idHex, g.first], [id, 500], 'no gap fits 200 (150 and 20 left): above the watermark');
    t.deepEqual(store.get(id)?.gaps, [{ first: 150, count: 150 }, { first: 430, count: 20 }]);
    t.is(store.get(id)?.live, 5, 'b, d, e, f, g');
    t.is(store.reusedNodes, 230);
  } finally {
    await store.stop();
  }
});
