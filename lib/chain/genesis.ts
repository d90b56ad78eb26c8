// The genesis file every node of one network shares (WOLK_GENESIS): the network's name and first seed,
// its parameters and the initial registry of nodes with their keys, endpoints, roles and stake. The
// devnet launcher writes one; in Kubernetes it is a ConfigMap.
import { readFileSync } from 'node:fs';
import { fromHex } from '../crypto/hash.js';
import { repairParamsProblem, type RepairParams } from './repair.js';
import { porepParamsProblem, type PorepNetworkParams } from './sealed.js';
import { standingAuditsProblem } from './standing.js';

export type GenesisRole = 'storer' | 'consensus' | 'rewards' | 'gateway' | 'indexer';

export interface GenesisNode {
  /** Hex Ed25519 public key (32 bytes). */
  readonly id: string;
  /** Hex RFC 9381 VRF public key (32 bytes). */
  readonly vrfPublicKey: string;
  /** HOST:PORT of its gRPC server. */
  readonly endpoint: string;
  readonly roles: readonly GenesisRole[];
  /** Stake units (a decimal string, so it survives JSON without precision loss). */
  readonly stake: string;
}

/** A balance the network starts with (Algorand's genesis allocation): what a node registered later stakes from. */
export interface GenesisAccount {
  /** Hex Ed25519 public key (32 bytes). */
  readonly id: string;
  /** Base units (a decimal string). */
  readonly balance: string;
}

export interface GenesisParams {
  /** N: storers that commit to each file. */
  readonly replication: number;
  /** Expected number of storers sortition selects per file (≥ N so that N commit with high probability). */
  readonly storerCommitteeSize: number;
  readonly chunkSize: number;
  /** Agreement λ in ms. */
  readonly lambdaMs: number;
  /** Q: rounds back the rewards verifier audits. */
  readonly auditDepth: number;
  /**
   * Proof of replication (docs/porep.md "Sectors"): when present, storers seal every file into
   * pre-labelled sectors of `sectorBytes`, commitments must carry a sealed replica of this shape and
   * consensus verifiers check a seal proof before their cert vote. Absent: commitments are unsealed
   * (the replica_root leaf tree only), as before sealing existed.
   */
  readonly porep?: PorepNetworkParams;
  /**
   * Repair (docs/repair.md): the reputation below which a storer's commitments are not live, and the
   * most Repairs per block. Absent, or a field left out: lib/chain/repair.ts DEFAULT_REPAIR_PARAMS.
   */
  readonly repair?: Partial<RepairParams>;
  /**
   * Standing audits per Reward (docs/rewards.md "Standing audits"): (storer, key) pairs of the current
   * state each Reward audits besides its block, 0 to lib/chain/standing.ts MAX_STANDING_AUDITS.
   * Absent: 0, as before they existed.
   */
  readonly standingAudits?: number;
  /**
   * Rounds after its reward round R in which a Reward may still be included (lib/chain/reward.ts
   * RewardParams.maxDelay; docs/rewards.md "Inclusion window"), 1 to MAX_REWARD_MAX_DELAY. The window
   * must outlast the verifier's audit with containment (its re-audits take seconds of wall time), or a
   * Reward whose audit contained a storer expires and nobody's answers of that block count.
   * Absent: DEFAULT_REWARD_PARAMS.maxDelay (8).
   */
  readonly rewardMaxDelay?: number;
}

export interface Genesis {
  readonly network: string;
  /** Hex 32-byte seed of round 0. */
  readonly seed: string;
  readonly timestampMs: number;
  readonly params: GenesisParams;
  readonly nodes: readonly GenesisNode[];
  /** Optional starting balances (a genesis node's account may have one too). */
  readonly accounts?: readonly GenesisAccount[];
}

const HEX32 = /^[0-9a-f]{64}$/;
/** Largest genesis params.rewardMaxDelay: the rewarder reads up to maxDelay + 1 blocks to find a Reward. */
export const MAX_REWARD_MAX_DELAY = 1024;

