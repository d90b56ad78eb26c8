// The chaos soak's reclamation check (issue 20.3 "every storer's reclaimable space is reclaimed";
// docs/storer.md "Space reclamation"): once the faults and the load have stopped and the storers'
// WOLK_RECLAIM_AFTER_MS has passed, each storer holds exactly the files the chain names it for. Seen
// from outside: the indexer's ListStorerKeys (the keys whose current commitments include the storer,
// as of the indexer's round) gives the distinct filehashes and their sizes; the storer's GetInfo file
// count must equal their number, and the file bytes on its disk (its blob directory) their total.
import { credentials } from '@grpc/grpc-js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IndexerServiceClient } from '../../gen/wolk/indexer/v1/indexer.js';
import { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { unaryCall } from '../../lib/grpc/client.js';
import type { SoakCluster } from './cluster.js';

/** Bytes of the files under a directory, recursively (`du --apparent-size`); 0 when it does not exist. */
export function bytesUnder(dir: string): number {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return n;
}

/** Where a storer process keeps file bytes (blob-fs under WOLK_DATA_DIR). */
export const fileBytesDir = (dataDir: string) => join(dataDir, 'blobs', 'objects');

export interface StorerHoldings {
  readonly name: string;
  /** GetInfo: files held, and the file bytes on its disk. */
  readonly files: number;
  readonly diskBytes: number;
  /** What the chain names it for (indexer): distinct files and their bytes. */
  readonly covered: number;
  readonly coveredBytes: number;
}

/** Every storer's holdings against the chain's names, now. */
export async function storerHoldings(cluster: SoakCluster): Promise<StorerHoldings[]> {
  const indexer = [...cluster.processes.values()].find((p) => p.plan.service === 'indexer');
  if (!indexer) throw new Error('reclaim check: the cluster has no indexer');
  const ix = new IndexerServiceClient(indexer.direct, credentials.createInsecure());
  try {
    const out: StorerHoldings[] = [];
    for (const p of cluster.processes.values()) {
      if (p.plan.service !== 'storer') continue;
      const sc = new StorerServiceClient(p.direct, credentials.createInsecure());
      try {
        const info = await unaryCall(sc.getInfo.bind(sc), {}, { timeoutMs: 5000 });
        const files = new Map<string, number>();
        let pageToken = '';
        do {
          const page = await unaryCall(ix.listStorerKeys.bind(ix), { storerId: info.storerId, pageSize: 1000, pageToken }, { timeoutMs: 10_000 });
          for (const k of page.keys) if (k.file) files.set(Buffer.from(k.file.filehash).toString('hex'), Number(k.file.size));
          pageToken = page.nextPageToken;
        } while (pageToken !== '');
        out.push({
          name: p.plan.name,
          files: Number(info.stats?.files ?? 0),
          diskBytes: bytesUnder(fileBytesDir(p.plan.dataDir)),
          covered: files.size,
          coveredBytes: [...files.values()].reduce((a, b) => a + b, 0),
        });
      } finally {
        sc.close();
      }
    }
    return out;
  } finally {
    ix.close();
  }
}

export const reclaimed = (h: StorerHoldings) => h.files === h.covered && h.diskBytes === h.coveredBytes;

/**
 * Polls until every storer holds exactly what the chain names it for, at most `limitMs`: the time it
 * took (null: not within the limit) and the last holdings seen.
 */
export async function waitReclaimed(cluster: SoakCluster, limitMs: number): Promise<{ ms: number | null; holdings: StorerHoldings[] }> {
  const start = Date.now();
  let last: StorerHoldings[] = [];
  for (;;) {
    try {
      last = await storerHoldings(cluster);
      if (last.every(reclaimed)) return { ms: Date.now() - start, holdings: last };
    } catch {
      // a process still restarting: asked again
    }
    if (Date.now() - start >= limitMs) return { ms: null, holdings: last };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
