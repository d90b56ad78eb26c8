// A small network for ledger tests: a genesis with consensus nodes, storers and a gateway (real
// Ed25519 and VRF keys), a ledger over an in-memory store, and builders for signed transactions
// and storage commitments exactly as users, gateways and storers make them (docs/contracts.md).
import { SignedTransaction, Transaction, type SetKey } from '../../../gen/wolk/common/v1/tx.js';
import { StorageCommitment, type FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import type { Genesis, GenesisRole } from '../../../lib/chain/genesis.js';
import { SignDomain, SortitionDomain, sha256, sign, sortitionAlpha, toHex, vrfProofToHash, vrfProve } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { sortition } from '../../../lib/crypto/index.js';
import type { ExecutionContext } from 'ava';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { blockHash } from '../../../services/consensus/agreement/codec.js';
import type { Block } from '../../../services/consensus/agreement/types.js';
import type { BlockHeader } from '../../../gen/wolk/common/v1/chain.js';
import { smtProofToProto } from '../../../lib/chain/smt-proof.js';
import type { StateProofAnswer } from '../../../lib/chain/storer-registry.js';
import { cosignBytes, userSignedBytes } from '../../../lib/chain/tx-bytes.js';
import { chunkSetReplicaRoot } from '../../../lib/chain/commitment.js';
import { testRandom } from '../../helpers/seed.js';

export const CHAIN = 'wolk-test';

/** Keys, seeds and file hashes of this fixture: seeded (test/helpers/seed.ts), the same on every run. */
const random = testRandom('consensus/ledger-fixture');

export function newKey(): NodeKey {
  return random.nodeKey();
}

export interface Net {
  readonly genesis: Genesis;
  readonly consensus: NodeKey[];
  readonly storers: NodeKey[];
  readonly gateway: NodeKey;
  /** Rewards-role nodes (stake 10 each), when asked for (`rewards`). */
  readonly rewards: NodeKey[];
}

/** 4 consensus nodes, 4 storers (storer committee = total storer stake: every storer is selected), 1 gateway, N = 3. */
export function makeNet(opts: { storers?: number; replication?: number; storerCommitteeSize?: number; accounts?: Genesis['accounts']; rewards?: number; standingAudits?: number } = {}): Net {
  const consensus = [newKey(), newKey(), newKey(), newKey()];
  const storers = Array.from({ length: opts.storers ?? 4 }, newKey);
  const gateway = newKey();
  // Drawn after the others, so that networks without them keep the same keys as before.
  const rewards = Array.from({ length: opts.rewards ?? 0 }, newKey);
  const node = (k: NodeKey, role: GenesisRole, i: number) => ({ id: k.id, vrfPublicKey: toHex(k.vrfPublicKey), endpoint: `127.0.0.1:${7000 + i}`, roles: [role], stake: '1000' });
  const genesis: Genesis = {
    network: CHAIN,
    seed: random.hex(32),
    timestampMs: Date.now() - 1000,
    params: { replication: opts.replication ?? 3, storerCommitteeSize: opts.storerCommitteeSize ?? 1000 * storers.length, chunkSize: 4096, lambdaMs: 100, auditDepth: 4, ...(opts.standingAudits !== undefined ? { standingAudits: opts.standingAudits } : {}) },
    nodes: [
      ...consensus.map((k, i) => node(k, 'consensus', i)),
      ...storers.map((k, i) => node(k, 'storer', 10 + i)),
      node(gateway, 'gateway', 20),
      ...rewards.map((k, i) => ({ ...node(k, 'rewards', 30 + i), stake: '10' })),
    ],
    ...(opts.accounts ? { accounts: opts.accounts } : {}),
  };
  return { genesis, consensus, storers, gateway, rewards };
}

export function openLedger(net: Net): Promise<Ledger> {
  return Ledger.open({ kv: createMemoryKv(), genesis: net.genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
}

export interface User {
  readonly publicKey: Buffer;
  readonly secretKey: Uint8Array;
  nonce: bigint;
}

export function newUser(): User {
  const k = newKey();
  return { publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n };
}

export function signTx(user: { publicKey: Uint8Array; secretKey: Uint8Array }, tx: Transaction): SignedTransaction {
  return { tx, signature: Buffer.from(sign(SignDomain.Tx, user.secretKey, userSignedBytes(tx))) };
}

/** A transaction with the next nonce of `user` (the nonce advances). */
export function txOf(user: User, body: Transaction['body'], over: Partial<Transaction> = {}): SignedTransaction {
  const tx: Transaction = { sender: user.publicKey, nonce: user.nonce, fee: 0n, chainId: CHAIN, body, ...over };
  user.nonce = tx.nonce + 1n;
  return signTx(user, tx);
}

export const setName = (user: User, name: string, owner: Uint8Array = user.publicKey) => txOf(user, { $case: 'setName', value: { name, owner: Buffer.from(owner) } });
export const setBucket = (user: User, owner: string, collection: string, replication = 0) =>
  txOf(user, { $case: 'setBucket', value: { owner, collection, settings: { replication, maxFileSize: 0n, chunkSize: 0 } } });

export function fileInfo(size = 10_000n): FileInfo {
  return { filehash: random.bytes(32), size, chunkSize: 4096 };
}

/** A storer's commitment to `file` on the seed of `seedRound`, as the storer would sign it. */
export function commitment(storer: NodeKey, file: FileInfo, seed: Uint8Array, seedRound: number, totalStake: bigint, over: Partial<StorageCommitment> = {}, expectedSize = Number(totalStake), stake = 1000n): StorageCommitment {
  const alpha = sortitionAlpha(SortitionDomain.Storer, seed, file.filehash);
  const proof = vrfProve(storer.vrfSecretKey, alpha);
  const out = vrfProofToHash(proof)!;
  const weight = sortition(out, stake, totalStake, expectedSize);
  const c: StorageCommitment = {
    storerId: Buffer.from(storer.signPublicKey),
    vrfPublicKey: Buffer.from(storer.vrfPublicKey),
    vrf: { proof: Buffer.from(proof), output: Buffer.from(out) },
    weight,
    replicaRoot: random.bytes(32),
    filehash: file.filehash,
    size: file.size,
    chunkSize: file.chunkSize,
    seed: Buffer.from(seed),
    seedRound: BigInt(seedRound),
    signature: Buffer.alloc(0),
    ...over,
  };
  return { ...c, signature: Buffer.from(sign(SignDomain.Commitment, storer.signSecretKey, StorageCommitment.encode({ ...c, signature: Buffer.alloc(0) }).finish())) };
}

/**
 * A storer's commitment to a block's chunk set `setHash` of `shape` (as services/storer/chunk-commit.ts
 * makes it: filehash = new_chunks_hash, the chunk-set replica root), weighed against `totalStake` with
 * the committee size capped at it, as the verifiers cap it.
 */
export function chunkSetCommitment(storer: NodeKey, setHash: Uint8Array, shape: { size: bigint; chunkSize: number }, seed: Uint8Array, seedRound: number, totalStake: bigint, expectedSize: number, over: Partial<StorageCommitment> = {}): StorageCommitment {
  const file = { filehash: Buffer.from(setHash), size: shape.size, chunkSize: shape.chunkSize };
  return commitment(storer, file, seed, seedRound, totalStake, { replicaRoot: Buffer.from(chunkSetReplicaRoot(storer.signPublicKey, setHash)), ...over }, Math.min(expectedSize, Number(totalStake)));
}

/** A user-signed SetKey co-signed by `gateway` with `commitments`. */
export function setKey(user: User, gateway: NodeKey, intent: { owner: string; collection: string; key: string; file: FileInfo }, commitments: StorageCommitment[]): SignedTransaction {
  const value: SetKey = { ...intent, contentType: 'text/plain', commitments, gatewayId: Buffer.from(gateway.signPublicKey), gatewaySignature: Buffer.alloc(0) };
  const tx: Transaction = { sender: user.publicKey, nonce: user.nonce, fee: 0n, chainId: CHAIN, body: { $case: 'setKey', value } };
  user.nonce += 1n;
  const sig = sign(SignDomain.GatewayCosign, gateway.signSecretKey, cosignBytes(tx));
  const signed: Transaction = { ...tx, body: { $case: 'setKey', value: { ...value, gatewaySignature: Buffer.from(sig) } } };
  return signTx(user, signed);
}

/** GetStateProof as a consensus node answers it, from the ledger (for RemoteStorerRegistry). */
export function proofsFrom(ledger: Ledger) {
  return async (key: Uint8Array, round: number): Promise<StateProofAnswer> => {
    const b = (await ledger.certifiedBlock(round))!;
    const root = new Uint8Array(b.block.header!.stateRoot);
    const [proof, value] = await Promise.all([ledger.tree.prove(root, key), ledger.tree.get(root, key)]);
    return { proof: smtProofToProto(key, value, root, proof), header: b.block.header as BlockHeader };
  };
}

const blockCrypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockHash>[0];

/** The agreement block for the ledger's next round with `body` and `seed` (a fixed proposer and credential). */
export function blockOf(ledger: Ledger, body: Uint8Array, seed: Uint8Array): Block {
  const tip = ledger.tip();
  const b: Omit<Block, 'hash'> = {
    round: tip.round + 1,
    prevHash: tip.hash,
    seed,
    proposer: 'aa'.repeat(32),
    period: 0,
    credential: { voterId: 'aa'.repeat(32), vrfProof: new Uint8Array(80), vrfOutput: new Uint8Array(64), weight: 1 },
    body,
  };
  return { ...b, hash: blockHash(blockCrypto, b) };
}

/** Assembles, validates and commits the next block from `txs` with `seed` (agreement is not under test). */
export async function finalizeBlock(ledger: Ledger, txs: SignedTransaction[], seed: Uint8Array) {
  const round = ledger.tip().round + 1;
  const { body, payload, rejected } = await ledger.assemble(round, txs);
  const block = blockOf(ledger, body, seed);
  const v = await ledger.validate(block, payload);
  if (!v.valid) throw new Error(`own block invalid: ${v.reason}`);
  await ledger.commit(block, { round, period: 0, value: block.hash, votes: [], equivocations: [] }, payload);
  return { included: payload.txs, rejected };
}

/** Executes `stx` alone in a block after the ledger's tip (nothing is committed): throws its TxError when refused. */
export async function runNext(ledger: Ledger, stx: SignedTransaction): Promise<void> {
  await ledger.execute(ledger.tip().round + 1, new Uint8Array(ledger.tipHeader().stateRoot), [stx], false);
}

/** `stx` is refused in the block after the tip with FAILED_PRECONDITION and a reason matching `re`. */
export async function refusedNext(t: ExecutionContext, ledger: Ledger, stx: SignedTransaction, re: RegExp): Promise<void> {
  const err = await t.throwsAsync(runNext(ledger, stx), { instanceOf: TxError });
  t.is(err?.code, 'FAILED_PRECONDITION', err?.message);
  t.regex(err?.message ?? '', re);
}
