// `npm run bench -- porep`: the proof of replication's figures (issue #15, docs/porep.md), each beside a
// baseline from the same run: sealing and unsealing speed against plain SHA-256 of the same bytes, the
// optimal regeneration attack against the response deadline, and the proofs' sizes and verification
// times. Shared machines: the load average is recorded, and the labelling figures are given in CPU time
// as well as wall time (process.cpuUsage: the time a dedicated core would take, which is what an
// attacker regenerating on its own hardware has); the deadline figures are derived from the CPU time.
import { createHash, randomFillSync } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import type { BenchContext } from './harness.js';
import {
  DEFAULT_AUDIT_DEADLINE_MS,
  DEFAULT_PARAMS,
  MIN_SECTOR_BYTES,
  MemoryLayerStore,
  SEAL_EPSILON,
  SEAL_SOUNDNESS_BITS,
  auditChallenges,
  challengesFor,
  NODE_SIZE,
  auditProofSize,
  commitReplica,
  fileDataCommitment,
  fileDataSource,
  labelLayer,
  nativePorepAvailable,
  proveAudit,
  proveSeal,
  regenerateNode,
  regenerationCone,
  replicaIdOf,
  seal,
  sealProofSize,
  setNativePorep,
  unseal,
  verifyAudit,
  verifySeal,
} from '../lib/porep/index.js';

const MiB = 1024 * 1024;
const MB = 1e6;
/** The benchmark sector: large enough that per-call overheads vanish, small enough for a shared machine. */
const SECTOR_BYTES = 32 * MiB;
const JS_SECTOR_BYTES = 2 * MiB;
/** Response deadlines the docs consider (seconds): regeneration must take at least 10× the deadline. */
const DEADLINES_S = [1, 2];
/** How much faster than the measured core an attacker's is assumed to be (docs/porep.md "Parameters"). */
const ATTACKER_SPEEDUP = 3;

/** Wall and CPU seconds of `fn`: on a shared machine the CPU time is what a dedicated core would take. */
function cpuTime<T>(fn: () => T): { s: number; cpu: number; value: T } {
  const c = process.cpuUsage();
  const t = performance.now();
  const value = fn();
  const s = (performance.now() - t) / 1000;
  const d = process.cpuUsage(c);
  return { s, cpu: (d.user + d.system) / 1e6, value };
}

