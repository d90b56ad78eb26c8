// What a consensus node logs about agreement (issue #24.11): the periodic "agreement counters" line
// printed the tip's hash and seed as {"0":114,"1":178,…}; an operator reads hex, the hash a client
// gets from GetBlock.
import test from 'ava';
import { credentials, Metadata } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsensusServiceClient, type GetBlockResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { createLogger } from '../../../lib/log/logger.js';
import { optionsFor } from '../../helpers/service.js';
import { createConsensusNode } from '../../../services/consensus/node.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/server-logs.test.ts');
logSeedOnFailure(test);

interface CountersLine {
  readonly msg: string;
  readonly tip?: { readonly round?: unknown; readonly hash?: unknown; readonly seed?: unknown };
}

test('the agreement counters line prints the tip hash and seed as hex, the hash GetBlock answers', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-consensus-logs-'));
  seeded.provisionNodeKey(dataDir);
  const raw: string[] = [];
  const logger = createLogger({ write: (l) => raw.push(l) });
  const env = { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_SHUTDOWN_GRACE_MS: '500' };
  const node = await createConsensusNode({ options: optionsFor('consensus', env), logger });
  const client = new ConsensusServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.close();
  });

  // The host writes the line every 10 s. (pollUntil returns only a found line: `!` is safe.)
  const line = (await pollUntil(() => raw.find((l) => l.includes('"msg":"agreement counters"')), { what: 'an "agreement counters" log line', deadlineMs: 30_000, intervalMs: 250 }))!;
  t.false(/"0":\d+,"1":\d+/.test(line), line);
  const counters = JSON.parse(line) as CountersLine;
  t.regex(String(counters.tip?.hash), /^[0-9a-f]{64}$/, line);
  t.regex(String(counters.tip?.seed), /^[0-9a-f]{64}$/, line);
  const round = BigInt(counters.tip?.round as number);
  const block = await new Promise<GetBlockResponse>((resolve, reject) =>
    client.getBlock({ selector: { $case: 'round', value: round } }, new Metadata(), { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  );
  t.is(counters.tip?.hash, Buffer.from(block.block!.blockHash).toString('hex'), 'the logged hash is the block hash of that round');
});
