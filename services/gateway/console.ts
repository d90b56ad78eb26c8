// The web console (docs/console.md) under /console/: the page and its bundle (dist/console, built by
// console/build.mjs) and the small JSON reads it makes, /console/api/..., answered from consensus
// (GetStatus of every node, GetBlock), the indexer (ListNodes, GetFileLocations) and the blocks the
// console's chain watch has read (console-chain.ts). Errors are problem+json; a source the gateway is
// not configured with is 503 saying which, never made-up data.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { NodeRole } from '../../gen/wolk/common/v1/node.js';
import { KeyRecord, NameRecord } from '../../gen/wolk/common/v1/state.js';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import { IndexerServiceClient, type ListNodesResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { Step, committeeOf, committeesOfGenesis } from '../../lib/chain/certificate.js';
import { NAME_RE, pathStateKey } from '../../lib/chain/state-keys.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import { parseWolkUri } from '../../lib/client/uri.js';
import { reconnectChannelOptions, unaryCall } from '../../lib/grpc/client.js';
import { sendJson } from '../../lib/http/problem.js';
import { createChainWatch, TX_KINDS, type ChainWatch } from './console-chain.js';
import type { ApiContext, Routed } from './context.js';
import { grpcCode } from '../../lib/grpc/errors.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { HttpProblem, problem, toProblem } from './problems.js';

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('hex');

/** Where the built console is: dist/console from the source tree, or beside dist/services. */
function consoleDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [join(here, '..', '..', 'dist', 'console'), join(here, '..', '..', 'console')]) {
    if (existsSync(join(d, 'index.html')) && existsSync(join(d, 'app.js'))) return d;
  }
  return undefined;
}

const STATIC: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json',
  'style.css': 'text/css; charset=utf-8',
};

// The page loads nothing from elsewhere: no CDN, no fonts, no inline script.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** A path segment decoded, or 400 for a malformed %-escape (decodeURIComponent throws URIError). */
function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw problem(400, 'bad-path', 'Bad Request', `"${raw}" is not a valid URL path segment (a malformed %-escape)`);
  }
}

/** Why a node did not answer, in words: gRPC's own message for UNAVAILABLE is a resolver transcript. */
function unreachable(err: unknown, timeoutMs: number): string {
  const code = grpcCode(err);
  const why = (err as Error).message;
  if (code === grpcStatus.UNAVAILABLE) return /ECONNREFUSED/.test(why) ? 'not answering (connection refused)' : 'not answering';
  if (code === grpcStatus.DEADLINE_EXCEEDED) return `no answer within ${timeoutMs / 1000} s`;
  return why;
}

const notFound = (detail: string) => problem(404, 'not-found', 'Not Found', detail);
const noIndexer = () => problem(503, 'indexer-unavailable', 'Service Unavailable', 'this gateway has no indexer (WOLK_INDEXER), which answers storer and file queries');

export type ConsoleDeps = ApiContext;

export interface ConsoleRoutes {
  handle(r: Routed): Promise<void>;
}

