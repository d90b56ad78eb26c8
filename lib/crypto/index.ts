// The crypto core: hashes and byte helpers, Ed25519 signatures with domain separation, the RFC 9381
// ECVRF, and Algorand-style sortition on top of it.
export { CryptoError, CryptoErrorCode } from './errors.js';
export { sha256, sha512, concatBytes, bytesEqual, toHex, fromHex, u64be, u32be, readU64be } from './hash.js';
export {
  type VrfSuite,
  type VrfKeyPair,
  VRF_PROOF_LENGTH,
  VRF_OUTPUT_LENGTH,
  VRF_SECRET_KEY_LENGTH,
  VRF_PUBLIC_KEY_LENGTH,
  vrfKeyFromSeed,
  vrfGenerateKey,
  prove,
  verify,
  proofToHash,
  validateKey,
} from './vrf.js';
export {
  SortitionDomain,
  SORTITION_HASH_BYTES,
  SORTITION_MAX_MEAN,
  sortition,
  binomialWalk,
  proveSortition,
  verifySortition,
  sortitionPriority,
  comparePriority,
  sortitionAlpha,
} from './sortition.js';
export {
  SignDomain,
  type SignKeyPair,
  SIGN_SECRET_KEY_LENGTH,
  SIGN_PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  signKeyFromSeed,
  generateSignKey,
  sign,
  verifySignature,
  signedBytes,
} from './sign.js';
// Unambiguous aliases for call sites that import from several modules.
export { prove as vrfProve, verify as vrfVerify, proofToHash as vrfProofToHash } from './vrf.js';
