// Storage checks in the cert step (DESIGN §4 step 6): before a node cert-votes a block, it challenges
// at least one storer per SetKey file with VerifyFile (a fresh random challenge, k leaves) and checks
// the signed FileAudit against that storer's commitment (lib/chain/commitment.ts verifyFileAudit:
// every leaf proven against the filehash and against the storer's own replica root). All files are
// checked in parallel within one time box. Per file (on a network without sealing), storers are challenged
// one at a time in a random order until `perFile` of them (default 1) prove possession: a storer that fails is logged and left to
// the rewards audit (its reputation), and the next one is asked. A file none of whose storers proves
// possession in time fails the check: the block is unvouched here (no soft or cert vote from this node).
// Failing the whole block on one lazy storer out of N made honest nodes split on it (each picks its own
// random storer), and a 2-2 split of next votes stalls agreement for good. A failed check is not final
// either: when a quorum stands behind the block, agreement asks for the check again (`recheck`, at most
// once per step; host.ts), and a pass there lets this node vote for it after all.
//
// Proof of replication (issue #15, docs/porep.md): on a network whose genesis names params.porep, the
// challenge is ProveSeal instead: a fresh random 32-byte challenge drawn here (the storer could not know
// it when it committed; every verifier draws its own), answered with a seal proof that
// lib/chain/sealed.ts verifySealAnswer checks against the commitment's sealed replica and the filehash.
// There every commitment of the file is challenged, side by side: one drawn at random with the network's
// full `sealChallenges`, the others with a spot check (SEAL_SPOT_CHALLENGES). A seal proof that does not
// verify is a verdict, not an outage: the block is not vouched for, whatever the other storers prove,
// and the refusal is recorded (seal-refusals.ts) so that this node, as proposer, leaves the transaction
// out and no longer takes that storer among a block's chunk-set committers. A wrong sealer (a replica
// over plain data, fewer layers or another identity's labels) is wrong at every node, so every verifier
// that asks refuses it, and its commitment cannot reach the chain (docs/porep.md "A wrong sealer is kept
// off the chain"). A storer that is down or late is still an outage: the file needs `perFile` proofs.
// A sealed network's blocks also carry storers' commitments to the block's own chunk set (CommitChunks,
// sealed like a file: docs/porep.md "Block chunk sets"); the set is checked as one more file, every
// committer with the spot check, its seal proof's data opened against the block's chunk ids
// (lib/chain/sealed.ts verifyChunkSetSealAnswer).
//
// Several candidate blocks of a round (and of its next periods, and re-checks) carry the same SetKeys:
// a commitment this node saw proven is not challenged again for `provenForMs` (30 s by default), and
// checks of one commitment running side by side share one challenge. On a sealed network each
// challenge is a ~1 MB seal proof built by the storer and checked here in ~0.1–0.25 s of CPU; repeating
// it per candidate block saturated a 2-core devnet under three concurrent uploads (storers answering
// past the time box, every block unvouched, a round a minute). A pass shows possession at the time of
// the challenge; 30 s is a few rounds. The proven commitments are bounded by count as well
// (`provenCapacity`, least recently used first out), so memory is bounded whatever the blocks name.
import { randomBytes, randomInt } from 'node:crypto';
import { credentials } from '@grpc/grpc-js';
import { LRUCache } from 'lru-cache';
import { StorerServiceClient, type VerifyFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { sha256 } from '../../lib/crypto/index.js';
import { askSealProof } from '../../lib/chain/seal-spot-check.js';
import { SEAL_SPOT_CHALLENGES } from '../../lib/chain/sealed.js';
import { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { verifyFileAudit } from '../../lib/chain/commitment.js';
import { ClientPool, toRpcError, unaryCall } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Block } from './agreement/types.js';
import type { BlockCheck } from './host.js';
import type { Ledger } from './ledger/ledger.js';
import { readAccount } from './ledger/state-view.js';
import { SealRefusals } from './seal-refusals.js';
import type { Payload } from './wire.js';

export interface StorageCheckOptions {
  readonly ledger: Ledger;
  readonly logger: Logger;
  /** The whole check's time box (ms). */
  readonly timeoutMs: number;
  /** Leaves per challenge. */
  readonly k?: number;
  /** Storers challenged per file (at least 1). */
  readonly perFile?: number;
  /** How long a commitment proven to this node is not challenged again (ms; default 30 000, 0: always). */
  readonly provenForMs?: number;
  /** Proven commitments remembered at most (least recently used first out; default 10 000). */
  readonly provenCapacity?: number;
  /** The clock for `provenForMs` (default Date.now). */
  readonly now?: () => number;
  /** Where refused seal proofs are recorded (shared with the proposer's side; default: a private record). */
  readonly refusals?: SealRefusals;
}

/** One storer's answer to one challenge: proven, an outage (no usable answer in time), or a refused proof. */
type Outcome = { readonly kind: 'proven' } | { readonly kind: 'outage' | 'refused'; readonly why: string };
const PROVEN: Outcome = { kind: 'proven' };

const DEFAULT_PROVEN_FOR_MS = 30_000;
const DEFAULT_PROVEN_CAPACITY = 10_000;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function createStorageCheck(o: StorageCheckOptions): BlockCheck {
  const clients = new ClientPool((endpoint) => new StorerServiceClient(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 }));
  const k = o.k ?? 4;
  const perFile = Math.max(1, o.perFile ?? 1);
  const provenForMs = o.provenForMs ?? DEFAULT_PROVEN_FOR_MS;
  const now = o.now ?? Date.now;
  const provenCapacity = o.provenCapacity ?? DEFAULT_PROVEN_CAPACITY;
  const refusals = o.refusals ?? new SealRefusals({ now });
  /** The network's proof-of-replication parameters (genesis, fixed for the node's life): sealed networks challenge with ProveSeal. */
  const porep = o.ledger.genesis.params.porep;
  if (!Number.isInteger(provenCapacity) || provenCapacity < 1) throw new RangeError(`storage check: provenCapacity must be a positive integer, got ${provenCapacity}`);
  /** Commitments proven to this node (digest of the whole commitment and the challenge count → until when it counts). */
  const proven = new LRUCache<string, number>({ max: provenCapacity });
  /** Challenges in flight, by the same key. */
  const inFlight = new Map<string, Promise<Outcome>>();
  const keyOf = (c: StorageCommitment, sealK: number) => `${hex(sha256(StorageCommitment.encode(c).finish()))}/${sealK}`;

  /** `challenge`, skipped for a commitment proven lately (or refused) and shared with a check of it in flight. */
  function challengeOnce(c: StorageCommitment, sealK: number, deadline: number, signal: AbortSignal, chunkIds?: readonly Uint8Array[]): Promise<Outcome> {
    const refusal = refusals.refused(c);
    if (refusal) return Promise.resolve({ kind: 'refused', why: `storer ${refusal.storer.slice(0, 16)}: ${refusal.reason} (refused earlier)` });
    const key = keyOf(c, sealK);
    const until = proven.get(key);
    if (until !== undefined) {
      if (until > now()) return Promise.resolve(PROVEN);
      proven.delete(key);
    }
    const running = inFlight.get(key);
    if (running) return running;
    const p = challenge(c, sealK, deadline, signal, chunkIds).then((out) => {
      if (out.kind === 'proven' && provenForMs > 0) proven.set(key, now() + provenForMs);
      if (out.kind === 'refused') refusals.refuse(c, out.why);
      return out;
    });
    inFlight.set(key, p);
    void p.finally(() => inFlight.delete(key)).catch(() => undefined);
    return p;
  }

  /** One storer's proof for one commitment; `chunkIds` when it is a commitment to the block's chunk set; `sealK` on a sealed network. */
  async function challenge(c: StorageCommitment, sealK: number, deadline: number, signal: AbortSignal, chunkIds?: readonly Uint8Array[]): Promise<Outcome> {
    const who = hex(c.storerId).slice(0, 16);
    const acct = await readAccount(o.ledger.latestState(), c.storerId);
    const endpoint = acct.node?.endpoint;
    if (!endpoint) return { kind: 'outage', why: `storer ${who} has no registered endpoint` };
    const client = clients.get(endpoint);
    if (porep) {
      const r = await askSealProof(c, porep, (req) => unaryCall(client.proveSeal.bind(client), req, { endpoint, deadline, signal }), { k: sealK, ...(chunkIds ? { chunkIds } : {}) });
      if (!r.ok) return r.refused ? { kind: 'refused', why: `storer ${who}: ${r.reason}` } : { kind: 'outage', why: `storer ${who} at ${endpoint}: ${r.reason}` };
      o.logger.info('seal proof verified', { [chunkIds ? 'chunkSet' : 'file']: hex(c.filehash).slice(0, 16), storer: who, challenges: sealK, proofBytes: r.proofBytes, answerMs: Math.round(r.answerMs), verifyMs: Math.round(r.verifyMs) });
      return PROVEN;
    }
    const nonce = randomBytes(32);
    let res: VerifyFileResponse;
    try {
      res = await unaryCall(client.verifyFile.bind(client), { filehash: c.filehash, challenge: nonce, k }, { endpoint, deadline, signal });
    } catch (err) {
      return { kind: 'outage', why: `storer ${who} at ${endpoint}: ${toRpcError(err).details}` };
    }
    if (!res.audit) return { kind: 'outage', why: `storer ${who} returned no audit` };
    const v = verifyFileAudit(res.audit, c, nonce, k);
    return v.ok ? PROVEN : { kind: 'outage', why: `storer ${who}: ${v.reason}` };
  }

  /**
   * A sealed network: every commitment challenged at once, one drawn at random with the full count (none
   * for a chunk set), the others spot-checked. Any refused proof fails the file; else `perFile` proofs pass it.
   */
  async function checkSealed(sealed: { readonly sealChallenges: number }, commitments: readonly StorageCommitment[], deadline: number, signal: AbortSignal, chunkIds?: readonly Uint8Array[]): Promise<string | null> {
    if (commitments.length === 0) return null; // nothing to prove (the ledger refuses a SetKey without its N)
    const spot = Math.min(sealed.sealChallenges, SEAL_SPOT_CHALLENGES);
    const full = chunkIds ? -1 : randomInt(0, commitments.length);
    const outcomes = await Promise.all(commitments.map((c, i) => challengeOnce(c, i === full ? sealed.sealChallenges : spot, deadline, signal, chunkIds)));
    const refused = outcomes.filter((r) => r.kind === 'refused');
    if (refused.length > 0) return refused.map((r) => (r as { why: string }).why).join('; ');
    const proven = outcomes.filter((r) => r.kind === 'proven').length;
    if (proven >= Math.min(perFile, commitments.length)) return null;
    for (const r of outcomes) if (r.kind === 'outage') o.logger.warn('a storer did not answer its storage challenge', { reason: r.why });
    return outcomes.map((r) => (r.kind === 'outage' ? r.why : '')).filter(Boolean).join('; ') || 'no storer proved possession within the time box';
  }

  return async (block: Block, payload: Payload, signal: AbortSignal) => {
    // SetKey files, and each Repair's new commitments (docs/repair.md §8): a replacement proves it holds
    // the file before the repair is vouched for, as an upload's storers do.
    const files: { commitments: readonly StorageCommitment[]; chunkIds?: readonly Uint8Array[] }[] = payload.txs.flatMap((t) => {
      const body = t.tx?.body;
      if (body?.$case === 'setKey') return [{ commitments: body.value.commitments }];
      // A chunk set's Repair (docs/repair.md §9) is checked below, as the chunk set it restores.
      if (body?.$case === 'repair') return body.value.chunkSetRound > 0n ? [] : [{ commitments: body.value.commitments }];
      return [];
    });
    // The block's chunk set, and the earlier blocks' chunk sets its Repairs restore (their new storers),
    // on a sealed network (on others, and for an empty set, its commitments carry no replica to prove).
    const nc = payload.newChunks;
    if (porep && nc && nc.chunkIds.length > 0 && nc.chunkCommitments.length > 0) files.push({ commitments: nc.chunkCommitments, chunkIds: nc.chunkIds });
    if (porep) for (const rs of nc?.repairedChunkSets ?? []) if (rs.chunkIds.length > 0) files.push({ commitments: rs.commitments, chunkIds: rs.chunkIds });
    if (files.length === 0) return null;
    const deadline = Date.now() + o.timeoutMs;
    const checkFile = async (commitments: readonly StorageCommitment[], chunkIds?: readonly Uint8Array[]): Promise<string | null> => {
      if (porep) return checkSealed(porep, commitments, deadline, signal, chunkIds);
      // Which storers are challenged, and in what order, is drawn locally at random, so a storer cannot
      // tell in advance.
      const pool = [...commitments];
      const failures: string[] = [];
      let proven = 0;
      while (proven < perFile && pool.length > 0 && Date.now() < deadline && !signal.aborted) {
        const out = await challengeOnce(pool.splice(randomInt(0, pool.length), 1)[0]!, 0, deadline, signal, chunkIds);
        if (out.kind === 'proven') proven++;
        else {
          failures.push(out.why);
          o.logger.warn('a storer failed its storage challenge; asking another', { round: block.round, reason: out.why });
        }
      }
      if (proven >= Math.min(perFile, commitments.length)) return null;
      return failures.length > 0 ? failures.join('; ') : 'no storer proved possession within the time box';
    };
    const results = await Promise.all(files.map((f) => checkFile(f.commitments, f.chunkIds)));
    const bad = results.find((r) => r !== null) ?? null;
    if (bad !== null) o.logger.warn('storage check failed', { round: block.round, reason: bad });
    return bad;
  };
}
