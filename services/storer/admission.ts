// Write admission (issue 20.1; docs/storer.md "Write admission"): who may make this storer keep bytes.
//
// In `chain` admission (the default with a genesis) a storer keeps only what a node the chain registers
// asks for, in its role:
//   files     (SetFile, Solicit)     a gateway, or the rewards node (its repairer)
//   chunks    (SetShare, SetShares)  a consensus node (a proposer placing its block)
//   chunkSet  (CommitChunks)         a consensus node (a proposer's block), or the rewards node (its
//                                    repairer re-committing an older block's set, docs/repair.md §9);
//                                    the repairer pushes missing chunks inside CommitChunks, so it
//                                    needs no SetShare(s)
// The request names its requester and is signed by it (lib/chain/write-request.ts has the bytes);
// unsigned: UNAUTHENTICATED; a signature that does not verify: UNAUTHENTICATED; a key the chain does not
// register, or registers without the role: PERMISSION_DENIED. A Solicit's source must be the
// requester's registered endpoint, an address that endpoint's host name resolves to on the same port
// (a Kubernetes headless Service names every gateway pod), or the endpoint of a storer registered at
// the request's seed round (a repair copies from a holder), never an arbitrary address.
// Each requester then has a byte budget (a token bucket: WOLK_WRITE_BYTES_PER_S, WOLK_WRITE_BURST_BYTES);
// a write beyond it is RESOURCE_EXHAUSTED with the time to wait.
//
// `open` admission (the default without a genesis: a lone storer, tests) takes unsigned writes from
// anyone, checks a signature when one is given, and still applies the byte budget (unsigned writers
// share one).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { NodeRole } from '../../gen/wolk/common/v1/node.js';
import { SignDomain, verifySignature } from '../../lib/crypto/sign.js';
import { permissionDenied, resourceExhausted, unauthenticated, unavailable } from '../../lib/grpc/errors.js';
import { parseHostPort } from '../../lib/config/env.js';
import { createTokenBuckets, type TokenBuckets } from '../../lib/rate/token-bucket.js';
import type { Genesis, GenesisRole } from '../../lib/chain/genesis.js';

export type AdmissionMode = 'chain' | 'open';
export type WriteKind = 'file' | 'chunks' | 'chunkSet';

/** The roles whose nodes may write each kind. */
export const WRITER_ROLES: Readonly<Record<WriteKind, readonly NodeRole[]>> = {
  file: [NodeRole.NODE_ROLE_GATEWAY, NodeRole.NODE_ROLE_REWARDS],
  chunks: [NodeRole.NODE_ROLE_CONSENSUS],
  chunkSet: [NodeRole.NODE_ROLE_CONSENSUS, NodeRole.NODE_ROLE_REWARDS],
};

/** Who writes each kind, for messages. */
const WRITERS: Readonly<Record<WriteKind, string>> = {
  file: 'a gateway or the rewards node',
  chunks: 'a consensus node',
  chunkSet: 'a consensus node or the rewards node',
};
const WRITTEN_FOR: Readonly<Record<WriteKind, string>> = {
  file: 'files are written for gateways and the rewards node',
  chunks: 'chunks are written for consensus nodes',
  chunkSet: 'chunk sets are committed for consensus nodes and the rewards node',
};

const ROLE_NAME: Readonly<Record<number, string>> = {
  [NodeRole.NODE_ROLE_STORER]: 'storer',
  [NodeRole.NODE_ROLE_CONSENSUS]: 'consensus',
  [NodeRole.NODE_ROLE_REWARDS]: 'rewards',
  [NodeRole.NODE_ROLE_GATEWAY]: 'gateway',
};
const roleNames = (roles: readonly NodeRole[]) => (roles.length === 0 ? 'none' : roles.map((r) => ROLE_NAME[r] ?? `role ${r}`).join(', '));

/** What the chain says of a node: its roles and its registered gRPC endpoint. */
export interface KnownNode {
  readonly roles: readonly NodeRole[];
  readonly endpoint: string;
}