/** Checks a parsed genesis; errors say which field is wrong. */
export function validateGenesis(value: unknown, source = 'genesis'): Genesis {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (typeof value !== 'object' || value === null) fail('expected a JSON object');
  const g = value as Record<string, unknown>;
  if (typeof g['network'] !== 'string' || g['network'] === '') fail('"network" must be a non-empty string');
  if (typeof g['seed'] !== 'string' || !HEX32.test(g['seed'])) fail('"seed" must be 64 lowercase hex characters');
  if (typeof g['timestampMs'] !== 'number') fail('"timestampMs" must be a number');
  const p = g['params'] as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') fail('"params" is missing');
  for (const k of ['replication', 'storerCommitteeSize', 'chunkSize', 'lambdaMs', 'auditDepth']) {
    if (!Number.isInteger(p![k]) || (p![k] as number) <= 0) fail(`"params.${k}" must be a positive integer`);
  }
  if (p!['porep'] !== undefined) {
    const problem = porepParamsProblem(p!['porep']);
    if (problem) fail(`"params.porep": ${problem}`);
  }
  if (p!['repair'] !== undefined) {
    const problem = repairParamsProblem(p!['repair']);
    if (problem) fail(`"params.repair": ${problem}`);
  }
  if (p!['standingAudits'] !== undefined) {
    const problem = standingAuditsProblem(p!['standingAudits']);
    if (problem) fail(`"params.standingAudits": ${problem}`);
  }
  if (p!['rewardMaxDelay'] !== undefined) {
    const v = p!['rewardMaxDelay'];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_REWARD_MAX_DELAY) fail(`"params.rewardMaxDelay" must be an integer from 1 to ${MAX_REWARD_MAX_DELAY}, got ${String(v)}`);
  }
  if (!Array.isArray(g['nodes']) || g['nodes'].length === 0) fail('"nodes" must be a non-empty array');
  const ids = new Set<string>();
  (g['nodes'] as unknown[]).forEach((n, i) => {
    const node = n as Record<string, unknown>;
    if (typeof node['id'] !== 'string' || !HEX32.test(node['id'])) fail(`nodes[${i}].id must be 64 hex characters`);
    if (ids.has(node['id'] as string)) fail(`nodes[${i}].id is listed twice`);
    ids.add(node['id'] as string);
    if (typeof node['vrfPublicKey'] !== 'string' || !HEX32.test(node['vrfPublicKey'])) fail(`nodes[${i}].vrfPublicKey must be 64 hex characters`);
    if (typeof node['endpoint'] !== 'string' || !/^[^:]+:\d+$/.test(node['endpoint'])) fail(`nodes[${i}].endpoint must be HOST:PORT`);
    if (!Array.isArray(node['roles']) || node['roles'].length === 0) fail(`nodes[${i}].roles must be a non-empty array`);
    if (typeof node['stake'] !== 'string' || !/^\d+$/.test(node['stake'])) fail(`nodes[${i}].stake must be a decimal string`);
  });
  if (g['accounts'] !== undefined) {
    if (!Array.isArray(g['accounts'])) fail('"accounts" must be an array');
    const funded = new Set<string>();
    (g['accounts'] as unknown[]).forEach((a, i) => {
      const acc = (a ?? {}) as Record<string, unknown>;
      if (typeof acc['id'] !== 'string' || !HEX32.test(acc['id'])) fail(`accounts[${i}].id must be 64 hex characters`);
      if (funded.has(acc['id'] as string)) fail(`accounts[${i}].id is listed twice`);
      funded.add(acc['id'] as string);
      if (typeof acc['balance'] !== 'string' || !/^\d+$/.test(acc['balance']) || BigInt(acc['balance']) >= 1n << 64n) fail(`accounts[${i}].balance must be a decimal string below 2^64`);
    });
  }
  return value as Genesis;
}

/** The genesis balance of an account (0 when it has none). */
export function genesisBalance(genesis: Genesis, idHex: string): bigint {
  const a = genesis.accounts?.find((x) => x.id === idHex);
  return a ? BigInt(a.balance) : 0n;
}

export function loadGenesis(path: string): Genesis {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`WOLK_GENESIS: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`WOLK_GENESIS: ${path} is not JSON (${(err as Error).message})`);
  }
  return validateGenesis(parsed, path);
}

/** Nodes with a role, and their total stake: what sortition weighs against. */
export function nodesWithRole(genesis: Genesis, role: GenesisRole): { nodes: GenesisNode[]; totalStake: bigint } {
  const nodes = genesis.nodes.filter((n) => n.roles.includes(role));
  return { nodes, totalStake: nodes.reduce((sum, n) => sum + BigInt(n.stake), 0n) };
}

export function genesisSeed(genesis: Genesis): Uint8Array {
  return fromHex(genesis.seed);
}
