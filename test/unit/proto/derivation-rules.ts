// The derivation rules that the proto comments state, written again from their text alone: node:crypto
// for SHA-256 and Ed25519, protobuf encodings spelled out byte by byte, nothing imported from lib/ or
// services/. test/unit/proto/derivations.test.ts holds the code to these and to the vectors published in
// docs/contracts.md "Derivation rules and test vectors", so the comment, the docs and the code agree.
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from 'node:crypto';

export const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
export const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const u32be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const u64be = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
/** `n` bytes counting up from `start` (mod 256): the fixed inputs of the vectors. */
export const counting = (n: number, start: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
/** len(d) (one byte) ‖ d. */
const framed = (d: string): Buffer => Buffer.concat([Buffer.of(ascii(d).length), ascii(d)]);

// ---- inputs shared by the vectors (docs/contracts.md names them) ----
export const SEED = counting(32, 0x00);
export const FILEHASH = counting(32, 0x20);
export const STORER = counting(32, 0x40);
export const NONCE = counting(32, 0x60);
export const PUBKEY = counting(32, 0x80);
export const SECRET = counting(32, 0xa0);
/** A 5000-byte file, byte i = i mod 251, cut at C = 4096: two chunks. */
export const FILE = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
export const CHUNK_SIZE = 4096;

// ---- crypto.proto: signatures ----
/** Ed25519 (RFC 8032) over len(domain) ‖ domain ‖ message, secret key = 32-byte seed. */
export function domainSignature(domain: string, seed: Uint8Array, message: Uint8Array): Buffer {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return edSign(null, Buffer.concat([framed(domain), message]), createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
}

/** The raw 32-byte Ed25519 public key of a seed. */
export function publicKeyOf(seed: Uint8Array): Buffer {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32);
}
/** Checks an Ed25519 signature over len(domain) ‖ domain ‖ message. */
export function domainVerify(domain: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]);
  return edVerify(null, Buffer.concat([framed(domain), message]), createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature);
}

// ---- crypto.proto: sortition alpha ----
export function alpha(domain: string, ...parts: Uint8Array[]): Buffer {
  return Buffer.concat([framed(domain), ...parts.flatMap((p) => [u32be(p.length), p])]);
}

// ---- state.proto: state keys ----
export const pathKey = (path: string): Buffer => sha256(ascii(path));
export const accountKey = (p: Uint8Array): Buffer => sha256(ascii('wolk/account/v1'), Buffer.of(0), p);
export const storerSetKey = (): Buffer => sha256(ascii('wolk/storer-set/v1'));
export const rewardedKey = (a: number): Buffer => sha256(ascii('wolk/reward/v1'), Buffer.of(0), u64be(a));
export const chunkSetKey = (r: number): Buffer => sha256(ascii('wolk/chunk-set/v1'), Buffer.of(0), u64be(r));

// ---- protobuf, deterministic encoding (crypto.proto): fields in number order, defaults omitted ----
function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
/** A length-delimited field (wire type 2); omitted when empty, as proto3 omits default values. */
export function lenField(field: number, value: Uint8Array): Buffer {
  if (value.length === 0) return Buffer.alloc(0);
  return Buffer.concat([varint((field << 3) | 2), varint(value.length), value]);
}
/** A nested message field: present even when its encoding is empty would need presence; ours never are. */
export function msgField(field: number, encoded: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(encoded.length), encoded]);
}
export function varintField(field: number, value: number | bigint): Buffer {
  if (BigInt(value) === 0n) return Buffer.alloc(0);
  return Buffer.concat([varint(field << 3), varint(value)]);
}

// ---- tx.proto: a SetName and a SetKey, encoded by hand ----
export const CHAIN_ID = 'wolk-devnet';
export const TX_SIGNATURE = Buffer.alloc(64, 0xaa);
export const GATEWAY_SIGNATURE = Buffer.alloc(64, 0xbb);

