// Proof of replication (issue #15; docs/porep.md): sealing a sector into a storer-bound replica by
// Stacked-DRG labelling, its commitments, the interactive proof of correct sealing, audits, unsealing
// and the optimal regeneration attack (for choosing deadlines and sector sizes).
export {
  BASE_DEGREE,
  DEFAULT_AUDIT_DEADLINE_MS,
  DEFAULT_PARAMS,
  MIN_SECTOR_BYTES,
  EXPANDER_DEGREE,
  MAX_LAYERS,
  MAX_NODES,
  NODE_SIZE,
  SEAL_EPSILON,
  SEAL_SOUNDNESS_BITS,
  assertParams,
  challengesFor,
  nodesFor,
  type PorepParams,
} from './params.js';
export { REPLICA_ID_TAG, replicaIdOf } from './replica-id.js';
export { Expander, GRAPH_KEY, GRAPH_TAG, baseParents, parentsOf } from './graph.js';
export { labelFromParents, labelLayer } from './labels.js';
export { nativePorepAvailable, setNativePorep } from './native.js';
export { MemoryLayerStore, type LayerStore } from './layer-store.js';
export { seal, unseal, xorNodes, type SealInput, type Sealed } from './encode.js';
export {
  COLUMN_TAG,
  COMM_R_TAG,
  columnHash,
  commROf,
  commRMatches,
  commitColumns,
  commitReplica,
  nodeLeaves,
  readColumn,
  readColumns,
  replicaTree,
  type CommittedReplica,
  type ReplicaCommitment,
} from './commit.js';
export { chunkOfNode, chunkSetDataBytes, chunkSetDataCommitment, chunkSetDataSource, fileDataCommitment, fileDataSource, nodeFromChunk, type DataCommitment, type DataOpening, type DataSource } from './data.js';
export {
  SEAL_CHALLENGE_TAG,
  proveSeal,
  sealChallenges,
  sealProofSize,
  verifySeal,
  type SealProof,
  type SealProver,
  type SealStatement,
  type Verdict,
} from './seal-proof.js';
export { AUDIT_CHALLENGE_TAG, auditChallenges, auditProofSize, proveAudit, verifyAudit, type AuditProof, type AuditStatement } from './audit-proof.js';
export { regenerateNode, regenerateRange, regenerationCone, type Regeneration } from './regenerate.js';
