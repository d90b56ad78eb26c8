// What the web console (docs/console.md) shows about the chain's recent past, read from finalized
// blocks: the last rounds (time between them, transactions, certificate voters), each validator's cert
// votes in that window, each storer's audit tallies and reputation after each Reward, the files each
// storer committed to, and tx id → round for search. It follows StreamBlocks(follow) on one consensus
// node at a time, starting at most MAX_BACKFILL rounds back, and runs only while someone uses the
// console (started by a console request, stopped IDLE_MS after the last one with no live subscriber):
// a gateway nobody watches does no work for it.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { FULL_REPUTATION_PPM, nextReputation } from '../../lib/chain/reputation.js';
import { effectiveTallies } from '../../lib/chain/reward.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import { serverStream } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Clock } from './clock.js';

/** Rounds kept for the chart, the votes and tx/s. */
export const WINDOW = 120;
/** How far back a watch starts from the tip when it first starts. */
export const MAX_BACKFILL = 20_000;
/** A watch with no request and no subscriber for this long stops. */
export const IDLE_MS = 60_000;
const MAX_TXIDS = 200_000;
const MAX_REPUTATION_POINTS = 240;
const MAX_TALLIES = 8;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface BlockSummary {
  readonly round: string;
  readonly hash: string;
  readonly timestampMs: number;
  readonly proposer: string;
  readonly period: string;
  readonly txs: number;
  readonly kinds: Readonly<Record<string, number>>;
  readonly voters: readonly string[];
  readonly certWeight: number;
  readonly newFiles: number;
}

export interface StorerHistory {
  readonly audits: { valid: number; invalid: number; unreachable: number };
  /** The reputation after each Reward that named the storer (the rule of lib/chain/reputation.ts), from the first round watched. */
  readonly reputation: { round: string; ppm: number }[];
  /** The latest Reward tallies naming the storer, newest first. */
  readonly latest: { round: string; auditedRound: string; valid: number; invalid: number; unreachable: number }[];
  readonly files: Set<string>;
}

export interface ChainWatchView {
  /** The first round this watch read (0 = nothing yet). */
  readonly fromRound: bigint;
  /** The last round read. */
  readonly lastRound: bigint;
  readonly blocks: readonly BlockSummary[];
  readonly storers: ReadonlyMap<string, StorerHistory>;
  /** A validator's cert votes among `blocks`, and the last round it voted in. */
  readonly votes: ReadonlyMap<string, { inWindow: number; lastRound: string }>;
  roundOfTx(txidHex: string): bigint | undefined;
  /** Whether the reputation history starts at genesis (then its first value is full reputation). */
  readonly fromGenesis: boolean;
}