export function createConsole(ctx: ConsoleDeps): ConsoleRoutes {
  const dir = consoleDir();
  let indexerClient: IndexerServiceClient | undefined;
  const indexer = (): IndexerServiceClient => {
    if (!ctx.indexer) throw noIndexer();
    return (indexerClient ??= new IndexerServiceClient(ctx.indexer.endpoint, credentials.createInsecure(), reconnectChannelOptions));
  };
  const watch: ChainWatch = createChainWatch({
    endpoints: () => ctx.chain.endpoints,
    consensus: (e) => ctx.clients.consensusNode(e),
    tip: async (signal) => (await ctx.chain.status(signal)).finalizedRound,
    logger: ctx.logger,
    clock: ctx.clock,
  });

  async function serveStatic(r: Routed, name: string): Promise<void> {
    const type = STATIC[name];
    if (!type) throw notFound(`no console file ${name}`);
    if (!dir) throw problem(503, 'console-not-built', 'Service Unavailable', 'the console is not built: run `npm run build:console` (npm ci runs it)');
    const body = await readFile(join(dir, name));
    r.res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
    r.res.end(r.req.method === 'HEAD' ? undefined : body);
  }

  /** Every consensus node's own status (round, period, mempool, peers); one that does not answer says so. */
  async function validators(signal: AbortSignal) {
    return Promise.all(
      ctx.chain.endpoints.map(async (endpoint) => {
        try {
          const c = ctx.clients.consensusNode(endpoint);
          const s = await unaryCall(c.getStatus.bind(c), {}, { endpoint, timeoutMs: 2000, signal });
          return {
            endpoint,
            live: true,
            id: hex(s.nodeId),
            finalizedRound: s.finalizedRound.toString(),
            currentRound: s.currentRound.toString(),
            currentPeriod: s.currentPeriod.toString(),
            mempool: s.mempoolSize,
            peers: s.peers.length,
            peersConnected: s.peers.filter((p) => p.connected).length,
          };
        } catch (err) {
          return { endpoint, live: false, error: unreachable(err, 2000) };
        }
      }),
    );
  }

  async function network(signal: AbortSignal) {
    const status = await ctx.chain.status(signal);
    watch.touch();
    // The first answer waits briefly for the watch's first blocks, so a fresh page has a chart.
    await watch.caughtUp(status.finalizedRound, 3000);
    const v = watch.view();
    const nodes = await validators(signal);
    const stakes = new Map((ctx.genesis?.nodes ?? []).filter((n) => n.roles.includes('consensus')).map((n) => [n.id, n.stake]));
    const blocks = v.blocks.slice(-60);
    const span = blocks.length > 1 ? blocks.at(-1)!.timestampMs - blocks[0]!.timestampMs : 0;
    const txs = blocks.slice(1).reduce((n, b) => n + b.txs, 0);
    // The watch may already hold a block finalized after the status answer: the tip is the later one.
    const newest = v.blocks.at(-1);
    const tip = newest && BigInt(newest.round) > status.finalizedRound ? { round: newest.round, hash: newest.hash } : { round: status.finalizedRound.toString(), hash: hex(status.finalizedHash) };
    return {
      chainId: status.chainId,
      tip,
      watchedFrom: v.fromRound.toString(),
      rounds: blocks.map((b, i) => ({ round: b.round, hash: b.hash, timestampMs: b.timestampMs, roundMs: i > 0 ? b.timestampMs - blocks[i - 1]!.timestampMs : null, txs: b.txs, voters: b.voters.length, period: b.period })),
      txPerSecond: span > 0 ? txs / (span / 1000) : 0,
      windowRounds: blocks.length,
      mempool: nodes.reduce((m, n) => Math.max(m, 'mempool' in n ? (n.mempool ?? 0) : 0), 0),
      validators: nodes.map((n) => ({ ...n, stake: 'id' in n ? (stakes.get(n.id!) ?? null) : null, votes: 'id' in n ? (v.votes.get(n.id!) ?? { inWindow: 0, lastRound: null }) : null })),
      voteWindow: v.blocks.length,
    };
  }

  async function blockJson(cb: CertifiedBlock) {
    const header = cb.block?.header;
    const cert = cb.certificate;
    const threshold = ctx.genesis ? committeeOf(committeesOfGenesis(ctx.genesis), Step.cert).threshold : null;
    const weight = (cert?.votes ?? []).reduce((w, v) => w + (v.credential?.weight ?? 0), 0);
    const nc = cb.block?.newChunks;
    return {
      round: (header?.round ?? 0n).toString(),
      hash: hex(cb.blockHash),
      header: {
        previousHash: hex(header?.previousHash),
        seed: hex(header?.seed),
        proposer: hex(header?.proposerId),
        originalPeriod: (header?.originalPeriod ?? 0n).toString(),
        stateRoot: hex(header?.stateRoot),
        txRoot: hex(header?.txRoot),
        newChunksHash: hex(header?.newChunksHash),
        chunkCommitmentsHash: hex(header?.chunkCommitmentsHash),
        timestampMs: Number(header?.timestampMs ?? 0n),
      },
      certificate: {
        round: (cert?.round ?? 0n).toString(),
        period: (cert?.period ?? 0n).toString(),
        blockHash: hex(cert?.blockHash),
        weight,
        threshold,
        votes: (cert?.votes ?? []).map((v) => ({ voter: hex(v.voterId), step: Number(v.step), weight: v.credential?.weight ?? 0 })),
        equivocations: cert?.equivocations.length ?? 0,
      },
      txs: (cb.block?.txs ?? []).map((stx) => {
        const body = stx.tx?.body;
        const kind = body ? (TX_KINDS[body.$case] ?? body.$case) : 'unknown';
        const what =
          body?.$case === 'setKey'
            ? `wolk://${body.value.owner}/${body.value.collection}/${body.value.key} (${body.value.file?.size ?? 0n} bytes, ${body.value.commitments.length} storers)`
            : body?.$case === 'setName'
              ? `name ${body.value.name}`
              : body?.$case === 'setBucket'
                ? `wolk://${body.value.owner}/${body.value.collection}/`
                : body?.$case === 'reward'
                  ? `audit of round ${body.value.auditedRound}: ${body.value.tallies.length} storers, ${body.value.standing.length} standing`
                  : body?.$case === 'registerNode' || body?.$case === 'updateNode'
                    ? `node ${hex(stx.tx?.sender)}${body.value.endpoint ? ` at ${body.value.endpoint}` : ''}`
                    : body?.$case === 'repair'
                      ? `${body.value.chunkSetRound > 0n ? `chunk set of block ${body.value.chunkSetRound}` : `wolk://${body.value.owner}/${body.value.collection}/${body.value.key}`}: ${body.value.commitments.length} storer(s) replaced`
                      : '';
        return { id: hex(txId(stx)), kind, sender: hex(stx.tx?.sender), nonce: (stx.tx?.nonce ?? 0n).toString(), what };
      }),
      chunks: {
        chunkIds: nc?.chunkIds.length ?? 0,
        files: (nc?.files ?? []).map((f) => ({ filehash: hex(f.file?.filehash), size: (f.file?.size ?? 0n).toString(), storers: f.commitments.map((c) => ({ storer: hex(c.storerId), replicaRoot: hex(c.replicaRoot), weight: c.weight })) })),
        chunkCommitments: (nc?.chunkCommitments ?? []).map((c) => ({ storer: hex(c.storerId), replicaRoot: hex(c.replicaRoot), weight: c.weight })),
        // Earlier blocks' chunk sets this block's Repairs restored (docs/repair.md §9).
        repairedChunkSets: (nc?.repairedChunkSets ?? []).map((r) => ({ round: r.round.toString(), chunkIds: r.chunkIds.length, storers: r.commitments.map((c) => ({ storer: hex(c.storerId), replicaRoot: hex(c.replicaRoot), weight: c.weight })) })),
      },
    };
  }

  async function block(selector: { $case: 'round'; value: bigint } | { $case: 'hash'; value: Buffer }, signal: AbortSignal) {
    const endpoints = ctx.chain.endpoints;
    let last: unknown;
    for (const endpoint of endpoints) {
      try {
        const c = ctx.clients.consensusNode(endpoint);
        const r = await unaryCall(c.getBlock.bind(c), { selector }, { endpoint, timeoutMs: 3000, signal });
        if (r.block) return blockJson(r.block);
      } catch (err) {
        last = err;
      }
    }
    throw notFound(`no finalized block ${selector.$case === 'round' ? `at round ${selector.value}` : `with hash ${hex(selector.value)}`}${last ? ` (${(last as Error).message})` : ''}`);
  }

  async function search(q: string, signal: AbortSignal) {
    const s = q.trim().toLowerCase();
    if (/^\d{1,19}$/.test(s)) return { kind: 'block', round: s };
    if (/^[0-9a-f]{64}$/.test(s)) {
      watch.touch();
      const round = watch.view().roundOfTx(s);
      if (round !== undefined) return { kind: 'tx', round: round.toString(), txid: s };
      const b = await block({ $case: 'hash', value: Buffer.from(s, 'hex') }, signal).catch(() => undefined);
      if (b) return { kind: 'block', round: b.round };
      const v = watch.view();
      throw notFound(`${s} is neither a block hash nor the id of a transaction in rounds ${v.fromRound}–${v.lastRound}`);
    }
    throw problem(400, 'bad-search', 'Bad Request', 'search for a round number, a block hash or a transaction id (64 hex characters)');
  }

  async function listNodes(role: NodeRole, signal: AbortSignal) {
    const c = indexer();
    const out: ListNodesResponse['nodes'] = [];
    let pageToken = '';
    do {
      const r = await unaryCall(c.listNodes.bind(c), { role, pageSize: 1000, pageToken }, { endpoint: ctx.indexer!.endpoint, timeoutMs: 3000, signal });
      out.push(...r.nodes);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return out;
  }

  async function storers(signal: AbortSignal) {
    watch.touch();
    const nodes = await listNodes(NodeRole.NODE_ROLE_STORER, signal);
    const v = watch.view();
    const rows = await Promise.all(
      nodes.map(async (n) => {
        const id = hex(n.id);
        const h = v.storers.get(id);
        let live = false;
        let stored: { files: string; bytesUsed: string } | null = null;
        try {
          const c = ctx.clients.storer(n.endpoint);
          const info = await unaryCall(c.getInfo.bind(c), {}, { endpoint: n.endpoint, timeoutMs: 1500, signal });
          live = hex(info.storerId) === id;
          stored = { files: (info.stats?.files ?? 0n).toString(), bytesUsed: (info.stats?.bytesUsed ?? 0n).toString() };
        } catch {
          live = false;
        }
        return {
          id,
          endpoint: n.endpoint,
          stake: n.stake.toString(),
          balance: n.balance.toString(),
          reputationPpm: n.reputationPpm,
          live,
          stored,
          audits: h?.audits ?? { valid: 0, invalid: 0, unreachable: 0 },
          latestAudits: h?.latest ?? [],
          reputation: h?.reputation ?? [],
          filesCommitted: h?.files.size ?? 0,
        };
      }),
    );
    return { watchedFrom: v.fromRound.toString(), watchedTo: v.lastRound.toString(), historyFromGenesis: v.fromGenesis, storers: rows };
  }

  async function file(uri: string, signal: AbortSignal) {
    let u;
    try {
      u = parseWolkUri(uri.trim());
    } catch (err) {
      throw problem(400, 'bad-uri', 'Bad Request', (err as Error).message);
    }
    if (!u.collection || !u.key) throw problem(400, 'bad-uri', 'Bad Request', `expected wolk://OWNER/COLLECTION/KEY, got "${uri}"`);
    const state = await ctx.chain.state(pathStateKey(u.owner, u.collection, u.key), signal);
    if (!state.value) throw notFound(`no key wolk://${u.owner}/${u.collection}/${u.key} as of round ${state.round}`);
    const rec = KeyRecord.decode(state.value);
    watch.touch();
    const v = watch.view();
    let locations: { id: string; endpoint: string; reputationPpm: number }[] | null = null;
    let indexerError: string | undefined;
    if (ctx.indexer) {
      try {
        const c = indexer();
        const r = await unaryCall(c.getFileLocations.bind(c), { filehash: Buffer.from(rec.file?.filehash ?? []) }, { endpoint: ctx.indexer.endpoint, timeoutMs: 2000, signal });
        locations = r.locations.map((l) => ({ id: hex(l.storerId), endpoint: l.endpoint, reputationPpm: l.reputationPpm }));
      } catch (err) {
        indexerError = (err as Error).message;
      }
    }
    return {
      uri: `wolk://${u.owner}/${u.collection}/${u.key}`,
      owner: u.owner,
      collection: u.collection,
      key: u.key,
      filehash: hex(rec.file?.filehash),
      size: (rec.file?.size ?? 0n).toString(),
      chunkSize: rec.file?.chunkSize ?? 0,
      contentType: rec.contentType,
      round: rec.round.toString(),
      txid: hex(rec.txId),
      asOfRound: state.round.toString(),
      storers: rec.commitments.map((c) => {
        const id = hex(c.storerId);
        const loc = locations?.find((l) => l.id === id);
        return {
          id,
          endpoint: loc?.endpoint ?? null,
          reputationPpm: loc?.reputationPpm ?? null,
          replicaRoot: hex(c.replicaRoot),
          weight: c.weight,
          seedRound: c.seedRound.toString(),
          latestAudits: v.storers.get(id)?.latest.slice(0, 3) ?? [],
        };
      }),
      ...(indexerError ? { indexerError } : {}),
    };
  }

  /**
   * Who owns a name. Unlike GET /wolk/{name} (404 when unclaimed), a free name is an answer here, not an
   * error: the upload page asks before claiming, and a browser logs every 404 it fetches as an error.
   */
  async function name(n: string, signal: AbortSignal) {
    if (!NAME_RE.test(n)) throw problem(400, 'bad-name', 'Bad Request', `a name is 1–63 of a-z, 0-9 and "-", not starting or ending with "-"; got "${n}"`);
    const state = await ctx.chain.state(pathStateKey(n), signal);
    const rec = state.value ? NameRecord.decode(state.value) : null;
    return { name: n, claimed: rec !== null, owner: rec ? hex(rec.owner) : null, round: rec ? rec.round.toString() : null, asOfRound: state.round.toString() };
  }

  function events(r: Routed): void {
    r.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    r.res.write('retry: 2000\n\n');
    const unsubscribe = watch.subscribe((b) => r.res.write(`event: block\ndata: ${JSON.stringify({ round: b.round, hash: b.hash, timestampMs: b.timestampMs, txs: b.txs })}\n\n`));
    const keepAlive = setInterval(() => r.res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    r.res.once('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  }

  /** A gRPC failure of a source as problem+json: not built 501, not answering 503, anything else 502. */
  function rpcProblem(err: unknown): unknown {
    if (toProblem(err)) return err;
    const code = grpcCode(err);
    if (code === undefined) return err;
    const why = (err as Error).message;
    if (code === grpcStatus.UNIMPLEMENTED) return problem(501, 'not-implemented', 'Not Implemented', `a service the console asks has not built this yet: ${why}`);
    if (code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED) return problem(503, 'source-unavailable', 'Service Unavailable', why);
    if (code === grpcStatus.NOT_FOUND) return notFound(why);
    return problem(502, 'source-error', 'Bad Gateway', why);
  }

  return {
    async handle(r) {
      try {
        await route(r);
      } catch (err) {
        throw rpcProblem(err);
      }
    },
  };

  async function route(r: Routed): Promise<void> {
    {
      const method = r.req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') throw new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: 'the console is read-only: use GET' }, { allow: 'GET, HEAD' });
      const path = r.rawPath;
      if (path === '/console') {
        r.res.writeHead(308, { location: '/console/' });
        return void r.res.end();
      }
      if (path === '/console/') return serveStatic(r, 'index.html');
      const api = /^\/console\/api\/(.*)$/.exec(path);
      if (!api) return serveStatic(r, path.slice('/console/'.length));
      const [what, ...rest] = api[1]!.split('/');
      const signal = r.signal;
      switch (what) {
        case 'network':
          return sendJson(r.res, 200, await network(signal));
        case 'events':
          return events(r);
        case 'blocks': {
          const arg = segment(rest.join('/'));
          if (/^\d{1,19}$/.test(arg)) return sendJson(r.res, 200, await block({ $case: 'round', value: BigInt(arg) }, signal));
          if (/^[0-9a-f]{64}$/.test(arg)) return sendJson(r.res, 200, await block({ $case: 'hash', value: Buffer.from(arg, 'hex') }, signal));
          throw problem(400, 'bad-block', 'Bad Request', `a block is a round number or a 64-hex block hash, got "${arg}"`);
        }
        case 'search':
          return sendJson(r.res, 200, await search(r.query.get('q') ?? '', signal));
        case 'storers':
          return sendJson(r.res, 200, await storers(signal));
        case 'file':
          return sendJson(r.res, 200, await file(r.query.get('uri') ?? '', signal));
        case 'names':
          return sendJson(r.res, 200, await name(segment(rest.join('/')), signal));
        case 'genesis':
          if (!ctx.genesis) throw problem(501, 'no-genesis', 'Not Implemented', 'this gateway was started without WOLK_GENESIS, so it cannot hand the network\'s genesis to the console');
          return sendJson(r.res, 200, ctx.genesis);
        default:
          throw notFound(`no console API ${what}`);
      }
    }
  }
}
