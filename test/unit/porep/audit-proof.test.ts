// Audits: the replica's nodes open under comm_r; tampered answers and other replicas are refused.
import test from 'ava';
import { auditChallenges, auditProofSize, proveAudit, verifyAudit, type AuditProof } from '../../../lib/porep/index.js';
import { flip, sealedFixture } from './helpers.js';

test('an honest audit verifies; every tampered answer is refused', async (t) => {
  const seed = 601;
  const f = await sealedFixture(seed, 70_000, 3);
  const auditSeed = new Uint8Array(32).fill(0xa0);
  const { commC, commR } = f.committed.commitment;
  const proof = proveAudit(f.replica, f.committed.treeR, commC, commR, auditSeed, 16);
  const s = { commR, nodes: f.nodes, auditSeed, challenges: 16 };
  t.true(verifyAudit(s, proof), `seed ${seed}`);
  t.is(proof.nodes.length, 16);
  t.is(auditProofSize(proof), 32 * (1 + 16 + proof.proof.length));
  const at = <T>(xs: readonly T[], j: number, v: T): T[] => xs.map((x, i) => (i === j ? v : x));
  const cases: [string, AuditProof][] = [
    ['a wrong replica node', { ...proof, nodes: at(proof.nodes, 3, flip(proof.nodes[3]!)) }],
    ['a wrong path', { ...proof, proof: at(proof.proof, 0, flip(proof.proof[0]!)) }],
    ['a path one hash short', { ...proof, proof: proof.proof.slice(1) }],
    ['a wrong comm_c', { ...proof, commC: flip(proof.commC) }],
    ['a node missing', { ...proof, nodes: proof.nodes.slice(1) }],
    ['malformed', { ...proof, nodes: [new Uint8Array(31), ...proof.nodes.slice(1)] }],
  ];
  for (const [what, p] of cases) t.false(verifyAudit(s, p), what);
  t.false(verifyAudit({ ...s, auditSeed: flip(auditSeed) }, proof), 'an answer to another audit');
  t.false(verifyAudit({ ...s, commR: flip(commR) }, proof), 'another comm_r');
  t.deepEqual(auditChallenges(auditSeed, commR, f.nodes, 16), [...auditChallenges(auditSeed, commR, f.nodes, 16)].sort((a, b) => a - b));
});

test('another storer’s replica of the same data does not answer this storer’s audit', async (t) => {
  const a = await sealedFixture(611, 40_000, 2);
  const b = await sealedFixture(611, 40_000, 2); // same data, same seeds ...
  t.deepEqual(a.replica, b.replica, 'a fixture is reproducible from its seed');
  const c = await sealedFixture(612, 40_000, 2); // ... another storer (and data)
  const auditSeed = new Uint8Array(32).fill(7);
  const fromC = proveAudit(c.replica, c.committed.treeR, c.committed.commitment.commC, a.committed.commitment.commR, auditSeed, 8);
  t.false(verifyAudit({ commR: a.committed.commitment.commR, nodes: a.nodes, auditSeed, challenges: 8 }, fromC));
});
