// `npm run bench -- porep-put`: the cost sealing adds to a PUT (issue 15 "Benchmark": "the cost sealing
// adds to `npm run bench -- e2e` PUT (before/after in the same run)"). The devnet runs twice in one run,
// one after the other on the same machine: unsealed (the default genesis), then sealed
// (WOLK_DEVNET_POREP_SECTOR=32MiB, docs/porep.md "Devnet parameters"). In each, through the TypeScript
// client, one upload at a time, each to finality:
//   - a first 64 KiB PUT, reported on its own (in the sealed devnet it is the first commitment into the
//     storers' first sectors, and the first seal proofs the validators ask for);
//   - ROUNDS PUTs of each size in SIZES; the median seconds to final of each size, sealed beside unsealed;
//   - the CPU-seconds per MB uploaded of all storers together and of all validators together, beyond
//     each process's idle rate measured first (/proc/PID/stat, bench/profile/cpu-breakdown.ts), sealed
//     beside unsealed;
//   - in the sealed devnet, the one-time labelling of each storer's first sector (the 'sector labelled'
//     log line's ms), waited for before anything is timed, and the storers' CPU over that wait.
// Sectors labelled while the sizes are uploaded (a storer labels its next sector when the open one is
// three-quarters full) are counted and their CPU is in the storers' figure: that is the amortised part of
// sealing. A third devnet seals with one spare sector per storer (WOLK_SPARE_SECTORS=1; the devnet's
// default is 0), its PUTs beside the sealed ones without. Run it alone:
// `flock /tmp/wolk-heavy.lock npm run bench -- porep-put` (about 10 minutes).
import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { WolkClient } from '../lib/client/client.js';
import { keyFromSeed } from '../lib/client/keys.js';
import { mkdirp } from '../lib/fs/mkdirp.js';
import { startDevnet, type Devnet } from '../test/helpers/devnet.js';
import { pollUntil } from '../test/helpers/poll.js';
import type { BenchContext } from './harness.js';
import { processCpuMs } from './profile/cpu-breakdown.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [64 * KiB, 1 * MiB, 16 * MiB];
const ROUNDS = 3;
const SECTOR = '32MiB';
const IDLE_MS = 5000;

const label = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Writes `size` pseudo-random bytes (AES-128-CTR keystream of `seed`) to `path`. */
function writeSource(path: string, size: number, seed: number): void {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const fd = openSync(path, 'w');
  for (let o = 0; o < size; o += MiB) writeSync(fd, cipher.update(Buffer.alloc(Math.min(MiB, size - o))));
  closeSync(fd);
}

/** CPU milliseconds (every thread) of each devnet process so far, by process name. */
function cpuByProcess(devnet: Devnet): Map<string, number> {
  return new Map(devnet.processes().map((p) => [p.name, processCpuMs(p.pid) ?? 0]));
}

