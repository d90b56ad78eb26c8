// Certificate verification for followers (indexer; the rewards service reuses the idea). The check
// is the chain's own (lib/chain/certificate.ts createCertificateVerifier): every cert vote's VRF
// credential and sortition weight against the genesis committee, its Ed25519 signature over the
// agreement's vote bytes, distinct voters, equivocation pairs, and a quorum weight of at least the
// cert threshold for exactly this block hash (lib/chain/block-hash.ts) — the same code the agreement
// core and a catching-up consensus node run, so the indexer accepts exactly what they accept.
export { createCertificateVerifier, type CertificateVerdict, type CertificateVerifier } from '../../lib/chain/certificate.js';
