// The versioned sparse Merkle tree of consensus state (DESIGN §3, §5); see docs/smt.md.
export { SmtError, SmtErrorCode } from './errors.js';
export {
  EMPTY,
  KEY_LENGTH,
  MAX_DEPTH,
  SmtTag,
  decodeNode,
  decodeValue,
  encodeNode,
  encodeValue,
  hashNode,
  internalHash,
  keyBit,
  leafHash,
  objectHash,
  valueHash,
  type SmtNode,
} from './node.js';
export { decodeSmtProof, encodeSmtProof, verifySmtProof, type SmtProof, type SmtProofLeaf } from './proof.js';
export { fallbackNodeSource, kvNodeSource, smtNodeKey, writeThroughNodeSource, type NodeSource } from './source.js';
export { SparseMerkleTree, type SmtChange, type SparseMerkleTreeOptions } from './tree.js';