export interface AdmissionDeps {
  readonly mode: AdmissionMode;
  /** The chain's record of a node (latest finalized state, or the genesis); undefined: not registered. */
  readonly lookup: (id: Uint8Array) => Promise<KnownNode | undefined>;
  /** Endpoints of the storers registered at a seed round (a repair's source is one of them). */
  readonly storerEndpoints: (seedRound: bigint, seed: Uint8Array) => Promise<readonly string[]>;
  /** The addresses a host name resolves to (DNS); only asked for a name, never an IP literal. */
  readonly resolve: (host: string) => Promise<readonly string[]>;
  readonly now: () => number;
  /** Bytes a second each requester may write, and the most at once; bytesPerSecond 0: no limit. */
  readonly budget: { readonly bytesPerSecond: number; readonly burstBytes: number };
  /** How long a node record (or its absence) is trusted before it is read again. */
  readonly recordTtlMs?: number;
}

/** A write to admit: what it is, who signs it, and the signed bytes. */
export interface WriteRequest {
  readonly kind: WriteKind;
  /** The RPC, for messages (e.g. "SetFile"). */
  readonly rpc: string;
  readonly requesterId: Uint8Array;
  readonly signature: Uint8Array;
  readonly domain: SignDomain;
  /** The signed bytes (built only when there is a signature to check). */
  readonly message: () => Uint8Array;
}

/** An admitted writer: its id (hex; "unsigned" for an unsigned write in open admission) and, in chain admission, its record. */
export interface Writer {
  readonly id: string;
  readonly node: KnownNode | undefined;
}

const UNSIGNED = 'unsigned';
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const short = (id: string) => (id === UNSIGNED ? 'unsigned writers' : `requester ${id.slice(0, 16)}…`);

/** Node records kept (each a few hundred bytes). */
const RECORDS_KEPT = 4096;
const DEFAULT_RECORD_TTL_MS = 15_000;

export class Admission {
  private readonly records: LRUCache<string, Promise<KnownNode | null>>;
  /** Byte budgets by writer id (cost = bytes). */
  private readonly budgets: TokenBuckets;

  constructor(private readonly deps: AdmissionDeps) {
    this.records = new LRUCache({ max: RECORDS_KEPT, ttl: deps.recordTtlMs ?? DEFAULT_RECORD_TTL_MS, perf: { now: deps.now } });
    this.budgets = createTokenBuckets({ perSecond: deps.budget.bytesPerSecond, burst: deps.budget.burstBytes }, deps.now);
  }

  get mode(): AdmissionMode {
    return this.deps.mode;
  }

  /** The writer of `w`, or the refusal: UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE (the chain cannot be read). */
  async admit(w: WriteRequest): Promise<Writer> {
    const signed = w.requesterId.length > 0 || w.signature.length > 0;
    if (!signed) {
      if (this.deps.mode === 'open') return { id: UNSIGNED, node: undefined };
      throw unauthenticated(
        `${w.rpc}: an unsigned write is refused: this storer keeps only what a node the chain registers asks for (${WRITERS[w.kind]}), signed with its node key (requester_id, signature)`,
      );
    }
    if (w.requesterId.length !== 32) throw unauthenticated(`${w.rpc}: requester_id: expected 32 bytes, got ${w.requesterId.length}`);
    if (!verifySignature(w.domain, w.requesterId, w.message(), w.signature)) {
      throw unauthenticated(`${w.rpc}: the signature does not verify for requester_id ${hex(w.requesterId)} (domain ${w.domain})`);
    }
    const id = hex(w.requesterId);
    if (this.deps.mode === 'open') return { id, node: undefined };
    const node = await this.record(w.requesterId, id);
    if (!node) throw permissionDenied(`${w.rpc}: requester ${id} is not a node the chain registers, so this storer keeps nothing it asks for`);
    const allowed = WRITER_ROLES[w.kind];
    if (!node.roles.some((r) => allowed.includes(r))) {
      throw permissionDenied(`${w.rpc}: requester ${id} is registered with roles ${roleNames(node.roles)}; ${WRITTEN_FOR[w.kind]} (${roleNames(allowed)})`);
    }
    return { id, node };
  }