/** Transaction{sender=PUBKEY, nonce=3, fee=0, chain_id, set_name{name "alice", owner PUBKEY}}. */
export function setNameTransactionBytes(): Buffer {
  const body = Buffer.concat([lenField(1, ascii('alice')), lenField(2, PUBKEY)]);
  return Buffer.concat([lenField(1, PUBKEY), varintField(2, 3), varintField(3, 0), lenField(4, ascii(CHAIN_ID)), msgField(10, body)]);
}
/** SignedTransaction{tx, signature}: the id is SHA-256 of this. */
export function signedSetNameBytes(): Buffer {
  return Buffer.concat([msgField(1, setNameTransactionBytes()), lenField(2, TX_SIGNATURE)]);
}
/**
 * Transaction{sender=PUBKEY, nonce=4, fee=0, chain_id, set_key{owner "alice", collection "docs",
 * key "a/b ü.txt", file{FILEHASH, size 5000, chunk_size 4096}, content_type "text/plain",
 * commitments [], gateway_id STORER (if given), gateway_signature (if given)}}.
 */
export function setKeyTransactionBytes(gatewayId: Uint8Array, gatewaySignature: Uint8Array): Buffer {
  const file = Buffer.concat([lenField(1, FILEHASH), varintField(2, 5000), varintField(3, CHUNK_SIZE)]);
  const body = Buffer.concat([
    lenField(1, ascii('alice')),
    lenField(2, ascii('docs')),
    lenField(3, ascii('a/b ü.txt')),
    msgField(4, file),
    lenField(5, ascii('text/plain')),
    lenField(7, gatewayId),
    lenField(8, gatewaySignature),
  ]);
  return Buffer.concat([lenField(1, PUBKEY), varintField(2, 4), lenField(4, ascii(CHAIN_ID)), msgField(12, body)]);
}

// ---- lib/merkle (RFC 6962), filehash, replica root: storage.proto / storer.proto ----
const LH = (d: Uint8Array) => sha256(Buffer.of(0x00), d);
const NH = (l: Uint8Array, r: Uint8Array) => sha256(Buffer.of(0x01), l, r);
/** MTH over leaf hashes: split at the largest power of two below n. */
export function mth(h: readonly Buffer[]): Buffer {
  if (h.length === 0) return sha256();
  if (h.length === 1) return h[0]!;
  let k = 1;
  while (k * 2 < h.length) k *= 2;
  return NH(mth(h.slice(0, k)), mth(h.slice(k)));
}
const chunksOf = (f: Buffer, c: number): Buffer[] => Array.from({ length: Math.ceil(f.length / c) }, (_, i) => f.subarray(i * c, Math.min((i + 1) * c, f.length)));
export function filehashOf(f: Buffer, c: number): Buffer {
  return sha256(Buffer.of(0x02), u64be(f.length), u32be(c), mth(chunksOf(f, c).map(LH)));
}
export function replicaRootOf(storer: Uint8Array, f: Buffer, c: number): Buffer {
  const fh = filehashOf(f, c);
  const leaves = chunksOf(f, c).map((chunk, i) => sha256(Buffer.of(0x03), storer, fh, u64be(i), chunk));
  return sha256(Buffer.of(0x04), storer, fh, u64be(f.length), u32be(c), mth(leaves));
}
export const shareDigest = (nonce: Uint8Array, storer: Uint8Array, chunk: Uint8Array): Buffer => sha256(framed('wolk/share-possession/v1'), nonce, storer, chunk);
export const chunkSetRoot = (storer: Uint8Array, newChunksHash: Uint8Array): Buffer => sha256(framed('wolk/chunk-set/v1'), storer, newChunksHash);

// ---- storage.proto FileAudit: the challenged leaves ----
/** Seeded partial Fisher–Yates over SHA-256("wolk/challenge/v1" ‖ seed ‖ u64be(n) ‖ u64be(b)) words; sorted. */
export function challengeLeaves(seed: Uint8Array, n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  const words: bigint[] = [];
  let block = 0;
  const next = (): bigint => {
    if (words.length === 0) {
      const h = sha256(ascii('wolk/challenge/v1'), seed, u64be(n), u64be(block++));
      for (let w = 0; w < 4; w++) words.push(h.readBigUInt64BE(8 * w));
    }
    return words.shift()!;
  };
  const uniform = (m: number): number => {
    const M = BigInt(m);
    const limit = (1n << 64n) - ((1n << 64n) % M);
    for (;;) {
      const w = next();
      if (w < limit) return Number(w % M);
    }
  };
  const a = new Map<number, number>();
  const at = (i: number) => a.get(i) ?? i;
  for (let j = 0; j < k; j++) {
    const r = j + uniform(n - j);
    const aj = at(j);
    a.set(j, at(r));
    a.set(r, aj);
  }
  return Array.from({ length: k }, (_, j) => at(j)).sort((x, y) => x - y);
}

