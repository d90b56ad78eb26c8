// The storer's porep work off its main thread (services/storer/porep/worker.ts): a sector's column tree
// built in a worker is the in-thread one; the outsourcer fault's re-seal (regenerate.ts) gives the same
// labels as the in-thread regeneration, runs at a low OS priority (so on a shared test machine it does
// not slow its honest neighbours), and is stopped when the caller gives up.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitColumns, regenerateRange } from '../../../lib/porep/index.js';
import { labelInto } from '../porep/helpers.js';
import { columnTreeInWorker } from '../../../services/storer/porep/column-tree.js';
import { FileLayerStore } from '../../../services/storer/porep/layer-files.js';
import { RESEAL_NICE, regenerateInWorker, type RegenerateJob } from '../../../services/storer/porep/regenerate.js';
import { lowerThreadPriority } from '../../../services/storer/porep/thread-priority.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/storer/porep-workers.test.ts');
logSeedOnFailure(test);

/** nice values of this process's threads, by thread id (Linux /proc; field 19 of stat). */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

test.serial('the worker re-seal gives the same labels as regenerating in this thread', async (t) => {
  const nodes = 4096;
  const first = seeded.int(0, nodes - 64);
  const job: RegenerateJob = { replicaId: seeded.bytes(32), nodes, layers: 3, first, count: 64 };
  const got = await regenerateInWorker(job);
  const want = regenerateRange(job.replicaId, nodes, 3, first, 64);
  t.is(got.labelsComputed, want.labelsComputed);
  t.deepEqual(new Uint8Array(got.label), want.label, `range [${first}, ${first + 64})`);
});

test.serial('the re-seal thread runs at RESEAL_NICE, this process stays at its priority, and an abort stops the thread', async (t) => {
  if (process.platform !== 'linux') return t.pass('thread priorities are Linux-only here');
  const before = threadNice();
  const ownNice = before.get(process.pid)!;
  const nodes = 1 << 20; // 32 MiB sector: seconds of labelling, long enough to observe
  const job: RegenerateJob = { replicaId: seeded.bytes(32), nodes, layers: 3, first: nodes - 1024, count: 1024 };
  const stop = new AbortController();
  const run = regenerateInWorker(job, stop.signal);
  run.catch(() => undefined);
  const niced = await pollUntil(() => [...threadNice()].find(([tid, n]) => !before.has(tid) && n === RESEAL_NICE)?.[0], {
    what: `a new thread of this process at nice ${RESEAL_NICE}`,
    deadlineMs: 30_000,
    intervalMs: 20,
  });
  t.is(threadNice().get(process.pid), ownNice, 'the main thread keeps its priority');
  stop.abort(new Error('the auditor gave up'));
  await t.throwsAsync(run, { message: 'the auditor gave up' });
  // terminate() takes effect when the native loop returns from the layer in progress: ~1 s of CPU on an
  // idle core for this sector, up to ~10x that at nice 10 beside a busy process
  await pollUntil(() => !threadNice().has(niced), { what: `thread ${niced} to end after the abort`, deadlineMs: 60_000, intervalMs: 50 });
});

test.serial('a sector\'s column tree built in a worker from its layer files is the one built in this thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-column-tree-'));
  const nodes = 2048;
  const layers = 3;
  const replicaId = seeded.bytes(32);
  const store = labelInto(new FileLayerStore(dir, nodes), replicaId, nodes, layers);
  const here = await commitColumns(store, nodes, layers);
  store.close();
  const moved = await columnTreeInWorker({ dir, nodes, layers });
  t.deepEqual(moved.root(), here.commC);
  for (const i of [0, nodes - 1, seeded.int(0, nodes - 1)]) t.deepEqual(moved.branch(i), here.treeC.branch(i), `branch ${i}`);
});

test('thread priorities: a nice outside [0, 19] is refused', (t) => {
  t.throws(() => lowerThreadPriority(20), { instanceOf: RangeError });
  t.throws(() => lowerThreadPriority(-1), { instanceOf: RangeError });
});
