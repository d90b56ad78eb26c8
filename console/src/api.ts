// The console's reads from its own gateway: JSON, or problem+json turned into a readable error.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `the gateway did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, `the gateway answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const p = body as { title?: string; detail?: string };
    throw new ApiError(res.status, `${res.status} ${p.title ?? ''}: ${p.detail ?? ''}`.trim());
  }
  return body as T;
}

export interface NetworkView {
  chainId: string;
  tip: { round: string; hash: string };
  watchedFrom: string;
  rounds: { round: string; hash: string; timestampMs: number; roundMs: number | null; txs: number; voters: number; period: string }[];
  txPerSecond: number;
  windowRounds: number;
  mempool: number;
  voteWindow: number;
  validators: {
    endpoint: string;
    live: boolean;
    id?: string;
    error?: string;
    finalizedRound?: string;
    currentRound?: string;
    currentPeriod?: string;
    mempool?: number;
    peers?: number;
    peersConnected?: number;
    stake: string | null;
    votes: { inWindow: number; lastRound: string | null } | null;
  }[];
}

export interface BlockView {
  round: string;
  hash: string;
  header: { previousHash: string; seed: string; proposer: string; originalPeriod: string; stateRoot: string; txRoot: string; newChunksHash: string; chunkCommitmentsHash: string; timestampMs: number };
  certificate: { round: string; period: string; blockHash: string; weight: number; threshold: number | null; votes: { voter: string; step: number; weight: number }[]; equivocations: number };
  txs: { id: string; kind: string; sender: string; nonce: string; what: string }[];
  chunks: { chunkIds: number; files: { filehash: string; size: string; storers: { storer: string; replicaRoot: string; weight: number }[] }[]; chunkCommitments: { storer: string; replicaRoot: string; weight: number }[]; repairedChunkSets: { round: string; chunkIds: number; storers: { storer: string; replicaRoot: string; weight: number }[] }[] };
}

export interface Tally {
  round: string;
  auditedRound: string;
  valid: number;
  invalid: number;
  unreachable: number;
}

export interface StorersView {
  watchedFrom: string;
  watchedTo: string;
  historyFromGenesis: boolean;
  storers: {
    id: string;
    endpoint: string;
    stake: string;
    balance: string;
    reputationPpm: number;
    live: boolean;
    stored: { files: string; bytesUsed: string } | null;
    audits: { valid: number; invalid: number; unreachable: number };
    latestAudits: Tally[];
    reputation: { round: string; ppm: number }[];
    filesCommitted: number;
  }[];
}

export interface FileView {
  uri: string;
  owner: string;
  collection: string;
  key: string;
  filehash: string;
  size: string;
  chunkSize: number;
  contentType: string;
  round: string;
  txid: string;
  asOfRound: string;
  storers: { id: string; endpoint: string | null; reputationPpm: number | null; replicaRoot: string; weight: number; seedRound: string; latestAudits: Tally[] }[];
  indexerError?: string;
}

/** GET /console/api/names/{name}: a free name is an answer (claimed: false), not a 404. */
export interface NameView {
  name: string;
  claimed: boolean;
  owner: string | null;
  round: string | null;
  asOfRound: string;
}