/** Parsed JSON lines of one process's log (a line cut by a write in progress is skipped). */
function logOf(devnet: Devnet, name: string): Record<string, unknown>[] {
  const path = join(devnet.dir, 'logs', `${name}.log`);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((l): Record<string, unknown>[] => {
      try {
        return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

const storerNames = (devnet: Devnet) => devnet.processes().filter((p) => p.name.startsWith('storer-')).map((p) => p.name);
const sectorsLabelled = (devnet: Devnet, name: string) => logOf(devnet, name).filter((l) => l['msg'] === 'sector labelled');

interface RoleCpu {
  /** CPU-s of all storers (resp. validators) beyond their idle rate, over the phase. */
  storers: number;
  validators: number;
}

function cpuBeyondIdle(before: Map<string, number>, after: Map<string, number>, idle: Map<string, number>, secs: number): RoleCpu {
  const sum = (prefix: string) =>
    [...after.keys()].filter((n) => n.startsWith(prefix)).reduce((a, n) => a + Math.max(0, after.get(n)! - before.get(n)! - (idle.get(n) ?? 0) * secs * 1000) / 1000, 0);
  return { storers: sum('storer-'), validators: sum('consensus-') };
}

interface DevnetRun {
  firstPutSecs: number;
  /** Per size: seconds to final of each PUT, and the CPU of the whole size's uploads. */
  bySize: Map<number, { secs: number[]; cpu: RoleCpu; sectorsLabelled: number }>;
  load: number;
  labelling?: { wallSecs: number; ms: number[]; storerCpuSecs: number };
}

type Arm = 'unsealed' | 'sealed' | 'sealed-spare';

async function runDevnet(ctx: BenchContext, arm: Arm): Promise<DevnetRun> {
  const name = arm;
  const sealed = arm !== 'unsealed';
  // The spare arm: each storer keeps one empty labelled sector beside the one it fills (WOLK_SPARE_SECTORS).
  const spares = arm === 'sealed-spare' ? 1 : 0;
  const dir = join(ctx.workDir, name);
  mkdirp(dir);
  ctx.log(`starting the ${name} devnet…`);
  const devnet = await startDevnet(join(dir, 'devnet'), {
    WOLK_COMMIT_DEADLINE_MS: '600000',
    WOLK_FINALITY_TIMEOUT_MS: '300000',
    ...(sealed ? { WOLK_DEVNET_POREP_SECTOR: SECTOR, WOLK_SPARE_SECTORS: String(spares) } : {}),
  });
  try {
    const run: DevnetRun = { firstPutSecs: 0, bySize: new Map(), load: 0 };
    if (sealed) {
      // The seal's fixed cost: every storer labels its first sector before it can commit (docs/porep.md).
      const ready = Date.now();
      const cpu0 = cpuByProcess(devnet);
      const names = storerNames(devnet);
      await pollUntil(() => names.filter((n) => sectorsLabelled(devnet, n).length > 0), {
        what: 'every storer to label its first sector',
        deadlineMs: 420_000,
        intervalMs: 1000,
        until: (done) => done.length === names.length,
        describe: (done) => `labelled: ${done.join(',') || 'none'}`,
      });
      const wallSecs = (Date.now() - ready) / 1000;
      const cpu1 = cpuByProcess(devnet);
      const storerCpuSecs = names.reduce((a, n) => a + (cpu1.get(n)! - cpu0.get(n)!) / 1000, 0);
      const ms = names.map((n) => Number(sectorsLabelled(devnet, n)[0]!['ms']));
      run.labelling = { wallSecs, ms, storerCpuSecs };
      ctx.log(`every storer's first sector labelled ${wallSecs.toFixed(0)} s after the devnet was ready (per storer ${ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s)`);
      if (spares > 0) {
        // The spares are labelled in the background right after: waited for too, so that the uploads
        // below see the steady state (a sector being filled and a spare), not the start-up.
        await pollUntil(() => names.filter((n) => sectorsLabelled(devnet, n).length > spares), {
          what: 'every storer to label its spare',
          deadlineMs: 420_000,
          intervalMs: 1000,
          until: (done) => done.length === names.length,
          describe: (done) => `with a spare: ${done.join(',') || 'none'}`,
        });
        ctx.log(`${name}: every storer's spare labelled ${((Date.now() - ready) / 1000).toFixed(0)} s after the devnet was ready`);
      }
    }
    const client = new WolkClient(devnet.endpoints().gateway, keyFromSeed(new Uint8Array(randomBytes(32))));
    await client.claim('bench');
    const put = async (size: number, seed: number, key: string): Promise<number> => {
      const src = join(dir, `src-${seed}.bin`);
      writeSource(src, size, seed);
      const t0 = process.hrtime.bigint();
      const res = await client.put(src, `wolk://bench/porep/${key}`);
      const secs = seconds(t0);
      rmSync(src, { force: true });
      if (!res.round) throw new Error(`the ${label(size)} PUT ${key} was not final: ${JSON.stringify(res)}`);
      return secs;
    };

    run.firstPutSecs = await put(64 * KiB, 1, 'first.bin');
    ctx.log(`${name}: first 64 KiB PUT ${run.firstPutSecs.toFixed(2)} s`);

    const idleFrom = cpuByProcess(devnet);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleTo = cpuByProcess(devnet);
    const idle = new Map([...idleTo].map(([n, ms]) => [n, (ms - idleFrom.get(n)!) / IDLE_MS]));

    run.load = loadavg()[0]!;
    let seed = 100;
    for (const size of SIZES) {
      const sectorsBefore = storerNames(devnet).reduce((a, n) => a + sectorsLabelled(devnet, n).length, 0);
      const before = cpuByProcess(devnet);
      const t0 = process.hrtime.bigint();
      const secs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) secs.push(await put(size, seed++, `${size}-${i}.bin`));
      const cpu = cpuBeyondIdle(before, cpuByProcess(devnet), idle, seconds(t0));
      const sectorsAfter = storerNames(devnet).reduce((a, n) => a + sectorsLabelled(devnet, n).length, 0);
      run.bySize.set(size, { secs, cpu, sectorsLabelled: sectorsAfter - sectorsBefore });
      ctx.log(`${name}: ${label(size)} PUTs ${secs.map((s) => s.toFixed(2)).join(', ')} s; storers ${cpu.storers.toFixed(1)} CPU-s, validators ${cpu.validators.toFixed(1)} CPU-s; sectors labelled meanwhile ${sectorsAfter - sectorsBefore}`);
    }
    return run;
  } catch (err) {
    const log = join(devnet.dir, 'logs', 'gateway-0.log');
    if (existsSync(log)) ctx.log(`the ${name} run failed; the last lines of ${log}:\n${readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    await devnet.stop();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  rmSync(ctx.workDir, { recursive: true, force: true });
  mkdirp(ctx.workDir);
  ctx.row({ name: 'machine load average (1 min) at the start', value: loadavg()[0]!, unit: '' });
  try {
    const plain = await runDevnet(ctx, 'unsealed');
    const sealed = await runDevnet(ctx, 'sealed');
    const spare = await runDevnet(ctx, 'sealed-spare');
    ctx.row({ name: 'load average (1 min) when the unsealed uploads began', value: plain.load, unit: '' });
    ctx.row({ name: 'load average (1 min) when the sealed uploads began', value: sealed.load, unit: '' });
    ctx.row({ name: 'load average (1 min) when the sealed uploads with a spare sector began', value: spare.load, unit: '' });

    const unsealedName = 'unsealed devnet, this run';
    const lab = sealed.labelling!;
    const plain16 = median(plain.bySize.get(16 * MiB)!.secs);
    ctx.row({ name: `sealed: every storer's first ${SECTOR} sector labelled, s after the devnet was ready (6 storers at once)`, value: lab.wallSecs, unit: 's', baseline: plain16, baselineName: 'one unsealed 16 MiB PUT (median)', lowerIsBetter: true });
    ctx.row({ name: `sealed: one storer's first sector, labelling time (median of ${lab.ms.length})`, value: median(lab.ms) / 1000, unit: 's' });
    ctx.row({ name: `sealed: one storer's first sector, labelling time (slowest)`, value: Math.max(...lab.ms) / 1000, unit: 's' });
    ctx.row({ name: 'sealed: storers\' CPU-s while the first sectors were labelled (all 6)', value: lab.storerCpuSecs, unit: 'CPU-s' });
    ctx.row({ name: 'first 64 KiB PUT to final (sealed: first commitments into the sectors)', value: sealed.firstPutSecs, unit: 's', baseline: plain.firstPutSecs, baselineName: unsealedName, lowerIsBetter: true });
    for (const size of SIZES) {
      const s = sealed.bySize.get(size)!;
      const p = plain.bySize.get(size)!;
      const mb = (ROUNDS * size) / 1e6;
      ctx.row({ name: `PUT ${label(size)} to final, median of ${ROUNDS}`, value: median(s.secs), unit: 's', baseline: median(p.secs), baselineName: unsealedName, lowerIsBetter: true });
      ctx.row({ name: `PUT ${label(size)}: all storers' CPU-s per MB uploaded (beyond idle)`, value: s.cpu.storers / mb, unit: 's/MB', baseline: p.cpu.storers / mb, baselineName: unsealedName, lowerIsBetter: true });
      ctx.row({ name: `PUT ${label(size)}: all validators' CPU-s per MB uploaded (beyond idle)`, value: s.cpu.validators / mb, unit: 's/MB', baseline: p.cpu.validators / mb, baselineName: unsealedName, lowerIsBetter: true });
      ctx.row({ name: `PUT ${label(size)}: sectors labelled during these uploads (sealed)`, value: s.sectorsLabelled, unit: 'sectors' });
    }
    // Issue 15: a placement that fits no partly used sector waited for a whole sector to be labelled.
    for (const size of SIZES) {
      const w = spare.bySize.get(size)!;
      const s = sealed.bySize.get(size)!;
      ctx.row({ name: `sealed with a spare sector (WOLK_SPARE_SECTORS=1): PUT ${label(size)} to final, median of ${ROUNDS}`, value: median(w.secs), unit: 's', baseline: median(s.secs), baselineName: 'sealed without a spare, this run', lowerIsBetter: true });
      ctx.row({ name: `sealed with a spare sector: PUT ${label(size)}, slowest of ${ROUNDS}`, value: Math.max(...w.secs), unit: 's', baseline: Math.max(...s.secs), baselineName: 'sealed without a spare, this run', lowerIsBetter: true });
      ctx.row({ name: `sealed with a spare sector: PUT ${label(size)}: sectors labelled during these uploads`, value: w.sectorsLabelled, unit: 'sectors' });
    }
    ctx.row({ name: 'machine load average (1 min) at the end', value: loadavg()[0]!, unit: '' });
  } finally {
    rmSync(ctx.workDir, { recursive: true, force: true });
  }
}