// ---- tx.proto Reward: per-object challenge ----
export const objectChallenge = (challengeSeed: Uint8Array, audited: number, objectId: Uint8Array, storer: Uint8Array): Buffer =>
  sha256(framed('wolk/rewards/challenge/v1'), challengeSeed, u64be(audited), objectId, storer);

// ---- chain.proto: seed, vote bytes, block hash, new_chunks_hash ----
export const seedPeriod0 = (proposerVrfOutput: Uint8Array, round: number): Buffer => sha256(ascii('wolk/agreement/seed/v1'), proposerVrfOutput, u64be(round));
export const seedLater = (prevSeed: Uint8Array, round: number): Buffer => sha256(ascii('wolk/agreement/seed/v1'), prevSeed, u64be(round));
const idString = (id: Uint8Array): Buffer[] => {
  const s = ascii(hex(id));
  return [u64be(s.length), s];
};
export function voteBytes(voter: Uint8Array, round: number, period: number, step: number, value: Uint8Array | null): Buffer {
  return Buffer.concat([ascii('wolk/agreement/vote/v1'), ...idString(voter), u64be(round), u64be(period), u64be(step), ...(value === null ? [Buffer.of(0)] : [Buffer.of(1), value])]);
}
/** The header of the block-hash vector (docs/contracts.md). */
export const HEADER = {
  round: 7,
  previousHash: SEED,
  seed: FILEHASH,
  proposerId: STORER,
  originalPeriod: 1,
  vrfProof: counting(80, 0x10),
  vrfOutput: counting(64, 0x70),
  weight: 3,
  stateRoot: counting(32, 0x90),
  txRoot: counting(32, 0xb0),
  newChunksHash: counting(32, 0xd0),
  timestampMs: 1_700_000_000_000n,
};
export function blockHashOf(h: typeof HEADER): Buffer {
  const ledgerPart = Buffer.concat([lenField(7, h.stateRoot), lenField(8, h.txRoot), lenField(9, h.newChunksHash), varintField(10, h.timestampMs)]);
  return sha256(
    ascii('wolk/agreement/block/v1'),
    u64be(h.round),
    h.previousHash,
    h.seed,
    ...idString(h.proposerId),
    u64be(h.originalPeriod),
    ...idString(h.proposerId),
    u64be(h.vrfProof.length),
    h.vrfProof,
    u64be(h.vrfOutput.length),
    h.vrfOutput,
    u64be(h.weight),
    sha256(ledgerPart),
  );
}
/** NewChunks{chunk_ids = ids}: new_chunks_hash. */
export const newChunksHash = (ids: readonly Uint8Array[]): Buffer => sha256(Buffer.concat(ids.map((id) => lenField(1, id))));

// ---- chain.proto SmtProof / docs/smt.md: the state root ----
const bit = (k: Uint8Array, i: number) => (k[i >> 3]! >> (7 - (i & 7))) & 1;
export function smtRoot(entries: readonly { key: Uint8Array; value: Uint8Array }[], depth = 0): Buffer {
  if (entries.length === 0) return Buffer.alloc(32);
  if (entries.length === 1) return sha256(Buffer.of(0x10), entries[0]!.key, sha256(Buffer.of(0x12), entries[0]!.value));
  const l = entries.filter((e) => bit(e.key, depth) === 0);
  const r = entries.filter((e) => bit(e.key, depth) === 1);
  return sha256(Buffer.of(0x11), smtRoot(l, depth + 1), smtRoot(r, depth + 1));
}
