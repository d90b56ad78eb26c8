// Every derivation rule the proto comments state, checked three ways against one published vector
// (docs/contracts.md "Derivation rules and test vectors"): the proto comment still states the rule;
// the rule as written, recomputed here with node:crypto alone (derivation-rules.ts, nothing from
// lib/), gives the published value; and the code the services run gives the same value. A comment
// that drifts from the code (issue #26.1: FileAudit's leaf indices) fails one of the three.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { BlockHeader } from '../../../gen/wolk/common/v1/chain.js';
import { Transaction, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { FileAudit, ShareProof, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { CommitChunksRequest } from '../../../gen/wolk/storer/v1/storer.js';
import { blockHashOfHeader } from '../../../lib/chain/block-hash.js';
import { selectorAlpha } from '../../../lib/chain/certificate.js';
import { auditIndices, chunkSetReplicaRoot, commitChunksMessage, shareDigest, signFileAudit, signShareProof, signStorageCommitment, storerAlpha } from '../../../lib/chain/commitment.js';
import { newChunksHashOf, objectChallenge, rewardsAlpha } from '../../../lib/chain/reward.js';
import { accountStateKey, chunkSetStateKey, pathStateKey, rewardedRoundKey, STORER_SET_KEY } from '../../../lib/chain/state-keys.js';
import { cosignBytes, txId, userSignedBytes } from '../../../lib/chain/tx-bytes.js';
import { sign, SignDomain, verifySignature } from '../../../lib/crypto/index.js';
import { cosignSetKey, signTransaction } from '../../../lib/client/tx.js';
import { challengeIndices, hashFile, hashReplica } from '../../../lib/merkle/index.js';
import { SparseMerkleTree } from '../../../lib/smt/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { deriveSeed } from '../../../services/consensus/agreement/codec.js';
import type { AgreementCrypto } from '../../../services/consensus/agreement/types.js';
import { voteSigningBytes } from '../../../lib/chain/certificate.js';
import * as R from './derivation-rules.js';

const { hex, sha256, ascii } = R;
const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

/** The vectors table of docs/contracts.md: id → published output. */
function publishedVectors(): Map<string, string> {
  const doc = read('../../../docs/contracts.md');
  const section = doc.slice(doc.indexOf('## Derivation rules and test vectors'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `([a-z0-9-]+)` \|.*\| `([^`]+)` \|$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

/** The comment text of a proto file, whitespace and comment markers folded, so a rule can be searched across line breaks. */
function protoComments(file: string): string {
  return read(`../../../proto/wolk/${file}`)
    .split('\n')
    .filter((l) => l.trim().startsWith('//'))
    .map((l) => l.trim().replace(/^\/\/\s?/, ''))
    .join(' ')
    .replace(/\s+/g, ' ');
}

const tx = (gatewayId: Uint8Array, gatewaySignature: Uint8Array): Transaction => ({
  sender: Buffer.from(R.PUBKEY),
  nonce: 4n,
  fee: 0n,
  chainId: R.CHAIN_ID,
  body: {
    $case: 'setKey',
    value: {
      owner: 'alice',
      collection: 'docs',
      key: 'a/b ü.txt',
      file: { filehash: Buffer.from(R.FILEHASH), size: 5000n, chunkSize: R.CHUNK_SIZE },
      contentType: 'text/plain',
      commitments: [],
      gatewayId: Buffer.from(gatewayId),
      gatewaySignature: Buffer.from(gatewaySignature),
    },
  },
});
const setKeyFromGateway = tx(R.STORER, R.GATEWAY_SIGNATURE);
const signedSetName: SignedTransaction = {
  tx: { sender: Buffer.from(R.PUBKEY), nonce: 3n, fee: 0n, chainId: R.CHAIN_ID, body: { $case: 'setName', value: { name: 'alice', owner: Buffer.from(R.PUBKEY) } } },
  signature: R.TX_SIGNATURE,
};
const selector = (step: number) => ({ seed: R.SEED, round: 7, period: 1, step, expectedSize: 1, totalStake: 1n });
const list = (xs: readonly number[]) => JSON.stringify(xs);

interface Rule {
  /** Row of the docs table. */
  readonly id: string;
  /** The proto file whose comments state the rule, and phrases the statement must contain. */
  readonly proto: readonly [file: string, ...phrases: string[]];
  /** The rule as written, from node:crypto alone. */
  readonly written: () => string;
  /** What the code computes. */
  readonly code: () => string | Promise<string>;
}

const RULES: readonly Rule[] = [
  {
    id: 'sign-tx',
    proto: ['common/v1/crypto.proto', 'Ed25519 over len(domain) (1 byte) ‖ domain (ASCII) ‖ message'],
    written: () => hex(R.domainSignature('wolk/tx/v1', R.SECRET, ascii('wolk'))),
    code: () => hex(sign(SignDomain.Tx, R.SECRET, ascii('wolk'))),
  },
  {
    id: 'alpha-storer',
    proto: ['common/v1/crypto.proto', 'len(domain) (1 byte) ‖ domain ‖ for each part: (u32 BE length ‖ part)', 'domain "wolk/sortition/storer/v1", parts seed (32), filehash (32)'],
    written: () => hex(sha256(R.alpha('wolk/sortition/storer/v1', R.SEED, R.FILEHASH))),
    code: () => hex(sha256(storerAlpha(R.SEED, R.FILEHASH))),
  },
  {
    id: 'alpha-proposer',
    proto: ['common/v1/crypto.proto', 'domain "wolk/sortition/proposer/v1", parts seed (32), round, period, step', 'the proposer uses step 0'],
    written: () => hex(sha256(R.alpha('wolk/sortition/proposer/v1', R.SEED, R.u64be(7), R.u64be(1), R.u64be(0)))),
    code: () => hex(sha256(selectorAlpha(selector(0)))),
  },
  {
    id: 'alpha-committee',
    proto: ['common/v1/crypto.proto', 'domain "wolk/sortition/committee/v1", parts seed (32), round, period, step', 'committee votes their step >= 1'],
    written: () => hex(sha256(R.alpha('wolk/sortition/committee/v1', R.SEED, R.u64be(7), R.u64be(1), R.u64be(2)))),
    code: () => hex(sha256(selectorAlpha(selector(2)))),
  },
  {
    id: 'alpha-rewards',
    proto: ['common/v1/crypto.proto', 'domain "wolk/sortition/rewards/v1", parts seed (32), round'],
    written: () => hex(sha256(R.alpha('wolk/sortition/rewards/v1', R.SEED, R.u64be(7)))),
    code: () => hex(sha256(rewardsAlpha(R.SEED, 7))),
  },
  {
    id: 'key-name',
    proto: ['common/v1/state.proto', 'wolk://OWNER key = SHA-256("wolk://OWNER")'],
    written: () => hex(R.pathKey('wolk://alice')),
    code: () => hex(pathStateKey('alice')),
  },
  {
    id: 'key-collection',
    proto: ['common/v1/state.proto', 'wolk://OWNER/COLLECTION key = SHA-256("wolk://OWNER/COLLECTION")'],
    written: () => hex(R.pathKey('wolk://alice/docs')),
    code: () => hex(pathStateKey('alice', 'docs')),
  },
  {
    id: 'key-key',
    proto: ['common/v1/state.proto', 'wolk://OWNER/COLLECTION/KEY key = SHA-256(that path, UTF-8)'],
    written: () => hex(R.pathKey('wolk://alice/docs/a/b ü.txt')),
    code: () => hex(pathStateKey('alice', 'docs', 'a/b ü.txt')),
  },
  {
    id: 'key-account',
    proto: ['common/v1/state.proto', 'key = SHA-256("wolk/account/v1" ‖ 0x00 ‖ P)'],
    written: () => hex(R.accountKey(R.PUBKEY)),
    code: () => hex(accountStateKey(R.PUBKEY)),
  },
  {
    id: 'key-storer-set',
    proto: ['common/v1/state.proto', 'key = SHA-256("wolk/storer-set/v1")'],
    written: () => hex(R.storerSetKey()),
    code: () => hex(STORER_SET_KEY),
  },
  {
    id: 'key-rewarded',
    proto: ['common/v1/state.proto', 'key = SHA-256("wolk/reward/v1" ‖ 0x00 ‖ u64be(A))'],
    written: () => hex(R.rewardedKey(5)),
    code: () => hex(rewardedRoundKey(5)),
  },
  {
    id: 'key-chunk-set',
    proto: ['common/v1/state.proto', 'key = SHA-256("wolk/chunk-set/v1" ‖ 0x00 ‖ u64be(R))'],
    written: () => hex(R.chunkSetKey(7)),
    code: () => hex(chunkSetStateKey(7)),
  },
  {
    id: 'tx-id',
    proto: ['common/v1/tx.proto', 'The transaction id is SHA-256 of the deterministic encoding of the SignedTransaction'],
    written: () => hex(sha256(R.signedSetNameBytes())),
    code: () => hex(txId(signedSetName)),
  },
  {
    id: 'tx-user-bytes',
    proto: ['common/v1/tx.proto', 'domain "wolk/tx/v1" over the deterministic encoding of `tx`, where for a SetKey body the fields filled in by the gateway (commitments, gateway_id, gateway_signature) are cleared first'],
    written: () => hex(sha256(R.setKeyTransactionBytes(Buffer.alloc(0), Buffer.alloc(0)))),
    code: () => hex(sha256(userSignedBytes(setKeyFromGateway))),
  },
  {
    id: 'tx-cosign-bytes',
    proto: ['common/v1/tx.proto', 'domain "wolk/gateway-cosign/v1", over the deterministic encoding of the enclosing Transaction with this field cleared'],
    written: () => hex(sha256(R.setKeyTransactionBytes(R.STORER, Buffer.alloc(0)))),
    code: () => hex(sha256(cosignBytes(setKeyFromGateway))),
  },
  {
    id: 'filehash',
    proto: ['common/v1/storage.proto', 'filehash = SHA-256(0x02 ‖ u64be(size) ‖ u32be(C) ‖ tree root)', 'leaf hashes SHA-256(0x00 ‖ chunk)'],
    written: () => hex(R.filehashOf(R.FILE, R.CHUNK_SIZE)),
    code: () => hex(hashFile(R.FILE, R.CHUNK_SIZE).filehash),
  },
  {
    id: 'replica-root',
    proto: ['common/v1/storage.proto', 'leaf i = SHA-256(0x03 ‖ storer_id ‖ filehash ‖ u64be(i) ‖ chunk_i), replica_root = SHA-256(0x04 ‖ storer_id ‖ filehash ‖ u64be(size) ‖ u32be(chunk_size) ‖ MTH(leaves))'],
    written: () => hex(R.replicaRootOf(R.STORER, R.FILE, R.CHUNK_SIZE)),
    code: () => hex(hashReplica(R.STORER, hashFile(R.FILE, R.CHUNK_SIZE).filehash, R.FILE, R.CHUNK_SIZE).replicaRoot),
  },
  {
    id: 'share-digest',
    proto: ['common/v1/storage.proto', 'digest = SHA-256(len(d) ‖ d ‖ nonce (32) ‖ storer_id (32) ‖ chunk) with d = the ASCII domain "wolk/share-possession/v1"'],
    written: () => hex(R.shareDigest(R.NONCE, R.STORER, ascii('chunk'))),
    code: () => hex(shareDigest(R.NONCE, R.STORER, ascii('chunk'))),
  },
  {
    id: 'chunk-set-root',
    proto: ['storer/v1/storer.proto', 'replica_root SHA-256(len(d) ‖ d ‖ storer_id ‖ new_chunks_hash) with d = "wolk/chunk-set/v1"'],
    written: () => hex(R.chunkSetRoot(R.STORER, R.FILEHASH)),
    code: () => hex(chunkSetReplicaRoot(R.STORER, R.FILEHASH)),
  },
  {
    id: 'challenge-1e6',
    proto: ['common/v1/storage.proto', 'block_b = SHA-256("wolk/challenge/v1" ‖ challenge ‖ u64be(n) ‖ u64be(b))', 'r = j + uniform(n - j), swap a[j] and a[r]', 'sorted ascending'],
    written: () => list(R.challengeLeaves(Buffer.alloc(32), 1_000_000, 8)),
    code: () => list(challengeIndices(new Uint8Array(32), 1_000_000, 8)),
  },
  {
    id: 'challenge-10',
    proto: ['common/v1/storage.proto', 'If k >= n the indices are 0 .. n-1'],
    written: () => list(R.challengeLeaves(R.SEED, 10, 4)),
    code: () => list(auditIndices(R.SEED, 10, 4)),
  },
  {
    id: 'object-challenge',
    proto: ['common/v1/tx.proto', 'SHA-256(len(d) ‖ d ‖ challenge_seed ‖ u64be(A) ‖ object id ‖ storer_id), d = "wolk/rewards/challenge/v1"'],
    written: () => hex(R.objectChallenge(R.SEED, 5, R.FILEHASH, R.STORER)),
    code: () => hex(objectChallenge(R.SEED, 5, R.FILEHASH, R.STORER)),
  },
  {
    id: 'seed-period0',
    proto: ['common/v1/chain.proto', 'in period 0 SHA-256("wolk/agreement/seed/v1" ‖ proposer\'s VRF output ‖ round)'],
    written: () => hex(R.seedPeriod0(R.counting(64, 0xc0), 7)),
    code: () => hex(deriveSeed(chainCrypto, R.SEED, 7, 0, R.counting(64, 0xc0))),
  },
  {
    id: 'seed-later',
    proto: ['common/v1/chain.proto', 'in later periods SHA-256("wolk/agreement/seed/v1" ‖ previous seed ‖ round) (round as u64 BE)'],
    written: () => hex(R.seedLater(R.SEED, 7)),
    code: () => hex(deriveSeed(chainCrypto, R.SEED, 7, 1, R.counting(64, 0xc0))),
  },
  {
    id: 'vote-bytes',
    proto: ['common/v1/chain.proto', '"wolk/agreement/vote/v1" ‖ u64be(len) ‖ voter id as lowercase hex ‖ u64be(round) ‖ u64be(period) ‖ u64be(step) ‖ (0x00 for bottom | 0x01 ‖ value)'],
    written: () => hex(sha256(R.voteBytes(R.STORER, 7, 1, 2, R.FILEHASH))),
    code: () => hex(sha256(voteSigningBytes(hex(R.STORER), 7, 1, 2, R.FILEHASH))),
  },
  {
    id: 'block-hash',
    proto: ['common/v1/chain.proto', 'SHA-256("wolk/agreement/block/v1" ‖ u64be(round) ‖ previous_hash ‖ seed ‖ id(proposer_id) ‖ u64be(original_period) ‖ id(proposer_id) ‖ u64be(80) ‖ vrf proof ‖ u64be(64) ‖ vrf output ‖ u64be(weight) ‖ SHA-256(ledger part))'],
    written: () => hex(R.blockHashOf(R.HEADER)),
    code: () => {
      const h = R.HEADER;
      return hex(
        blockHashOfHeader(
          BlockHeader.fromPartial({
            round: BigInt(h.round),
            previousHash: h.previousHash,
            seed: h.seed,
            proposerId: h.proposerId,
            originalPeriod: BigInt(h.originalPeriod),
            proposerCredential: { vrf: { proof: h.vrfProof, output: h.vrfOutput }, weight: h.weight, publicKey: Buffer.alloc(0) },
            stateRoot: h.stateRoot,
            txRoot: h.txRoot,
            newChunksHash: h.newChunksHash,
            timestampMs: h.timestampMs,
          }),
        ),
      );
    },
  },
  {
    id: 'new-chunks-hash',
    proto: ['common/v1/chain.proto', 'new_chunks_hash = SHA-256 of the deterministic encoding of this message with `chunk_commitments` cleared'],
    written: () => hex(R.newChunksHash([R.FILEHASH, R.STORER])),
    code: () => hex(newChunksHashOf({ chunkIds: [Buffer.from(R.FILEHASH), Buffer.from(R.STORER)], files: [], chunkCommitments: [], repairedChunkSets: [] })),
  },
  {
    id: 'smt-root',
    proto: ['common/v1/chain.proto', 'EMPTY = 32 zero bytes: value hash vh = SHA-256(0x12 ‖ value), leaf hash = SHA-256(0x10 ‖ key ‖ vh), node hash = SHA-256(0x11 ‖ left ‖ right)'],
    written: () => hex(R.smtRoot([{ key: R.pathKey('wolk://alice'), value: ascii('v1') }, { key: R.accountKey(R.PUBKEY), value: ascii('v2') }])),
    code: async () => {
      const tree = new SparseMerkleTree({ kv: createMemoryKv() });
      return hex(await tree.update(SparseMerkleTree.emptyRoot, [{ key: pathStateKey('alice'), value: ascii('v1') }, { key: accountStateKey(R.PUBKEY), value: ascii('v2') }]));
    },
  },
];

const chainCrypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as unknown as AgreementCrypto;

test('every published vector has a rule here and every rule a published vector', (t) => {
  t.deepEqual([...publishedVectors().keys()].sort(), RULES.map((r) => r.id).sort());
});

for (const rule of RULES) {
  test(`${rule.id}: the proto states the rule; the written rule and the code give the published vector`, async (t) => {
    const [file, ...phrases] = rule.proto;
    const comments = protoComments(file);
    for (const p of phrases) t.true(comments.includes(p), `proto/wolk/${file} no longer states: ${p}`);
    const published = publishedVectors().get(rule.id);
    if (published === undefined) return t.fail(`docs/contracts.md publishes no vector ${rule.id}`);
    t.is(rule.written(), published, 'the rule as written in the proto gives the vector in docs/contracts.md');
    t.is(await rule.code(), published, 'the code gives the vector in docs/contracts.md');
  });
}

test('the test vector stated in the FileAudit comment is what the storers, gateways and auditors compute', (t) => {
  const comments = protoComments('common/v1/storage.proto');
  const m = /Test vector: challenge = 32 zero bytes, n = (\d+), k = (\d+) -> (\[[\d, ]+\])/.exec(comments);
  if (!m) return t.fail('storage.proto FileAudit states no test vector');
  const [n, k, expected] = [Number(m[1]), Number(m[2]), JSON.parse(m[3] ?? '') as number[]];
  t.deepEqual(R.challengeLeaves(Buffer.alloc(32), n, k), expected, 'the rule as written');
  t.deepEqual(auditIndices(new Uint8Array(32), n, k), expected, 'lib/chain/commitment.ts auditIndices (VerifyFile, verifyFileAudit)');
  t.deepEqual(challengeIndices(new Uint8Array(32), 5, 8), [0, 1, 2, 3, 4], 'k >= n: every leaf');
});

test('the vectors exercise what they claim: inputs that differ in one byte give other outputs', (t) => {
  // Guards the harness: a rule that ignored an input would still match a vector computed the same way.
  t.not(hex(pathStateKey('alice', 'docs', 'a/b ü.txt')), hex(pathStateKey('alice', 'docs', 'a/b u.txt')));
  t.not(hex(txId(signedSetName)), hex(txId({ ...signedSetName, signature: Buffer.alloc(64, 0xab) })));
  t.not(hex(userSignedBytes(setKeyFromGateway)), hex(cosignBytes(setKeyFromGateway)));
  t.is(hex(userSignedBytes(setKeyFromGateway)), hex(userSignedBytes(tx(new Uint8Array(0), new Uint8Array(0)))), 'gateway fields do not reach the user-signed bytes');
});

test('signing domains: each signed message is signed by the code with the domain its proto comment names, over its encoding with the signature cleared', (t) => {
  const pk = R.publicKeyOf(R.SECRET);
  const key = { publicKey: pk, secretKey: R.SECRET };
  const empty = Buffer.alloc(0);
  /** [proto file, the comment's phrase naming the domain, the domain, what the code signed, the bytes the rule says are signed] */
  const cases: [string, string, string, Uint8Array, Uint8Array][] = [];
  const c = signStorageCommitment(
    { storerId: pk, vrfPublicKey: Buffer.from(R.PUBKEY), vrf: { proof: R.counting(80, 0x10), output: R.counting(64, 0x70) }, weight: 1, replicaRoot: R.NONCE, filehash: R.FILEHASH, size: 5000n, chunkSize: 4096, seed: R.SEED, seedRound: 7n },
    R.SECRET,
  );
  cases.push(['common/v1/storage.proto', 'Signed by the storer with domain "wolk/commitment/v1"', 'wolk/commitment/v1', c.signature, StorageCommitment.encode({ ...c, signature: empty }).finish()]);
  const sp = signShareProof({ chunkId: sha256(ascii('chunk')), storerId: pk, nonce: R.NONCE, digest: R.shareDigest(R.NONCE, pk, ascii('chunk')) }, R.SECRET);
  cases.push(['common/v1/storage.proto', 'Signed by the storer with domain "wolk/share-proof/v1"', 'wolk/share-proof/v1', sp.signature, Buffer.concat([R.lenField(1, sp.chunkId), R.lenField(2, pk), R.lenField(3, R.NONCE), R.lenField(4, sp.digest)])]);
  const fa = signFileAudit({ storerId: pk, filehash: R.FILEHASH, replicaRoot: R.NONCE, challenge: R.SEED, k: 2, leaves: [] }, R.SECRET);
  cases.push(['common/v1/storage.proto', 'Signed by the storer with domain "wolk/file-proof/v1"', 'wolk/file-proof/v1', fa.signature, FileAudit.encode({ ...fa, signature: empty }).finish()]);
  const user = signTransaction(tx(empty, empty), key);
  cases.push(['common/v1/tx.proto', 'domain "wolk/tx/v1" over the deterministic encoding of `tx`', 'wolk/tx/v1', user.signature, R.setKeyTransactionBytes(empty, empty)]);
  const cosigned = cosignSetKey(user, [], key);
  const gatewaySig = cosigned.tx?.body?.$case === 'setKey' ? cosigned.tx.body.value.gatewaySignature : empty;
  cases.push(['common/v1/tx.proto', 'signature by the gateway, domain "wolk/gateway-cosign/v1"', 'wolk/gateway-cosign/v1', gatewaySig, Transaction.encode({ ...cosigned.tx!, body: { $case: 'setKey', value: { ...(cosigned.tx!.body as Extract<Transaction['body'], { $case: 'setKey' }>).value, gatewaySignature: empty } } }).finish()]);
  for (const [file, phrase, domain, signature, signed] of cases) {
    t.true(protoComments(file).includes(phrase), `proto/wolk/${file} no longer states: ${phrase}`);
    t.true(R.domainVerify(domain, pk, signed, signature), `the code's ${domain} signature verifies over the bytes the proto describes`);
  }
  // Requests signed inside the services: the domain the code checks is the one the proto names, over the message it describes.
  const req = CommitChunksRequest.fromPartial({ newChunks: { chunkIds: [R.SEED] }, seed: R.SEED, seedRound: 7n, data: [ascii('chunk')], requesterId: pk });
  const unsignedReq = CommitChunksRequest.encode({ ...req, data: [], signature: empty }).finish();
  t.deepEqual(Buffer.from(commitChunksMessage(req)), Buffer.from(unsignedReq), 'CommitChunks: signature and data cleared');
  for (const [file, phrase, domain, value] of [
    ['storer/v1/storer.proto', 'domain "wolk/chunk-commit-request/v1", over the deterministic encoding of this request with `signature` and `data` cleared', 'wolk/chunk-commit-request/v1', SignDomain.ChunkCommitRequest],
    ['storer/v1/storer.proto', 'domain "wolk/store-request/v1"', 'wolk/store-request/v1', SignDomain.StoreRequest],
    ['common/v1/chain.proto', 'domain "wolk/vote/v1"', 'wolk/vote/v1', SignDomain.Vote],
  ] as const) {
    t.true(protoComments(file).includes(phrase), `proto/wolk/${file} no longer states: ${phrase}`);
    t.is(String(value), domain);
    t.true(verifySignature(value, pk, unsignedReq, R.domainSignature(domain, R.SECRET, unsignedReq)), `a signature made by the written rule verifies under ${domain}`);
  }
});
