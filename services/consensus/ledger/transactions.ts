// Transaction validation and application (the Consensus issue, "Ledger"; DESIGN §3, §4 step 5).
//
// Two layers, so that the mempool can reject early and a block is judged by exactly the same rules:
//   checkStateless  shape, sizes, chain id, the sender's signature, the gateway's co-signature and
//                   each storage commitment's own signature/VRF: INVALID_ARGUMENT when it fails.
//   applyTx         against state: nonce, fee, name ownership, bucket settings, registry lookups;
//                   writes the new records into the overlay: FAILED_PRECONDITION when it fails.
// Signed bytes follow docs/contracts.md "Canonical signing" (lib/chain/tx-bytes.ts, the same code
// the client library signs with); state keys and name patterns are lib/chain/state-keys.ts.
import { SignDomain, sha256, u64be, verifySignature } from '../../../lib/crypto/index.js';
import { isValidChunkSize } from '../../../lib/merkle/index.js';
import { SignedTransaction, type SetKey, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { NodeRole, type NodeRecord } from '../../../gen/wolk/common/v1/node.js';
import { BucketRecord, KeyRecord, NameRecord, type AccountRecord } from '../../../gen/wolk/common/v1/state.js';
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import type { FileInfo, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import type { RepairParams } from '../../../lib/chain/repair.js';
import type { PorepNetworkParams } from '../../../lib/chain/sealed.js';
import { applyRepair, checkRepairStateless } from './repair.js';
import { verifyStorageCommitment } from '../../../lib/chain/commitment.js';
import { decodeStorerSet, encodeStorerSet, storerRegistryFromState, updatedStorerSet, type StorerRegistry } from '../../../lib/chain/storer-registry.js';
import { rewardEffects, verifyRewardTx, type RewardParams } from '../../../lib/chain/reward.js';
import { MAX_STANDING_AUDITS, standingSelection, type StandingTarget } from '../../../lib/chain/standing.js';
import type { SmtProof } from '../../../lib/smt/index.js';
import { COLLECTION_RE, isValidKey, NAME_RE, pathStateKey, rewardedRoundKey, STORER_SET_KEY } from '../../../lib/chain/state-keys.js';
import { cosignBytes, userSignedBytes } from '../../../lib/chain/tx-bytes.js';
import { readAccount, readBucket, readName, writeAccount, type StateOverlay, type StateReader } from './state-view.js';
import { commitmentKey, signaturesKey, type VerifiedTxCache } from './verified-cache.js';

export type TxErrorCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';

export class TxError extends Error {
  constructor(
    readonly code: TxErrorCode,
    message: string,
    /** A nonce ahead of the account's: may apply later, after the transactions before it. */
    readonly future = false,
  ) {
    super(message);
    this.name = 'TxError';
  }
}

export const invalid = (m: string): never => {
  throw new TxError('INVALID_ARGUMENT', m);
};
export const precondition = (m: string): never => {
  throw new TxError('FAILED_PRECONDITION', m);
};

/** Limits against spam and oversized blocks. */
export interface TxLimits {
  /** Largest encoded SignedTransaction accepted. */
  readonly maxTxBytes: number;
  /** Lowest fee accepted (base units). 0 on the devnet: accounts start with no balance. */
  readonly minFee: bigint;
  /** Largest replication N a bucket may ask for. */
  readonly maxReplication: number;
}

export const DEFAULT_TX_LIMITS: TxLimits = { maxTxBytes: 256 * 1024, minFee: 0n, maxReplication: 64 };

/** What the rules need to know beyond state. */
export interface LedgerRules {
  readonly chainId: string;
  readonly limits: TxLimits;
  /** N for buckets that leave replication at 0 (genesis params.replication). */
  readonly defaultReplication: number;
  /** Chunk size for buckets that leave it at 0. */
  readonly defaultChunkSize: number;
  /**
   * Storer sortition: the expected committee size. The storers and their weights are those of the
   * storer set in the state of the seed round (lib/chain/storer-registry.ts).
   */
  readonly storers: { readonly expectedSize: number };
  /**
   * The state after a finalized block (its root, a reader, and the tree's proofs: the standing
   * selection walks the tree, lib/chain/standing.ts), or null when the block is unknown.
   */
  stateAt(round: number): Promise<{ readonly root: Uint8Array; readonly state: StateReader; prove(key: Uint8Array): Promise<SmtProof> } | null>;
  /** The seed of a finalized round, or null when unknown or too old to commit against. */
  seedAt(round: number): Uint8Array | null;
  /**
   * Rewards (lib/chain/reward.ts, docs/rewards.md): the network's parameters (Q = genesis
   * params.auditDepth) and the verifier sortition's denominator, the genesis rewards-role stake (the
   * one the rewards service weighs its own credential against).
   */
  readonly rewards: { readonly params: RewardParams; readonly totalVerifierStake: bigint };
  /** NewChunks of a finalized round (the audited block of a Reward), or null when unknown. */
  newChunksAt(round: number): Promise<NewChunks | null>;
  /** Signature and commitment checks already passed on this node (verified-cache.ts); none: every check runs every time. */
  readonly verified?: VerifiedTxCache;
  /** Repair (docs/repair.md): the liveness threshold and the per-block bound (genesis params.repair). */
  readonly repair: RepairParams;
  /** A sealed network's parameters (genesis params.porep): chunk-set commitments carry sealed replicas. */
  readonly porep?: PorepNetworkParams;
}

const ENDPOINT_RE = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const FULL_REPUTATION = 1_000_000;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function validRoles(roles: readonly NodeRole[]): boolean {
  if (roles.length === 0) return false;
  for (let i = 0; i < roles.length; i++) {
    const r = roles[i]!;
    if (r <= NodeRole.NODE_ROLE_UNSPECIFIED || r > NodeRole.NODE_ROLE_INDEXER) return false;
    if (i > 0 && roles[i - 1]! >= r) return false; // ascending, no duplicates (node.proto)
  }
  return true;
}

/** Shape and signatures: everything that does not depend on state. Throws TxError(INVALID_ARGUMENT). */
export function checkStateless(stx: SignedTransaction, rules: LedgerRules): Transaction {
  const tx = stx.tx;
  if (!tx) return invalid('transaction is missing');
  const encoded = SignedTransaction.encode(stx).finish();
  const size = encoded.length;
  // The signatures over exactly these bytes may have been checked on this node already (admission).
  const sigKey = rules.verified ? signaturesKey(hex(sha256(encoded))) : null;
  const sigsChecked = sigKey !== null && rules.verified!.has(sigKey);
  if (size > rules.limits.maxTxBytes) invalid(`transaction is ${size} bytes, at most ${rules.limits.maxTxBytes}`);
  if (tx.sender.length !== 32) invalid(`sender must be a 32-byte public key, got ${tx.sender.length} bytes`);
  if (tx.chainId !== rules.chainId) invalid(`chain_id "${tx.chainId}" is not this network's "${rules.chainId}"`);
  if (tx.fee < rules.limits.minFee) invalid(`fee ${tx.fee} is below the minimum ${rules.limits.minFee}`);
  if (stx.signature.length !== 64) invalid('signature must be 64 bytes');
  if (!sigsChecked && !verifySignature(SignDomain.Tx, tx.sender, userSignedBytes(tx), stx.signature)) invalid('bad sender signature');
  const body = tx.body;
  if (!body) return invalid('transaction has no body');
  switch (body.$case) {
    case 'setName': {
      const { name, owner } = body.value;
      if (!NAME_RE.test(name)) invalid(`name "${name}" must be 1 to 63 characters of [a-z0-9-], not starting or ending with '-'`);
      if (owner.length !== 32) invalid('set_name.owner must be a 32-byte public key');
      break;
    }
    case 'setBucket': {
      const { owner, collection, settings } = body.value;
      if (!NAME_RE.test(owner)) invalid(`owner "${owner}" is not a valid name`);
      if (!COLLECTION_RE.test(collection)) invalid(`collection "${collection}" must be 1 to 63 characters of [a-z0-9._-]`);
      const r = settings?.replication ?? 0;
      if (r > rules.limits.maxReplication) invalid(`replication ${r} is above the limit ${rules.limits.maxReplication}`);
      const c = settings?.chunkSize ?? 0;
      if (c !== 0 && !isValidChunkSize(c)) invalid(`chunk_size ${c} must be 0 or 4096 to 32768`);
      break;
    }
    case 'setKey':
      checkSetKeyStateless(tx, body.value, sigsChecked);
      break;
    case 'registerNode': {
      const r = body.value;
      if (r.vrfPublicKey.length !== 32) invalid('register_node.vrf_public_key must be 32 bytes');
      if (!ENDPOINT_RE.test(r.endpoint)) invalid(`register_node.endpoint "${r.endpoint}" must be HOST:PORT`);
      if (!validRoles(r.roles)) invalid('register_node.roles must be known roles, ascending, without duplicates');
      break;
    }
    case 'updateNode': {
      const u = body.value;
      if (u.vrfPublicKey !== undefined && u.vrfPublicKey.length !== 32) invalid('update_node.vrf_public_key must be 32 bytes');
      if (u.endpoint !== undefined && !ENDPOINT_RE.test(u.endpoint)) invalid(`update_node.endpoint "${u.endpoint}" must be HOST:PORT`);
      if (u.roles !== undefined && !validRoles(u.roles.roles)) invalid('update_node.roles must be known roles, ascending, without duplicates');
      break;
    }
    case 'reward': {
      // Shape only; everything else needs chain data (applyReward).
      const r = body.value;
      if (r.challengeSeed.length !== 32) invalid('reward.challenge_seed must be 32 bytes');
      if (r.auditedRound < 1n) invalid('reward.audited_round must be at least 1');
      if (!r.verifier?.vrf) invalid('reward.verifier must carry the verifier\'s VRF credential');
      if (r.standing.length > MAX_STANDING_AUDITS) invalid(`reward carries ${r.standing.length} standing audits, at most ${MAX_STANDING_AUDITS}`);
      break;
    }
    case 'repair':
      checkRepairStateless(body.value);
      break;
  }
  if (sigKey !== null && !sigsChecked) rules.verified!.add(sigKey);
  return tx;
}

function checkSetKeyStateless(tx: Transaction, k: SetKey, sigsChecked: boolean): void {
  if (!NAME_RE.test(k.owner)) invalid(`owner "${k.owner}" is not a valid name`);
  if (!COLLECTION_RE.test(k.collection)) invalid(`collection "${k.collection}" is not a valid collection name`);
  if (!isValidKey(k.key)) invalid('key must be 1 to 1024 bytes of UTF-8 without NUL');
  const f = k.file;
  if (!f || f.filehash.length !== 32) invalid('set_key.file.filehash must be 32 bytes');
  if (!isValidChunkSize(f!.chunkSize)) invalid(`set_key.file.chunk_size ${f!.chunkSize} must be 4096 to 32768`);
  if (k.gatewayId.length !== 32) invalid('set_key.gateway_id must be a 32-byte public key');
  if (!sigsChecked && !verifySignature(SignDomain.GatewayCosign, k.gatewayId, cosignBytes(tx), k.gatewaySignature)) invalid('bad gateway co-signature');
  const ids = new Set<string>();
  for (const c of k.commitments) {
    const id = hex(c.storerId);
    if (ids.has(id)) invalid(`storer ${id} commits twice`);
    ids.add(id);
  }
}

/** Context of one block being applied. */
export interface BlockContext {
  /** Round of the block the transaction is in. */
  readonly round: number;
  readonly rules: LedgerRules;
}

/**
 * Applies a statelessly checked transaction to `state` (a fork of the block's overlay; the caller
 * absorbs it on success). `nonceCheck: 'exact'` in blocks; the mempool admits future nonces.
 */
export async function applyTx(stx: SignedTransaction, state: StateOverlay, ctx: BlockContext, id: Uint8Array): Promise<void> {
  const tx = stx.tx!;
  const sender = await readAccount(state, tx.sender);
  if (tx.nonce !== sender.nonce) {
    throw new TxError('FAILED_PRECONDITION', `nonce ${tx.nonce} is not the account's next nonce ${sender.nonce}`, tx.nonce > sender.nonce);
  }
  if (tx.fee > sender.balance) precondition(`fee ${tx.fee} exceeds the balance ${sender.balance}`);
  sender.nonce += 1n;
  sender.balance -= tx.fee;
  const round = BigInt(ctx.round);
  const body = tx.body!;
  switch (body.$case) {
    case 'setName': {
      const { name, owner } = body.value;
      const current = await readName(state, name);
      if (current === null) {
        // First claim wins: the claimant proves the key it claims for by signing the claim itself.
        if (!eq(owner, tx.sender)) precondition('a new name must be claimed by its owner key (set_name.owner = sender)');
      } else if (!eq(current.owner, tx.sender)) {
        precondition(`name "${name}" is already owned by ${hex(current.owner)}`);
      } else if (eq(current.owner, owner)) {
        precondition(`name "${name}" is already owned by this key`);
      }
      state.put(pathStateKey(name), NameRecord.encode({ name, owner: Buffer.from(owner), round }).finish());
      break;
    }
    case 'setBucket': {
      const { owner, collection, settings } = body.value;
      await requireOwner(state, owner, tx.sender);
      const existing = await readBucket(state, owner, collection);
      if (existing !== null && (existing.settings?.chunkSize ?? 0) !== (settings?.chunkSize ?? 0)) {
        precondition('the chunk size of an existing collection cannot change (its files were cut with it)');
      }
      state.put(
        pathStateKey(owner, collection),
        BucketRecord.encode({ owner, collection, settings: settings ?? { replication: 0, maxFileSize: 0n, chunkSize: 0 }, round }).finish(),
      );
      break;
    }
    case 'setKey':
      await applySetKey(body.value, state, ctx, tx.sender, id);
      break;
    case 'registerNode': {
      const r = body.value;
      if (sender.node !== undefined) precondition('the sender is already a registered node (use UpdateNode)');
      // Stake is locked from the balance, so a node cannot claim weight it does not hold.
      if (r.stake > sender.balance) precondition(`stake ${r.stake} exceeds the balance ${sender.balance}`);
      sender.balance -= r.stake;
      sender.node = {
        id: Buffer.from(tx.sender),
        vrfPublicKey: Buffer.from(r.vrfPublicKey),
        endpoint: r.endpoint,
        stake: r.stake,
        roles: [...r.roles],
        reputationPpm: FULL_REPUTATION,
        balance: 0n,
      };
      await syncStorerSet(state, tx.sender, sender.node.roles);
      break;
    }
    case 'updateNode': {
      const u = body.value;
      const node: NodeRecord | undefined = sender.node;
      if (node === undefined) precondition('the sender is not a registered node (use RegisterNode)');
      const n = { ...node! };
      if (u.vrfPublicKey !== undefined) n.vrfPublicKey = Buffer.from(u.vrfPublicKey);
      if (u.endpoint !== undefined) n.endpoint = u.endpoint;
      if (u.roles !== undefined) n.roles = [...u.roles.roles];
      if (u.stake !== undefined) {
        const delta = u.stake - n.stake;
        if (delta > sender.balance) precondition(`raising stake by ${delta} exceeds the balance ${sender.balance}`);
        sender.balance -= delta;
        n.stake = u.stake;
      }
      sender.node = n;
      await syncStorerSet(state, tx.sender, n.roles);
      break;
    }
    case 'reward':
      await applyReward(stx, state, ctx, sender);
      break;
    case 'repair':
      await applyRepair(body.value, state, ctx, sender, id);
      break;
  }
  writeAccount(state, sender);
}

/**
 * A Reward (docs/rewards.md): verified from finalized chain data alone (lib/chain/reward.ts
 * verifyRewardTx: timing, challenge seed, the sender's rewards-verifier credential, tallies against
 * the audited block's commitments, every sampled branch), each audited round rewarded once (state key
 * rewardedRoundKey(A) holds the round of the block that rewarded it), then rewardEffects: valid
 * answers credit AccountRecord.balance, every tallied storer's node.reputation_ppm moves by the rule.
 * `sender` is written by the caller afterwards, so its own effects (a verifier that is also a tallied
 * storer) go into that object.
 */
async function applyReward(stx: SignedTransaction, state: StateOverlay, ctx: BlockContext, sender: AccountRecord): Promise<void> {
  const tx = stx.tx!;
  if (tx.body?.$case !== 'reward') return;
  const r = tx.body.value;
  const rules = ctx.rules;
  const audited = r.auditedRound <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.auditedRound) : -1;
  // Async reads first; verifyRewardTx itself is synchronous and pure.
  const newChunks = audited >= 1 && audited < ctx.round ? await rules.newChunksAt(audited) : null;
  const node = sender.node;
  const verifier = node !== undefined && node.roles.includes(NodeRole.NODE_ROLE_REWARDS) ? { vrfPublicKey: new Uint8Array(node.vrfPublicKey), stake: node.stake } : undefined;
  // Standing audits: the selection of reward round R from seed(R − 1) over the state after block R − 1
  // (verifyRewardTx checks that the Reward's standing section is exactly it).
  const rewardRound = audited >= 1 ? audited + rules.rewards.params.auditDepth : -1;
  let standing: readonly StandingTarget[] | null = null;
  if (rules.rewards.params.standingAudits > 0 && rewardRound >= 2 && rewardRound <= ctx.round) {
    const prevSeed = rules.seedAt(rewardRound - 1);
    const at = prevSeed === null ? null : await rules.stateAt(rewardRound - 1);
    if (prevSeed !== null && at !== null) standing = await standingSelection(prevSeed, rewardRound, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, rules.rewards.params.standingAudits);
  }
  const verdict = verifyRewardTx(stx, {
    round: ctx.round,
    params: rules.rewards.params,
    seedAt: (round) => rules.seedAt(round),
    newChunksAt: (round) => (round === audited ? newChunks : null),
    lookupVerifier: (id) => (eq(id, tx.sender) ? verifier : undefined),
    totalVerifierStake: rules.rewards.totalVerifierStake,
    standingAt: (round) => (round === rewardRound ? standing : null),
  });
  if (!verdict.ok) precondition(`Reward: ${verdict.reason}`);
  const mark = rewardedRoundKey(r.auditedRound);
  const done = await state.get(mark);
  if (done !== null) precondition(`Reward: round ${r.auditedRound} was already rewarded (in block ${Buffer.from(done).readBigUInt64BE(0)})`);
  state.put(mark, u64be(BigInt(ctx.round)));
  const accounts = new Map<string, AccountRecord>();
  for (const t of [...r.tallies, ...r.standing]) {
    const id = hex(t.storerId);
    if (!accounts.has(id)) accounts.set(id, eq(t.storerId, tx.sender) ? sender : await readAccount(state, t.storerId));
  }
  const effects = rewardEffects(r, (id) => accounts.get(hex(id))?.node?.reputationPpm, rules.rewards.params.rewardPerValid);
  for (const e of effects) {
    const a = accounts.get(hex(e.storerId))!;
    a.balance += e.credit;
    // Reputation lives in the node record; an account without one (not a registered node) only earns.
    if (a.node !== undefined) a.node = { ...a.node, reputationPpm: e.reputationPpm };
    if (a !== sender) writeAccount(state, a);
  }
}

async function requireOwner(state: StateReader, owner: string, sender: Uint8Array): Promise<void> {
  const rec = await readName(state, owner);
  if (rec === null) precondition(`name "${owner}" is not registered (SetName first)`);
  if (!eq(rec!.owner, sender)) precondition(`name "${owner}" is owned by ${hex(rec!.owner)}, not the sender`);
}

export function hasRole(a: AccountRecord, role: NodeRole): boolean {
  return a.node !== undefined && a.node.roles.includes(role);
}

/** Keeps the storer set (STORER_SET_KEY) in step with a node record's roles: a storer is in it, others are not. */
async function syncStorerSet(state: StateOverlay, id: Uint8Array, roles: readonly NodeRole[]): Promise<void> {
  const next = updatedStorerSet(decodeStorerSet(await state.get(STORER_SET_KEY)), id, roles.includes(NodeRole.NODE_ROLE_STORER));
  if (next !== null) state.put(STORER_SET_KEY, encodeStorerSet(next));
}

/** Registries by state root (a finalized state never changes); shared by the mempool and blocks. */
const registries = new Map<string, Promise<StorerRegistry>>();

export async function registryAt(rules: LedgerRules, round: number): Promise<StorerRegistry | null> {
  const at = await rules.stateAt(round);
  if (at === null) return null;
  const key = `${round}/${hex(at.root)}`;
  let p = registries.get(key);
  if (!p) {
    p = storerRegistryFromState(round, (k) => at.state.get(k));
    registries.set(key, p);
    p.catch(() => registries.delete(key));
    while (registries.size > 64) registries.delete(registries.keys().next().value!);
  }
  return p;
}

async function applySetKey(k: SetKey, state: StateOverlay, ctx: BlockContext, sender: Uint8Array, id: Uint8Array): Promise<void> {
  await requireOwner(state, k.owner, sender);
  // A first SetKey into a collection creates it with the network's defaults (what `wolk put` users
  // expect); SetBucket beforehand chooses other settings (N, chunk size, size limit).
  let bucket = await readBucket(state, k.owner, k.collection);
  if (bucket === null) {
    bucket = { owner: k.owner, collection: k.collection, settings: { replication: 0, maxFileSize: 0n, chunkSize: 0 }, round: BigInt(ctx.round) };
    state.put(pathStateKey(k.owner, k.collection), BucketRecord.encode(bucket).finish());
  }
  const settings = bucket.settings;
  const n = settings?.replication || ctx.rules.defaultReplication;
  const chunkSize = settings?.chunkSize || ctx.rules.defaultChunkSize;
  const file = k.file!;
  if (file.chunkSize !== chunkSize) precondition(`file chunk_size ${file.chunkSize} is not the collection's ${chunkSize}`);
  const max = settings?.maxFileSize ?? 0n;
  if (max > 0n && file.size > max) precondition(`file of ${file.size} bytes exceeds the collection's limit ${max}`);
  if (k.commitments.length !== n) precondition(`expected exactly ${n} storage commitments (distinct storers), got ${k.commitments.length}`);

  const gateway = await readAccount(state, k.gatewayId);
  if (!hasRole(gateway, NodeRole.NODE_ROLE_GATEWAY)) precondition(`co-signer ${hex(k.gatewayId)} is not a registered gateway`);

  const idHex = ctx.rules.verified ? hex(id) : '';
  for (const [index, c] of k.commitments.entries()) {
    const storer = await readAccount(state, c.storerId);
    if (!hasRole(storer, NodeRole.NODE_ROLE_STORER)) precondition(`storer ${hex(c.storerId)} is not a registered storer`);
    await checkCommitment(c, file, ctx, idHex, index);
  }
  state.put(
    pathStateKey(k.owner, k.collection, k.key),
    KeyRecord.encode({
      owner: k.owner,
      collection: k.collection,
      key: k.key,
      file,
      contentType: k.contentType,
      commitments: k.commitments,
      txId: Buffer.from(id),
      round: BigInt(ctx.round),
    }).finish(),
  );
}

/**
 * One storage commitment for `file` against chain data (the SetKey rule, also a Repair's new
 * commitments): its seed_round is a recent finalized round before the block and `seed` that round's
 * seed; the signature, VRF proof and sortition weight hold against the registry of the seed round
 * (lib/chain/commitment.ts verifyStorageCommitment). `idHex`/`index` key the verified-commitment cache
 * (the transaction id and the commitment's position; '' = no cache).
 */
/**
 * A commitment's seed and the storer registry it is weighed against: the seed must be that of a
 * finalized round before the block's, and the registry is stake × reputation as of the state after
 * block seed_round. FAILED_PRECONDITION otherwise.
 */
export async function seedAndRegistry(c: StorageCommitment, ctx: BlockContext): Promise<{ seed: Uint8Array; registry: StorerRegistry }> {
  const who = hex(c.storerId);
  const seed = ctx.rules.seedAt(Number(c.seedRound));
  if (seed === null || Number(c.seedRound) >= ctx.round) precondition(`storer ${who}: seed_round ${c.seedRound} is not a recent finalized round`);
  if (!eq(seed!, c.seed)) precondition(`storer ${who}: seed is not the seed of round ${c.seedRound}`);
  const registry = await registryAt(ctx.rules, Number(c.seedRound));
  if (registry === null) precondition(`storer ${who}: the state of round ${c.seedRound} is not known here`);
  return { seed: seed!, registry: registry! };
}

export async function checkCommitment(c: StorageCommitment, file: FileInfo, ctx: BlockContext, idHex: string, index: number): Promise<void> {
  const who = hex(c.storerId);
  const { seed, registry } = await seedAndRegistry(c, ctx);
  // The signature, VRF proof and weight against this round's registry may have passed on this node already.
  const cacheKey = ctx.rules.verified && idHex !== '' ? commitmentKey(idHex, index, c.seedRound, registry.totalWeight, ctx.rules.storers.expectedSize) : null;
  if (cacheKey !== null && ctx.rules.verified!.has(cacheKey)) return;
  // lib/chain/commitment.ts is the one rule every service applies (storer, gateway, here, rewards).
  const verdict = verifyStorageCommitment(c, {
    lookupStorer: (id) => registry.lookup(id),
    totalWeight: registry.totalWeight,
    expectedSize: ctx.rules.storers.expectedSize,
    seed,
    filehash: file.filehash,
    seedRound: c.seedRound,
    size: file.size,
    chunkSize: file.chunkSize,
  });
  if (!verdict.ok) precondition(`storer ${who}: ${verdict.reason}`);
  if (cacheKey !== null) ctx.rules.verified!.add(cacheKey);
}
