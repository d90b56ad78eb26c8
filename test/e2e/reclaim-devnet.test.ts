// Space reclamation on the real devnet processes (issue 20.2; docs/storer.md "Space reclamation"),
// with WOLK_RECLAIM_AFTER_MS = 90 s (the writes must end before the first deadline; they took 14-36 s
// on a shared 2-core machine). A file uploaded through the gateway is committed on chain; then, as a
// gateway that gives up would leave them, 200 aborted uploads (SetFile signed with the devnet
// gateway's key, no SetKey ever) and 200 unused solicitations (Solicit signed by the gateway, fetching
// from the storer that holds the file; nobody uses the commitment), and 120 chunks of a block that was
// never certified (SetShares signed with a consensus node's key). What operators see: every storer's
// GetInfo file count and the file bytes on its disk go back to their baseline within the deadline (and
// not before it), the stray chunks are gone, a storer SIGKILLed in the middle of its deletions restarts
// clean, and the committed file still reads back byte-identical with a proof that verifies.
//
// Opt-in (WOLK_E2E_RECLAIM=1), not in `npm test`: it takes 4-5 minutes (the 90 s deadline, a sweep
// interval, a restart), which pushed the clean-clone CI past its 25-minute bound on 2026-12-06 (27.5
// min). In CI, reclamation is checked by the chaos short form (test/e2e/chaos-short.test.ts: every
// storer holds exactly what the chain names it for once the deadline has passed) and the unit tests
// (test/unit/storer/reclaim.test.ts). Run it with:
//   WOLK_E2E_RECLAIM=1 flock /tmp/wolk-heavy.lock npx ava test/e2e/reclaim-devnet.test.ts
import test from 'ava';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import type { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { signShareWrite, signSolicit } from '../../lib/chain/write-request.js';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { sha256 } from '../../lib/crypto/hash.js';
import { loadOrCreateNodeKey, signerOf } from '../../lib/identity/node-key.js';
import { credentials } from '@grpc/grpc-js';
import { startSoakCluster } from '../../scripts/soak/cluster.js';
import { readSha256, setUpUsers } from '../../scripts/soak/load.js';
import { bytesUnder, fileBytesDir, reclaimed, storerHoldings } from '../../scripts/soak/reclaim-check.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';
import { pollUntil } from '../helpers/poll.js';
import { infoOf, setFile, storerClient, unary } from '../unit/storer/client.js';

logSeedOnFailure(test);

const maybe = process.env['WOLK_E2E_RECLAIM'] === '1' ? test : test.skip;

const AFTER_MS = 90_000;
/** A sweep every AFTER_MS / 4, and the chain's last block must be past the deadline too (rounds of ~1-2 s): back within this after the deadline. */
const SLACK_MS = AFTER_MS / 4 + 15_000;

interface Seen {
  files: number;
  bytesUsed: number;
  disk: number;
}

maybe('200 aborted uploads, 200 unused solicitations and stray chunks are reclaimed within the deadline; a kill mid-deletion restarts clean', async (t) => {
  t.timeout(480_000);
  const random = testRandom('e2e/reclaim-devnet');
  const cluster = await startSoakCluster({
    provisionKey: (_name, dataDir) => random.provisionNodeKey(dataDir),
    genesisSeedHex: random.hex(32),
    env: { WOLK_RECLAIM_AFTER_MS: String(AFTER_MS) },
  });
  const opened: { close(): void }[] = [];
  try {
    const storers = [...cluster.processes.values()].filter((p) => p.plan.service === 'storer');
    const clients = storers.map((p) => storerClient(p.direct));
    opened.push(...clients);
    const ids = await Promise.all(clients.map(async (c) => (await unary(c.getInfo.bind(c), {})).storerId));
    const registered = new Map(cluster.genesis.nodes.map((n) => [n.id, n.endpoint]));
    const sourceOf = (i: number) => registered.get(Buffer.from(ids[i]!).toString('hex'))!;
    const consensus = [...cluster.processes.values()].filter((p) => p.plan.service === 'consensus');
    const chain = new ConsensusServiceClient(consensus[0]!.direct, credentials.createInsecure());
    opened.push(chain);
    const gateway = [...cluster.processes.values()].find((p) => p.plan.service === 'gateway')!;
    const gatewaySigner = signerOf(loadOrCreateNodeKey(gateway.plan.dataDir).key);
    const proposerSigner = signerOf(loadOrCreateNodeKey(consensus[0]!.plan.dataDir).key);

    // A real upload, final on chain: it must survive every sweep.
    const [user] = await setUpUsers(cluster.gatewayUrl, cluster.genesis, [keyFromSeed(random.bytes(32))], 'rc', AbortSignal.timeout(180_000));
    const keptBody = random.bytes(300_000);
    const keptPath = join(cluster.dir, 'kept.bin');
    writeFileSync(keptPath, keptBody);
    const keptUri = `wolk://${user!.name}/files/kept.bin`;
    const put = await user!.client.put(keptPath, keptUri);
    t.is(put.state, 'final');

    const seen = async (i: number): Promise<Seen> => {
      const s = (await unary(clients[i]!.getInfo.bind(clients[i]!), {})).stats!;
      return { files: Number(s.files), bytesUsed: Number(s.bytesUsed), disk: bytesUnder(fileBytesDir(storers[i]!.plan.dataDir)) };
    };
    const baseline = await Promise.all(storers.map((_, i) => seen(i)));
    // The gateway may have had more storers commit than the SetKey names: those copies are unused
    // solicitations too, so the end state is what the chain names each storer for (the indexer's view).
    const named = await pollUntil(() => storerHoldings(cluster), {
      what: 'the indexer lists the kept upload',
      deadlineMs: 60_000,
      intervalMs: 500,
      until: (hs) => hs.reduce((n, h) => n + h.covered, 0) === cluster.genesis.params.replication,
      describe: (hs) => JSON.stringify(hs),
    });
    const uncoveredAtBaseline = storers.map((p, i) => baseline[i]!.files - named.find((h) => h.name === p.plan.name)!.covered);
    t.log('baseline', JSON.stringify(baseline), 'named on chain', JSON.stringify(named));

    // The writes a gateway that gave up would leave behind.
    const S = storers.length;
    const files = Array.from({ length: 200 }, (_, i) => random.bytes(4096 + (random.bytes(2).readUInt16BE(0) % 28_000) + i));
    const firstWriteMs = Date.now();
    for (let i = 0; i < files.length; i += 8) {
      await Promise.all(
        files.slice(i, i + 8).map((data, j) => {
          const at = (i + j) % S;
          return setFile(clients[at]!, infoOf(data), data, 256 * 1024, 60_000, { signer: gatewaySigner, storerId: ids[at]! });
        }),
      );
    }
    const status0 = await unary(chain.getStatus.bind(chain), {});
    const seedRound = status0.finalizedRound;
    const seed = (await unary(chain.getBlock.bind(chain), { selector: { $case: 'round', value: seedRound } })).block!.block!.header!.seed;
    let selected = 0;
    for (let i = 0; i < files.length; i += 8) {
      await Promise.all(
        files.slice(i, i + 8).map(async (data, j) => {
          const from = (i + j) % S;
          const at = (from + 1) % S;
          const req = signSolicit(gatewaySigner, { file: infoOf(data), seed, seedRound, sourceEndpoint: sourceOf(from), expectedStorers: 0, totalStake: 0n });
          const r = await unary(clients[at]!.solicit.bind(clients[at]!), req, 60_000);
          if (r.result?.$case === 'selected') selected++;
        }),
      );
    }
    const strays = Array.from({ length: 120 }, () => random.bytes(4096));
    for (let i = 0; i < S; i++) {
      const data = strays.filter((_, k) => k % S === i);
      await unary(clients[i]!.setShares.bind(clients[i]!), { data, ...signShareWrite(proposerSigner, ids[i]!, data.map((d) => sha256(d))) });
    }
    const lastWriteMs = Date.now();
    const peak = await Promise.all(storers.map((_, i) => seen(i)));
    t.log(`writes took ${lastWriteMs - firstWriteMs} ms; ${selected} of 200 solicitations selected; peak`, JSON.stringify(peak));
    const added = peak.reduce((n, p, i) => n + p.files - baseline[i]!.files, 0);
    t.is(added, 200 + selected, `every aborted upload and every selected solicitation stored a file (the writes took ${lastWriteMs - firstWriteMs} ms; the deadline is ${AFTER_MS} ms)`);

    // Nothing goes before the deadline (a storer's first write was at firstWriteMs at the earliest).
    const early = firstWriteMs + AFTER_MS - 1500;
    if (Date.now() < early) {
      await new Promise((r) => setTimeout(r, early - Date.now()));
      const before = await Promise.all(storers.map((_, i) => seen(i)));
      // Only the gateway's unused copies of the kept upload, stored before the 400 writes, may have gone.
      before.forEach((b, i) => t.true(b.files >= peak[i]!.files - uncoveredAtBaseline[i]!, `no file of the 400 writes is reclaimed before the deadline (${storers[i]!.plan.name}: ${b.files} of ${peak[i]!.files})`));
    }

    // The storer with the most to delete is SIGKILLed once it has started deleting, then restarted.
    const victim = peak.reduce((best, p, i) => (p.files - baseline[i]!.files > peak[best]!.files - baseline[best]!.files ? i : best), 0);
    let killedAt: number | null = null;
    await pollUntil(() => seen(victim), {
      what: `${storers[victim]!.plan.name} starts deleting`,
      deadlineMs: AFTER_MS + SLACK_MS + 30_000,
      intervalMs: 5,
      until: (s) => s.files < peak[victim]!.files - uncoveredAtBaseline[victim]!,
      describe: (s) => JSON.stringify(s),
    }).then(async (s) => {
      await cluster.kill(storers[victim]!.plan.name);
      killedAt = s.files;
    });
    t.log(`killed ${storers[victim]!.plan.name} with ${killedAt} files (baseline ${baseline[victim]!.files}, peak ${peak[victim]!.files})`);
    t.true(killedAt! > baseline[victim]!.files - uncoveredAtBaseline[victim]!, 'the kill came in the middle of the deletions');
    cluster.start(storers[victim]!.plan.name);
    t.true(await cluster.waitServing(storers[victim]!.plan.name, 60_000));
    const servingAgainMs = Date.now();

    // Back to baseline: every storer holds exactly what the chain names it for (GetInfo files, file bytes on disk).
    // The restarted storer's first sweep comes one sweep interval after it serves again.
    const deadline = Math.max(lastWriteMs + AFTER_MS, servingAgainMs) + SLACK_MS;
    const held = await pollUntil(() => storerHoldings(cluster), {
      what: 'every storer back to what the chain names it for',
      deadlineMs: Math.max(1000, deadline - Date.now() + 30_000),
      intervalMs: 250,
      until: (hs) => hs.every(reclaimed),
      describe: (hs) => JSON.stringify(hs),
    });
    const back = await Promise.all(storers.map((_, i) => seen(i)));
    const backMs = Date.now();
    t.log(`back to baseline ${backMs - lastWriteMs} ms after the last write (deadline ${AFTER_MS} ms)`, JSON.stringify(back), JSON.stringify(held));
    back.forEach((b, i) => t.true(b.files <= baseline[i]!.files && b.disk <= baseline[i]!.disk, `${storers[i]!.plan.name} at or below its baseline`));
    t.true(backMs <= deadline, `back within the deadline (or the restart) + one sweep and the chain's lag (${backMs - lastWriteMs} ms after the last write, limit ${deadline - lastWriteMs}; serving again ${servingAgainMs - lastWriteMs})`);
    // Stray chunks: gone from every storer.
    const notFound = async (i: number, d: Uint8Array) => {
      try {
        await unary(clients[i]!.getShare.bind(clients[i]!), { chunkId: Buffer.from(sha256(d)) });
        return false;
      } catch (err) {
        return (err as ServiceError).code === status.NOT_FOUND;
      }
    };
    await pollUntil(async () => (await Promise.all(strays.map((d, k) => notFound(k % S, d)))).filter((x) => !x).length, {
      what: 'stray chunks reclaimed',
      deadlineMs: AFTER_MS + SLACK_MS,
      intervalMs: 500,
      until: (left) => left === 0,
      describe: (left) => `${left} of ${strays.length} still held`,
    });
    for (let i = 0; i < S; i++) t.log(`${storers[i]!.plan.name}: bytesUsed ${baseline[i]!.bytesUsed} -> ${peak[i]!.bytesUsed} -> ${back[i]!.bytesUsed} (chunks of certified blocks since are kept)`);

    // The committed file is whole and provable.
    const reader = new WolkClient(cluster.gatewayUrl, undefined, cluster.genesis);
    t.is(await readSha256(reader, keptUri), createHash('sha256').update(keptBody).digest('hex'));
    const proof = await reader.proof(keptUri);
    t.true(proof.verified && proof.quorum === true, proof.reason ?? 'quorum');
  } finally {
    for (const c of opened) c.close();
    await cluster.stop();
  }
});
