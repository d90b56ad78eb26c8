// StorerService edges through the generated client on a real in-process storer (issue #24.8, #24.11):
// a client's SetFile message over the receive limit gets RESOURCE_EXHAUSTED and is logged as what it
// is (info, a sentence naming the limit), never as an error "Premature close"; a file over the size
// limit is a warn line, not an error; uint64 sizes, offsets and lengths past 2^53 are refused or
// clipped as the contract says and printed exactly.
import test, { type ExecutionContext } from 'ava';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import type { StorerServiceClient } from '../../../gen/wolk/storer/v1/storer.js';
import { createLogger } from '../../../lib/log/logger.js';
import { optionsFor } from '../../helpers/service.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { getFile, infoOf, setFile, storerClient } from './client.js';
import { unsignedWrite } from '../../../lib/chain/write-request.js';

const seeded = testRandom('unit/storer/setfile-validation.test.ts');
logSeedOnFailure(test);

const U64_MAX = 2n ** 64n - 1n;
const LIMIT = 256 * 1024;

interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A storer whose log lines (debug and up) the test reads. */
async function start(t: ExecutionContext, env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-storer-validation-'));
  seeded.provisionNodeKey(dataDir);
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as LogLine) });
  const fullEnv = { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_SHUTDOWN_GRACE_MS: '500', ...env };
  const node = await createStorerNode({ options: optionsFor('storer', fullEnv), logger });
  const client = storerClient(node.endpoints['grpc']!);
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  return { client, lines };
}

/** SetFile driven by a script of writes: each step writes one message, optionally after `afterMs`. */
function scriptedSetFile(client: StorerServiceClient, steps: { part: { $case: 'info'; value: FileInfo } | { $case: 'data'; value: Buffer }; afterMs?: number }[]): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err));
    const run = (i: number) => {
      if (i === steps.length) return void call.end();
      const step = steps[i]!;
      const write = () => {
        call.write({ part: step.part, ...unsignedWrite() });
        run(i + 1);
      };
      // A client that pauses between messages (the server is then waiting inside the upload).
      if (step.afterMs !== undefined) setTimeout(write, step.afterMs);
      else write();
    };
    run(0);
  });
}

test('an oversized SetFile message: RESOURCE_EXHAUSTED to the client, an info line naming the limit, no error line', async (t) => {
  const s = await start(t, { WOLK_MAX_MESSAGE_BYTES: '256KiB' });
  const data = seeded.bytes(600_000);
  const info = infoOf(data);
  const cases: [string, Parameters<typeof scriptedSetFile>[1]][] = [
    ['info and data at once', [{ part: { $case: 'info', value: info } }, { part: { $case: 'data', value: data } }]],
    // Reproduced the error line "Premature close": the handler was reading the stream when grpc-js ended it.
    ['info, then data a moment later', [{ part: { $case: 'info', value: info } }, { part: { $case: 'data', value: data }, afterMs: 300 }]],
    ['an oversized first message', [{ part: { $case: 'data', value: data } }]],
    ['a fitting piece, then an oversized one', [{ part: { $case: 'info', value: info } }, { part: { $case: 'data', value: data.subarray(0, 100_000) } }, { part: { $case: 'data', value: data.subarray(100_000) } }]],
  ];
  for (const [what, steps] of cases) {
    const before = s.lines.length;
    const err = await scriptedSetFile(s.client, steps);
    t.is(err?.code, status.RESOURCE_EXHAUSTED, `${what}: ${err?.details}`);
    t.regex(err?.details ?? '', /larger than max/, what);
    // pollUntil returns only a found line: `!` is safe.
    const ended = (await pollUntil(() => s.lines.slice(before).find((l) => l.msg === 'call ended before it was answered'), {
      what: `the storer's log line about the refused SetFile (${what})`,
      deadlineMs: 10_000,
      describe: () => JSON.stringify(s.lines.slice(before)),
    }))!;
    t.is(ended.level, 'info', what);
    t.is(ended['method'], 'wolk.storer.v1.StorerService/SetFile', what);
    t.is(
      ended['reason'],
      `the call ended before the server answered: the client cancelled it, or gRPC refused one of its messages (a message over the server's receive limit of ${LIMIT} bytes (WOLK_MAX_MESSAGE_BYTES) is answered RESOURCE_EXHAUSTED)`,
      what,
    );
  }
  t.deepEqual(
    s.lines.filter((l) => l.level === 'error'),
    [],
    'a client fault is not a server error',
  );
  // The storer is fine: the same file in pieces that fit is stored.
  await setFile(s.client, info, data, 100_000);
  t.true((await getFile(s.client, { filehash: info.filehash })).bytes.equals(data));
});

test('a file over WOLK_MAX_FILE_BYTES: RESOURCE_EXHAUSTED to the client, a warn line with the reason, no error line', async (t) => {
  const s = await start(t, { WOLK_MAX_FILE_BYTES: '64KiB' });
  const data = seeded.bytes(70_000);
  const before = s.lines.length;
  const err = await scriptedSetFile(s.client, [{ part: { $case: 'info', value: infoOf(data) } }, { part: { $case: 'data', value: data } }]);
  t.is(err?.code, status.RESOURCE_EXHAUSTED);
  const reason = `file of 70000 bytes exceeds this storer's limit of ${64 * 1024} bytes (WOLK_MAX_FILE_BYTES)`;
  t.is(err?.details, reason);
  const refused = (await pollUntil(() => s.lines.slice(before).find((l) => l.msg === 'call refused: a limit was reached'), {
    what: "the storer's log line about the refused file",
    deadlineMs: 10_000,
    describe: () => JSON.stringify(s.lines.slice(before)),
  }))!;
  t.is(refused.level, 'warn');
  t.is(refused['method'], 'wolk.storer.v1.StorerService/SetFile');
  t.is(refused['reason'], reason);
  t.deepEqual(
    s.lines.filter((l) => l.level === 'error'),
    [],
  );
});

test('uint64 size, offset and length past 2^53 are refused or clipped, printed exactly', async (t) => {
  const s = await start(t);
  const data = seeded.bytes(10_000);
  const info = infoOf(data);
  await setFile(s.client, info, data);

  // A FileInfo claiming 2^64 − 1 bytes: over the storer's limit, the size printed from the bigint.
  const huge = await scriptedSetFile(s.client, [{ part: { $case: 'info', value: { ...info, size: U64_MAX } } }]);
  t.is(huge?.code, status.RESOURCE_EXHAUSTED);
  t.regex(huge?.details ?? '', /^file of 18446744073709551615 bytes exceeds this storer's limit of \d+ bytes \(WOLK_MAX_FILE_BYTES\)$/);

  const past = await getFile(s.client, { filehash: info.filehash, offset: U64_MAX }).then(
    () => null,
    (err: ServiceError) => err,
  );
  t.is(past?.code, status.OUT_OF_RANGE);
  t.is(past?.details, 'offset 18446744073709551615 is past the end of the file (10000 bytes)');

  // A length past the end is clipped at the end (storer.proto), whatever its size.
  const clipped = await getFile(s.client, { filehash: info.filehash, offset: 9_000n, length: U64_MAX });
  t.true(clipped.bytes.equals(data.subarray(9_000)));
});