export interface ChainWatch {
  /** Marks the console as in use; starts following if it was not. */
  touch(): void;
  /** Calls `fn` on every new block until the returned function is called (keeps the watch running). */
  subscribe(fn: (b: BlockSummary) => void): () => void;
  view(): ChainWatchView;
  /** Waits for the first pass to reach `round` (or `timeoutMs`); true when it did. */
  caughtUp(round: bigint, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface ChainWatchDeps {
  /** The consensus nodes, read at each attempt (they follow DNS with WOLK_CONSENSUS_SRV). */
  readonly endpoints: () => readonly string[];
  readonly consensus: (endpoint: string) => ConsensusServiceClient;
  readonly tip: (signal: AbortSignal) => Promise<bigint>;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Kind names of transaction bodies as the console shows them. */
export const TX_KINDS: Readonly<Record<string, string>> = {
  setName: 'SetName',
  setBucket: 'SetBucket',
  setKey: 'SetKey',
  registerNode: 'RegisterNode',
  updateNode: 'UpdateNode',
  reward: 'Reward',
  repair: 'Repair',
};

export function createChainWatch(deps: ChainWatchDeps): ChainWatch {
  const blocks: BlockSummary[] = [];
  const storers = new Map<string, StorerHistory>();
  const votes = new Map<string, { inWindow: number; lastRound: string }>();
  const txRounds = new Map<string, bigint>();
  const subscribers = new Set<(b: BlockSummary) => void>();
  const waiters = new Set<() => void>();
  let fromRound = 0n;
  let lastRound = 0n;
  let fromGenesis = false;
  let lastTouch = 0;
  let controller: AbortController | undefined;
  let running: Promise<void> | undefined;

  const storerOf = (id: string): StorerHistory => {
    let s = storers.get(id);
    if (!s) storers.set(id, (s = { audits: { valid: 0, invalid: 0, unreachable: 0 }, reputation: [], latest: [], files: new Set() }));
    return s;
  };

  function apply(cb: CertifiedBlock): BlockSummary | undefined {
    const header = cb.block?.header;
    if (!header || header.round !== lastRound + 1n) return undefined;
    const round = header.round;
    const kinds: Record<string, number> = {};
    for (const stx of cb.block?.txs ?? []) {
      const kind = stx.tx?.body?.$case ?? 'unknown';
      kinds[TX_KINDS[kind] ?? kind] = (kinds[TX_KINDS[kind] ?? kind] ?? 0) + 1;
      txRounds.set(hex(txId(stx)), round);
      if (txRounds.size > MAX_TXIDS) txRounds.delete(txRounds.keys().next().value as string);
      const body = stx.tx?.body;
      if (body?.$case === 'setKey') {
        const fh = hex(body.value.file?.filehash ?? new Uint8Array());
        for (const c of body.value.commitments) storerOf(hex(c.storerId)).files.add(fh);
      }
      if (body?.$case === 'reward') {
        // Block tallies with the standing audits added, as the chain moves reputation (lib/chain/reward.ts).
        for (const t of effectiveTallies(body.value)) {
          const s = storerOf(hex(t.storerId));
          s.audits.valid += t.valid;
          s.audits.invalid += t.invalid;
          s.audits.unreachable += t.unreachable;
          s.latest.unshift({ round: round.toString(), auditedRound: body.value.auditedRound.toString(), valid: t.valid, invalid: t.invalid, unreachable: t.unreachable });
          if (s.latest.length > MAX_TALLIES) s.latest.pop();
          if (fromGenesis) {
            const before = s.reputation.at(-1)?.ppm ?? FULL_REPUTATION_PPM;
            s.reputation.push({ round: round.toString(), ppm: nextReputation(before, t) });
            if (s.reputation.length > MAX_REPUTATION_POINTS) s.reputation.shift();
          }
        }
      }
    }
    const cert = cb.certificate;
    const voters = [...new Set((cert?.votes ?? []).map((v) => hex(v.voterId)))];
    const summary: BlockSummary = {
      round: round.toString(),
      hash: hex(cb.blockHash),
      timestampMs: Number(header.timestampMs),
      proposer: hex(header.proposerId),
      period: (cert?.period ?? 0n).toString(),
      txs: cb.block?.txs.length ?? 0,
      kinds,
      voters,
      certWeight: (cert?.votes ?? []).reduce((w, v) => w + (v.credential?.weight ?? 0), 0),
      newFiles: cb.block?.newChunks?.files.length ?? 0,
    };
    blocks.push(summary);
    if (blocks.length > WINDOW) blocks.shift();
    votes.clear();
    for (const b of blocks) {
      for (const v of b.voters) {
        const e = votes.get(v);
        votes.set(v, { inWindow: (e?.inWindow ?? 0) + 1, lastRound: b.round });
      }
    }
    lastRound = round;
    return summary;
  }

  async function follow(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      if (deps.clock.now() - lastTouch > IDLE_MS && subscribers.size === 0) return;
      const list = deps.endpoints();
      const endpoint = list.length > 0 ? list[attempt % list.length]! : '';
      try {
        if (endpoint === '') throw new Error('no consensus endpoints yet');
        if (fromRound === 0n) {
          const tip = await deps.tip(signal);
          fromRound = tip > BigInt(MAX_BACKFILL) ? tip - BigInt(MAX_BACKFILL) + 1n : 1n;
          fromGenesis = fromRound === 1n;
          lastRound = fromRound - 1n;
        }
        const c = deps.consensus(endpoint);
        for await (const msg of serverStream(c.streamBlocks.bind(c), { fromRound: lastRound + 1n, follow: true }, { endpoint, signal })) {
          if (!msg.block) continue;
          const summary = apply(msg.block);
          if (!summary) continue;
          attempt = 0;
          for (const w of [...waiters]) w();
          for (const fn of [...subscribers]) fn(summary);
          if (deps.clock.now() - lastTouch > IDLE_MS && subscribers.size === 0) return;
        }
      } catch (err) {
        if (signal.aborted) return;
        deps.logger.debug('console: block stream ended', { endpoint, error: err });
      }
      attempt++;
      await deps.clock.sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)), signal);
    }
  }

  function start(): void {
    if (running) return;
    const c = new AbortController();
    controller = c;
    running = follow(c.signal).finally(() => {
      running = undefined;
      controller = undefined;
    });
  }

  return {
    touch() {
      lastTouch = deps.clock.now();
      start();
    },
    subscribe(fn) {
      subscribers.add(fn);
      this.touch();
      return () => {
        subscribers.delete(fn);
        lastTouch = deps.clock.now();
      };
    },
    view: () => ({ fromRound, lastRound, blocks, storers, votes, fromGenesis, roundOfTx: (id) => txRounds.get(id) }),
    async caughtUp(round, timeoutMs) {
      const deadline = deps.clock.now() + timeoutMs;
      while (lastRound < round && deps.clock.now() < deadline && running) {
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            clearTimeout(t);
            resolve();
          };
          const t = setTimeout(done, Math.max(1, deadline - deps.clock.now()));
          waiters.add(done);
        });
      }
      return lastRound >= round;
    },
    async stop() {
      controller?.abort();
      await running;
    },
  };
}