function time<T>(fn: () => T): { s: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { s: (performance.now() - t) / 1000, value };
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<{ s: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { s: (performance.now() - t) / 1000, value };
}

export async function run(ctx: BenchContext): Promise<void> {
  const layers = DEFAULT_PARAMS.layers;
  ctx.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  ctx.log(`native labelling loop (native/porep): ${nativePorepAvailable ? 'built' : 'NOT built: figures are JS only'}`);
  ctx.row({ name: 'load average (1 min) at the start', value: loadavg()[0]!, unit: '' });

  const data = randomFillSync(new Uint8Array(SECTOR_BYTES));
  const nodes = SECTOR_BYTES / NODE_SIZE;
  const storerId = randomFillSync(new Uint8Array(32));
  const source = fileDataSource(data);
  const replicaId = replicaIdOf(storerId, source.filehash, randomFillSync(new Uint8Array(32)));
  const plain = time(() => createHash('sha256').update(data).digest());
  const plainMBs = SECTOR_BYTES / MB / plain.s;
  ctx.row({ name: `plain SHA-256 of the ${SECTOR_BYTES / MiB} MiB sector`, value: plainMBs, unit: 'MB/s' });

  // (1) sealing on one core: L layers of labels (the store keeps them), then the commitments
  ctx.log(`sealing ${SECTOR_BYTES / MiB} MiB, ${layers} layers`);
  const store = new MemoryLayerStore();
  const cpu0 = process.cpuUsage();
  const sealed = await timeAsync(() => seal({ replicaId, data, layers, store }));
  const sealCpu = process.cpuUsage(cpu0);
  const sealCpuS = (sealCpu.user + sealCpu.system) / 1e6;
  const labelUs = (sealCpuS / (nodes * layers)) * 1e6;
  ctx.row({
    name: `sealing ${SECTOR_BYTES / MiB} MiB, ${layers} layers, native, one core (labelling + encoding)`,
    value: SECTOR_BYTES / MB / sealed.s,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the same bytes',
  });
  ctx.row({
    name: 'sealing, CPU time (what a dedicated core takes)',
    value: SECTOR_BYTES / MB / sealCpuS,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the same bytes (wall)',
  });
  ctx.row({ name: `CPU time per label (14 parents, 492-byte preimage), ${SECTOR_BYTES / MiB} MiB layers`, value: labelUs, unit: 'us' });
  {
    // the same loop on a cache-resident sector: what the memory accesses to parents cost
    const smallNodes = 8192;
    const prev = new Uint8Array(smallNodes * NODE_SIZE);
    const out = new Uint8Array(smallNodes * NODE_SIZE);
    labelLayer(replicaId, 1, smallNodes, null, prev);
    let best = Infinity;
    for (let r = 0; r < 5; r++) best = Math.min(best, cpuTime(() => labelLayer(replicaId, 2, smallNodes, prev, out)).cpu);
    ctx.row({ name: 'CPU time per label, 256 KiB layers (in cache)', value: (best / smallNodes) * 1e6, unit: 'us', baseline: labelUs, baselineName: `${SECTOR_BYTES / MiB} MiB layers` });
    const input = new Uint8Array(492);
    let h = Infinity;
    for (let r = 0; r < 5; r++) h = Math.min(h, cpuTime(() => { for (let i = 0; i < 20000; i++) createHash('sha256').update(input).digest(); }).cpu);
    ctx.row({ name: 'CPU time of one SHA-256 of 492 bytes through Node crypto (call overhead included)', value: (h / 20000) * 1e6, unit: 'us' });
  }
  const committed = await timeAsync(() => commitReplica(store, sealed.value.replica, layers));
  ctx.row({
    name: 'commitments (column hashes, comm_c and comm_r_last trees)',
    value: SECTOR_BYTES / MB / committed.s,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the same bytes',
  });
  ctx.row({
    name: 'seal + commit, whole sector',
    value: SECTOR_BYTES / MB / (sealed.s + committed.s),
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the same bytes',
  });

  // the JS fallback on a smaller sector (same labels, tests check)
  {
    const small = data.subarray(0, JS_SECTOR_BYTES);
    const nat = await timeAsync(() => seal({ replicaId, data: small, layers, store: null }));
    setNativePorep(false);
    const js = await timeAsync(() => seal({ replicaId, data: small, layers, store: null }));
    setNativePorep(true);
    ctx.row({
      name: `sealing ${JS_SECTOR_BYTES / MiB} MiB, JS fallback (no addon)`,
      value: JS_SECTOR_BYTES / MB / js.s,
      unit: 'MB/s',
      baseline: JS_SECTOR_BYTES / MB / nat.s,
      baselineName: 'native, same sector',
    });
  }

  // (2) unsealing: relabel (2 × sector of memory) and XOR
  const cpu1 = process.cpuUsage();
  const unsealed = await timeAsync(() => unseal(sealed.value.replica, replicaId, layers, data.length));
  const unsealCpu = process.cpuUsage(cpu1);
  if (Buffer.compare(Buffer.from(unsealed.value), Buffer.from(data)) !== 0) throw new Error('porep bench: unseal did not give the data back');
  ctx.row({
    name: 'unsealing (relabel + XOR), one core',
    value: SECTOR_BYTES / MB / unsealed.s,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the same bytes',
  });
  ctx.row({ name: 'unsealing, CPU time (what a dedicated core takes)', value: SECTOR_BYTES / MB / ((unsealCpu.user + unsealCpu.system) / 1e6), unit: 'MB/s' });

  // (3) audits: the honest answer from the replica and its tree in memory
  const { commC, commR } = committed.value.commitment;
  const auditSeed = randomFillSync(new Uint8Array(32));
  const k = DEFAULT_PARAMS.auditChallenges;
  let best = Infinity;
  let audit = proveAudit(sealed.value.replica, committed.value.treeR, commC, commR, auditSeed, k);
  for (let i = 0; i < 20; i++) best = Math.min(best, time(() => (audit = proveAudit(sealed.value.replica, committed.value.treeR, commC, commR, auditSeed, k))).s);
  const honestS = best;
  ctx.row({ name: `honest audit answer (${k} nodes, replica and tree in memory)`, value: honestS * 1000, unit: 'ms' });
  const auditStatement = { commR, nodes, auditSeed, challenges: k };
  let auditVerifyS = Infinity;
  for (let i = 0; i < 20; i++) auditVerifyS = Math.min(auditVerifyS, time(() => verifyAudit(auditStatement, audit)).s);
  if (!verifyAudit(auditStatement, audit)) throw new Error('porep bench: the audit proof does not verify');
  ctx.row({ name: `audit proof size (${k} nodes)`, value: auditProofSize(audit), unit: 'bytes' });
  ctx.row({ name: 'audit proof verification', value: auditVerifyS * 1000, unit: 'ms' });

  // (4) the regeneration attack at its cheapest: only the cone, the graph (cone) precomputed. Node 0 has
  // the smallest cone of any single node; an audit's k nodes need the cone of the largest of them.
  const auditMax = Math.max(...auditChallenges(auditSeed, commR, nodes, k));
  const honestLabels = nodes * layers;
  for (const [what, index, runs] of [['node 0 (the smallest cone)', 0, 2], [`the ${k} audited nodes (cone of node ${auditMax})`, auditMax, 1]] as const) {
    const cone = time(() => regenerationCone(nodes, layers, index));
    let regenS = Infinity;
    let wallS = Infinity;
    let labels = 0;
    for (let r = 0; r < runs; r++) {
      const regen = cpuTime(() => regenerateNode(replicaId, nodes, layers, index, cone.value));
      const expected = store.layer(layers)!.subarray(index * NODE_SIZE, (index + 1) * NODE_SIZE);
      if (Buffer.compare(Buffer.from(regen.value.label), Buffer.from(expected)) !== 0) throw new Error('porep bench: regeneration gave another label');
      regenS = Math.min(regenS, regen.cpu);
      wallS = Math.min(wallS, regen.s);
      labels = regen.value.labelsComputed;
    }
    ctx.log(`cone of ${what}: ${cone.value.join(', ')} nodes per layer (graph walk ${cone.s.toFixed(2)} s, not counted)`);
    ctx.row({
      name: `labels to regenerate ${what}`,
      value: labels,
      unit: 'labels',
      baseline: honestLabels,
      baselineName: 'labels of the honest sealing',
    });
    ctx.row({
      name: `regenerate ${what} from plain data, CPU time, best of ${runs}`,
      value: regenS,
      unit: 's',
      baseline: sealCpuS,
      baselineName: 'honest sealing of the sector, CPU time',
    });
    ctx.row({ name: `  (wall time on this shared machine)`, value: wallS, unit: 's' });
    ctx.row({ name: `  = time per regenerated label`, value: (regenS / labels) * 1e6, unit: 'us' });
    if (index === 0) {
      for (const d of DEADLINES_S) {
        // informational: 32 MiB is below the protected size; the verdict is on MIN_SECTOR_BYTES below
        ctx.row({ name: `regenerate node 0 (CPU time) vs a ${d} s response deadline, ${SECTOR_BYTES / MiB} MiB sector`, value: regenS, unit: 's', baseline: d, baselineName: 'deadline' });
        // regeneration is linear in the sector size: the smallest sector that meets the goal at this speed
        const minBytes = Math.ceil(((10 * d) / regenS) * SECTOR_BYTES);
        ctx.row({ name: `smallest sector with node-0 regeneration >= 10x a ${d} s deadline (CPU time per label measured here)`, value: minBytes / MiB, unit: 'MiB' });
      }
    }
  }
  // the protected sector size itself: node 0 (the smallest cone) of a MIN_SECTOR_BYTES sector. Labels need
  // no data, so no sealing is needed to measure the attack; memory 2 × sector.
  {
    const bigNodes = MIN_SECTOR_BYTES / NODE_SIZE;
    const cone = regenerationCone(bigNodes, layers, 0);
    ctx.log(`regenerating node 0 of a ${MIN_SECTOR_BYTES / MiB} MiB sector: cone ${cone.join(', ')}`);
    const regen = cpuTime(() => regenerateNode(replicaId, bigNodes, layers, 0, cone));
    const deadline = DEFAULT_AUDIT_DEADLINE_MS / 1000;
    ctx.row({
      name: `regenerate node 0 of a ${MIN_SECTOR_BYTES / MiB} MiB sector (${(regen.value.labelsComputed / bigNodes).toFixed(3)} n labels), CPU time`,
      value: regen.cpu,
      unit: 's',
      baseline: deadline,
      baselineName: 'default audit deadline',
      goal: '>= 10x deadline',
      goalRatio: 10,
    });
    ctx.row({ name: '  (wall time on this shared machine)', value: regen.s, unit: 's' });
    ctx.row({ name: `  = CPU time per regenerated label, ${MIN_SECTOR_BYTES / MiB} MiB layers`, value: (regen.cpu / regen.value.labelsComputed) * 1e6, unit: 'us' });
    ctx.row({
      name: `  the same for an attacker core ${ATTACKER_SPEEDUP}x faster than this one`,
      value: regen.cpu / ATTACKER_SPEEDUP,
      unit: 's',
      baseline: deadline,
      baselineName: 'default audit deadline',
      goal: '>= 10x deadline',
      goalRatio: 10,
    });
  }
  ctx.row({ name: 'honest audit answer vs the 1 s deadline', value: honestS, unit: 's', baseline: 1, baselineName: 'deadline', goal: '<= 0.1x deadline', goalRatio: 0.1, lowerIsBetter: true });

  // (5) the seal proof: the default soundness (ε = 10 %, 2^-40), and the trade-off against proof size
  const sealSeed = randomFillSync(new Uint8Array(32));
  const prover = { layers, store, replica: sealed.value.replica, treeC: committed.value.treeC, treeR: committed.value.treeR, commitment: committed.value.commitment, data: source };
  for (const eps of [0.01, 0.05, SEAL_EPSILON, 0.2]) {
    const kSeal = challengesFor(eps, SEAL_SOUNDNESS_BITS);
    const proof = await timeAsync(() => proveSeal(prover, sealSeed, kSeal));
    const statement = { replicaId, commR, nodes, layers, data: fileDataCommitment(source.filehash, data.length), seed: sealSeed, challenges: kSeal };
    const verified = time(() => verifySeal(statement, proof.value));
    if (!verified.value.ok) throw new Error(`porep bench: the seal proof does not verify: ${verified.value.reason}`);
    const tag = `ε = ${eps * 100} %: ${kSeal} challenges${eps === SEAL_EPSILON ? ' (default)' : ''}`;
    ctx.row({ name: `seal proof size, ${tag}, ${SECTOR_BYTES / MiB} MiB sector, ${layers} layers`, value: sealProofSize(proof.value) / MB, unit: 'MB' });
    ctx.row({ name: `seal proof generation, ${tag}`, value: proof.s * 1000, unit: 'ms' });
    ctx.row({ name: `seal proof verification, ${tag}`, value: verified.s * 1000, unit: 'ms' });
  }
  ctx.row({ name: 'load average (1 min) at the end', value: loadavg()[0]!, unit: '' });
}