  /**
   * A Solicit's source, in chain admission: the writer's registered endpoint, an address its host name
   * resolves to (same port), or a storer registered at the seed round. PERMISSION_DENIED otherwise.
   */
  async checkSource(writer: Writer, source: string, seedRound: bigint, seed: Uint8Array): Promise<void> {
    if (this.deps.mode === 'open' || !writer.node) return;
    const own = writer.node.endpoint;
    if (source === own) return;
    if (await this.resolvesTo(own, source)) return;
    let storers: readonly string[];
    try {
      storers = await this.deps.storerEndpoints(seedRound, seed);
    } catch (err) {
      throw unavailable(`Solicit: cannot read the storers registered at round ${seedRound} to check source_endpoint ${source}: ${(err as Error).message}`);
    }
    if (storers.includes(source)) return;
    throw permissionDenied(
      `Solicit: source_endpoint ${source} is neither the requester's registered endpoint (${own || 'none'}), nor an address its host name resolves to, nor a storer registered at round ${seedRound}; this storer fetches only from those`,
    );
  }

  /** Charges `bytes` to the writer's budget; RESOURCE_EXHAUSTED (nothing charged) when it is spent. */
  charge(writer: Writer, bytes: number, rpc: string): void {
    const waitMs = this.budgets.take(writer.id, bytes);
    if (waitMs === 0) return;
    const { bytesPerSecond, burstBytes } = this.deps.budget;
    throw resourceExhausted(
      `${rpc}: ${short(writer.id)} wrote more than this storer takes from one writer (${burstBytes} bytes at once, ${bytesPerSecond} bytes a second: WOLK_WRITE_BURST_BYTES, WOLK_WRITE_BYTES_PER_S); ${bytes} bytes fit in ${Math.ceil(waitMs / 1000)} s`,
    );
  }

  private async record(id: Uint8Array, k: string): Promise<KnownNode | undefined> {
    let p = this.records.get(k);
    if (!p) {
      p = this.deps.lookup(id).then((n) => n ?? null);
      this.records.set(k, p);
      // A failed read is not remembered: the next request asks again.
      p.catch(() => this.records.delete(k));
    }
    try {
      return (await p) ?? undefined;
    } catch (err) {
      throw unavailable(`cannot read the chain's record of requester ${k} to admit its write: ${(err as Error).message}`);
    }
  }

  private async resolvesTo(registered: string, source: string): Promise<boolean> {
    let reg: { host: string; port: number };
    let src: { host: string; port: number };
    try {
      reg = parseHostPort(registered, 'endpoint');
      src = parseHostPort(source, 'source_endpoint');
    } catch {
      return false;
    }
    if (reg.port !== src.port || isIP(reg.host) !== 0 || isIP(src.host) === 0) return false;
    try {
      return (await this.deps.resolve(reg.host)).includes(src.host);
    } catch {
      return false;
    }
  }
}

const GENESIS_ROLE: Readonly<Record<GenesisRole, NodeRole | undefined>> = {
  storer: NodeRole.NODE_ROLE_STORER,
  consensus: NodeRole.NODE_ROLE_CONSENSUS,
  rewards: NodeRole.NODE_ROLE_REWARDS,
  gateway: NodeRole.NODE_ROLE_GATEWAY,
  indexer: undefined,
};

/** Node records from the genesis alone (a storer without WOLK_CONSENSUS). */
export function genesisNodes(genesis: Genesis): (id: Uint8Array) => Promise<KnownNode | undefined> {
  const byId = new Map(
    genesis.nodes.map((n) => [n.id, { endpoint: n.endpoint, roles: n.roles.flatMap((r) => (GENESIS_ROLE[r] === undefined ? [] : [GENESIS_ROLE[r]])) } satisfies KnownNode]),
  );
  return async (id) => byId.get(hex(id));
}

/** Every address a host name resolves to (IPv4 and IPv6). */
export async function resolveHost(host: string): Promise<readonly string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}
