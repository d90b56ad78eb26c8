// Stand-ins for consensus and storers, served over real gRPC on ephemeral ports, so the gateway's
// whole flow (signed PUT → Solicit → commitments → SetKey → finality → verified GET) runs in one test
// process until the real services land. They follow the contracts: a real sparse Merkle tree for
// state proofs, real Ed25519 commitments, real multiproofs on GetFile(with_proofs).
import type { ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceService, type StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { StorerServiceService, type GetFileResponse } from '../../../gen/wolk/storer/v1/storer.js';
import { BucketRecord, KeyRecord, NameRecord } from '../../../gen/wolk/common/v1/state.js';
import { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import type { Block, BlockHeader } from '../../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { createGrpcServer, type WolkGrpcServer } from '../../../lib/grpc/server.js';
import { WolkError, type ErrorCode } from '../../../lib/grpc/errors.js';
import { createLogger, silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { SparseMerkleTree } from '../../../lib/smt/index.js';
import { smtProofToProto } from '../../../lib/chain/smt-proof.js';
import { EMPTY } from '../../../lib/smt/node.js';
import { MerkleTree, hashFile, leafHash } from '../../../lib/merkle/index.js';
import { SignDomain, sign, verifySignature } from '../../../lib/crypto/sign.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { verifyUserSignature } from '../../../lib/client/tx.js';
import { accountStateKey, pathStateKey } from '../../../lib/chain/state-keys.js';
import { cosignBytes, txId } from '../../../lib/chain/tx-bytes.js';
import { testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/gateway/fakes.ts');

/**
 * Each stand-in consensus is its own chain with its own id: a client process keeps one nonce allocator
 * per (chain id, key) (lib/client/nonces.ts), so two fresh chains under one id in one test process would
 * share nonces that only one of them has seen spent.
 */
let chains = 0;

export interface FakeConsensus {
  readonly endpoint: string;
  /** This chain's id (GetStatus answers it; transactions signed for it carry it). */
  readonly chainId: string;
  readonly submitted: SignedTransaction[];
  readonly blocks: Block[];
  close(): Promise<void>;
}

export interface FakeConsensusOptions {
  /** Finalize an empty block this often, as a real chain does every round (default: blocks only for transactions). */
  readonly emptyRoundMs?: number;
}

export async function startFakeConsensus(options: FakeConsensusOptions = {}): Promise<FakeConsensus> {
  const chainId = `wolk-test-${++chains}`;
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  let root: Uint8Array = EMPTY;
  // The next nonce of each sender counting accepted transactions (SubmitTx checks it), and as of the
  // latest block (what GetAccount answers: an account at the latest finalized block).
  const nonces = new Map<string, bigint>();
  const finalNonces = new Map<string, bigint>();
  const submitted: SignedTransaction[] = [];
  const blocks: Block[] = [];
  const header = (round: bigint): BlockHeader => ({
    round,
    previousHash: Buffer.alloc(32),
    seed: Buffer.alloc(32, Number(round % 251n)),
    proposerId: Buffer.alloc(32),
    originalPeriod: 0n,
    proposerCredential: undefined,
    stateRoot: Buffer.from(root),
    txRoot: Buffer.alloc(32),
    newChunksHash: Buffer.alloc(32),
    timestampMs: 0n,
    chunkCommitmentsHash: Buffer.alloc(0),
  });
  blocks.push({ header: header(0n), txs: [], newChunks: undefined });
  // Blocks are appended one at a time (the tree update is asynchronous), each at the next round.
  let appending = Promise.resolve();
  const appendBlock = (txs: SignedTransaction[], changes: ((round: bigint) => { key: Uint8Array; value: Uint8Array })[], applied = () => {}) => {
    appending = appending.then(async () => {
      const round = BigInt(blocks.length);
      if (changes.length) root = await tree.update(root, changes.map((c) => c(round)));
      applied();
      blocks.push({ header: header(round), txs, newChunks: undefined });
    });
  };
  // A real chain finalizes a round about every λ whether or not anything was submitted.
  const ticker = options.emptyRoundMs ? setInterval(() => appendBlock([], []), options.emptyRoundMs) : undefined;
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    async getStatus() {
      const r = BigInt(blocks.length - 1);
      return { nodeId: Buffer.alloc(32), chainId, finalizedRound: r, finalizedHash: Buffer.alloc(32), currentRound: r + 1n, currentPeriod: 0n, peers: [], mempoolSize: 0 };
    },
    async getBlock(req) {
      const r = req.selector?.$case === 'round' ? Number(req.selector.value) : -1;
      const b = blocks[r];
      if (!b) throw new WolkError('NOT_FOUND', 'no such round');
      return { block: { block: b, certificate: undefined, blockHash: Buffer.alloc(32) } };
    },
    async getStateProof(req) {
      const p = await tree.prove(root, req.key);
      const value = await tree.get(root, req.key);
      return {
        proof: smtProofToProto(req.key, value, root, p),
        header: blocks[blocks.length - 1]!.header!,
        certificate: undefined,
      };
    },
    async getAccount(req) {
      return { account: { publicKey: req.publicKey, nonce: finalNonces.get(req.publicKey.toString('hex')) ?? 0n, balance: 0n, node: undefined }, round: BigInt(blocks.length - 1) };
    },
    async submitTx(req) {
      const stx = req.tx!;
      const tx = stx.tx!;
      if (!verifyUserSignature(stx)) throw new WolkError('INVALID_ARGUMENT', 'bad sender signature');
      const sender = tx.sender.toString('hex');
      if (tx.nonce !== (nonces.get(sender) ?? 0n)) throw new WolkError('FAILED_PRECONDITION', `wrong nonce ${tx.nonce}`);
      const id = txId(stx);
      // Records carry the round of the block that finalizes them, known once it is appended.
      const changes: ((round: bigint) => { key: Uint8Array; value: Uint8Array })[] = [];
      if (tx.body?.$case === 'setName') {
        const k = pathStateKey(tx.body.value.name);
        if (await tree.get(root, k)) throw new WolkError('FAILED_PRECONDITION', 'name taken');
        const { name, owner } = tx.body.value;
        changes.push((round) => ({ key: k, value: NameRecord.encode({ name, owner, round }).finish() }));
      } else if (tx.body?.$case === 'setKey') {
        const sk = tx.body.value;
        if (!verifySignature(SignDomain.GatewayCosign, sk.gatewayId, cosignBytes(tx), sk.gatewaySignature)) throw new WolkError('INVALID_ARGUMENT', 'bad gateway co-signature');
        changes.push((round) => ({
          key: pathStateKey(sk.owner, sk.collection, sk.key),
          value: KeyRecord.encode({ owner: sk.owner, collection: sk.collection, key: sk.key, file: sk.file, contentType: sk.contentType, commitments: sk.commitments, txId: Buffer.from(id), round }).finish(),
        }));
      } else if (tx.body?.$case === 'setBucket') {
        const b = tx.body.value;
        changes.push((round) => ({ key: pathStateKey(b.owner, b.collection), value: BucketRecord.encode({ owner: b.owner, collection: b.collection, settings: b.settings, round }).finish() }));
      } else throw new WolkError('INVALID_ARGUMENT', 'unsupported transaction');
      nonces.set(sender, tx.nonce + 1n);
      changes.push(() => ({ key: accountStateKey(tx.sender), value: Buffer.from(String(tx.nonce + 1n)) }));
      submitted.push(stx);
      // "Finalize" a little later, like a real round.
      setTimeout(() => appendBlock([stx], changes, () => finalNonces.set(sender, tx.nonce + 1n)), 50);
      return { txId: Buffer.from(id) };
    },
    async *streamBlocks(req): AsyncIterable<StreamBlocksResponse> {
      for (const b of blocks.slice(Number(req.fromRound))) yield { block: { block: b, certificate: undefined, blockHash: Buffer.alloc(32) } };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    endpoint: `127.0.0.1:${port}`,
    chainId,
    submitted,
    blocks,
    close: async () => {
      clearInterval(ticker);
      await appending;
      await server.shutdown(0);
    },
  };
}

export interface FakeStorer {
  readonly endpoint: string;
  readonly id: Uint8Array;
  readonly files: Map<string, Buffer>;
  solicits: number;
  /** Bytes received from upload sources while answering Solicits. */
  fetched: number;
  /** GetFile calls answered (started). */
  reads: number;
  /**
   * 'corrupt-reads' flips a byte of every GetFile piece; 'stall-reads' sends a GetFile's first piece
   * and then nothing until the caller gives up; 'refuse' answers not_selected.
   */
  fault: 'none' | 'corrupt-reads' | 'stall-reads' | 'refuse' | 'bad-commitment';
  close(): Promise<void>;
}

const PIECE_CHUNKS = 16;

/**
 * A file's Merkle tree, built once per file and chunk size as a storer keeps its leaves: built per
 * GetFile it made every call hash the whole file before its first byte, which on a starved CPU (other
 * test files labelling sectors) outlasted the readers' 500 ms stall timeout.
 */
const trees = new WeakMap<Buffer, Map<number, MerkleTree>>();
function treeOf(bytes: Buffer, C: number): MerkleTree {
  let byC = trees.get(bytes);
  if (!byC) trees.set(bytes, (byC = new Map()));
  let tree = byC.get(C);
  if (!tree) {
    tree = MerkleTree.fromLeaves(Array.from({ length: Math.ceil(bytes.length / C) }, (_, i) => leafHash(bytes.subarray(i * C, (i + 1) * C))));
    byC.set(C, tree);
  }
  return tree;
}

export async function startFakeStorer(): Promise<FakeStorer> {
  const key = seeded.keyPair();
  const clients = new Clients();
  const files = new Map<string, Buffer>();
  const chunkSizes = new Map<string, number>();
  const server: WolkGrpcServer = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  const self: FakeStorer = {
    endpoint: '',
    id: key.publicKey,
    files,
    solicits: 0,
    fetched: 0,
    reads: 0,
    fault: 'none',
    close: async () => {
      clients.close();
      await server.shutdown(0);
    },
  };
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async getInfo() {
      return { storerId: Buffer.from(key.publicKey), vrfPublicKey: Buffer.alloc(32), endpoint: self.endpoint, stats: undefined };
    },
    async solicit(req, ctx) {
      self.solicits++;
      const file = req.file!;
      if (self.fault === 'refuse') return { result: { $case: 'notSelected', value: { storerId: Buffer.from(key.publicKey), vrfPublicKey: Buffer.alloc(32), vrf: undefined } } };
      // Fetch from the source (the gateway's GetFile) and check the filehash, as a storer must.
      const c = clients.storer(req.sourceEndpoint);
      const parts: Buffer[] = [];
      for await (const m of c.getFile({ filehash: file.filehash, withProofs: false }) as AsyncIterable<GetFileResponse>) {
        if (ctx.signal.aborted) throw new WolkError('CANCELLED', 'cancelled');
        parts.push(m.data);
        self.fetched += m.data.length;
      }
      const bytes = Buffer.concat(parts);
      const d = hashFile(bytes, file.chunkSize);
      if (!Buffer.from(d.filehash).equals(file.filehash)) throw new WolkError('INVALID_ARGUMENT', 'fetched bytes do not match the filehash');
      files.set(file.filehash.toString('hex'), bytes);
      chunkSizes.set(file.filehash.toString('hex'), file.chunkSize);
      const unsigned: StorageCommitment = {
        storerId: Buffer.from(key.publicKey),
        vrfPublicKey: Buffer.alloc(32),
        vrf: { proof: Buffer.alloc(80), output: Buffer.alloc(64) },
        weight: 1,
        replicaRoot: seeded.bytes(32),
        filehash: file.filehash,
        size: file.size,
        chunkSize: file.chunkSize,
        seed: req.seed,
        seedRound: req.seedRound,
        signature: Buffer.alloc(0),
      };
      const signature = sign(SignDomain.Commitment, key.secretKey, StorageCommitment.encode(unsigned).finish());
      const commitment = { ...unsigned, signature: Buffer.from(self.fault === 'bad-commitment' ? seeded.bytes(64) : signature) };
      return { result: { $case: 'selected', value: commitment } };
    },
    async *getFile(req, ctx): AsyncIterable<GetFileResponse> {
      self.reads++;
      const bytes = files.get(req.filehash.toString('hex'));
      if (!bytes) throw new WolkError('NOT_FOUND', 'no such file');
      const C = chunkSizes.get(req.filehash.toString('hex')) ?? 4096;
      const n = Math.ceil(bytes.length / C);
      const tree = treeOf(bytes, C);
      const start = Math.floor(Number(req.offset ?? 0n) / C);
      const endByte = req.length === undefined ? bytes.length : Math.min(bytes.length, Number(req.offset ?? 0n) + Number(req.length));
      const endChunk = Math.ceil(endByte / C);
      let first = true;
      for (let i = start; i < endChunk; i += PIECE_CHUNKS) {
        const j = Math.min(endChunk, i + PIECE_CHUNKS);
        const indices = Array.from({ length: j - i }, (_, k) => i + k);
        let data = Buffer.from(bytes.subarray(i * C, Math.min(bytes.length, j * C)));
        if (self.fault === 'corrupt-reads') {
          data = Buffer.from(data);
          data[0]! ^= 0xff;
        }
        yield {
          offset: BigInt(i * C),
          data,
          info: undefined,
          treeRoot: first ? Buffer.from(tree.root()) : undefined,
          proof: { leafIndices: indices.map(BigInt), leafCount: BigInt(n), nodes: tree.multiproof(indices).hashes.map((h) => Buffer.from(h)) },
        };
        first = false;
        if (self.fault === 'stall-reads') {
          await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
          return;
        }
      }
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  (self as { endpoint: string }).endpoint = `127.0.0.1:${port}`;
  return self;
}

export function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && 'code' in e;
}

/** A stand-in consensus node whose SubmitTx answers `code` (or accepts); counts the calls. */
export async function submitAnswering(code: ErrorCode | null): Promise<{ endpoint: string; calls: () => number; close(): Promise<void> }> {
  const server = createGrpcServer({ logger: createLogger({ level: 'error', write: () => undefined }), maxMessageBytes: 1024 * 1024 });
  let calls = 0;
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    submitTx: async () => {
      calls++;
      if (code !== null) throw new WolkError(code, code === 'RESOURCE_EXHAUSTED' ? 'the mempool is full; retry later' : 'refused');
      return { txId: Buffer.alloc(32, 7) };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, calls: () => calls, close: () => server.shutdown(100) };
}
