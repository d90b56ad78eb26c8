// The web console's JSON reads (services/gateway/console.ts) on the gateway's HTTP front over the
// in-memory chain: who owns a name (a free name is an answer, not a 404: the browser logs every 404 it
// fetches as an error, which failed the console's browser test), and hostile or malformed requests
// answered with problem+json saying what is wrong, never a 500.
import test from 'ava';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, startHarness } from './http-harness.js';

logSeedOnFailure(test);

async function problemOf(res: Response): Promise<{ status: number; type: string | null; detail: string }> {
  const body = (await res.json()) as { detail?: string };
  return { status: res.status, type: res.headers.get('content-type'), detail: body.detail ?? '' };
}

test('GET /console/api/names/{name}: a free name is 200 claimed: false; a claimed one names its key', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness();
  try {
    const free = await fetch(`${h.url}/console/api/names/alice`);
    t.is(free.status, 200);
    t.like(await free.json(), { name: 'alice', claimed: false, owner: null, round: null });
    claimed(h.chain, 'alice', alice);
    const taken = await fetch(`${h.url}/console/api/names/alice`);
    t.is(taken.status, 200);
    t.like(await taken.json(), { name: 'alice', claimed: true, owner: Buffer.from(alice.publicKey).toString('hex'), round: '0' });
  } finally {
    await h.close();
  }
});

test('malformed console requests are 4xx problem+json that say what is wrong, not 500', async (t) => {
  const h = await startHarness();
  try {
    const cases: { path: string; method?: string; status: number; detail: RegExp }[] = [
      { path: '/console/api/names/Not_A_Name', status: 400, detail: /a name is 1–63 of a-z, 0-9 and "-".*got "Not_A_Name"/ },
      { path: '/console/api/names/', status: 400, detail: /a name is/ },
      { path: '/console/api/names/%ZZ', status: 400, detail: /"%ZZ" is not a valid URL path segment/ },
      { path: '/console/api/blocks/%E0%A4%A', status: 400, detail: /not a valid URL path segment/ },
      { path: '/console/api/blocks/tip', status: 400, detail: /a block is a round number or a 64-hex block hash, got "tip"/ },
      { path: '/console/api/search?q=nothing', status: 400, detail: /search for a round number, a block hash or a transaction id/ },
      { path: '/console/api/file?uri=https://example.com/x', status: 400, detail: /wolk:\/\// },
      { path: '/console/api/nothing-here', status: 404, detail: /no console API nothing-here/ },
      { path: '/console/no-such-file.js', status: 404, detail: /no console file no-such-file\.js/ },
      { path: '/console/api/genesis', status: 501, detail: /without WOLK_GENESIS/ },
      { path: '/console/api/names/alice', method: 'POST', status: 405, detail: /the console is read-only/ },
    ];
    for (const c of cases) {
      const p = await problemOf(await fetch(`${h.url}${c.path}`, { method: c.method ?? 'GET' }));
      t.is(p.status, c.status, `${c.method ?? 'GET'} ${c.path}: ${p.detail}`);
      t.is(p.type, 'application/problem+json', `${c.path} answers problem+json`);
      t.regex(p.detail, c.detail, `${c.path} says what is wrong`);
    }
  } finally {
    await h.close();
  }
});
