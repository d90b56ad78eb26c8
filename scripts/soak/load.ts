// The soaks' load generator: users who claim a name and a collection, then upload files of mixed sizes
// one after another (each user's nonce is one sequence) and read back earlier uploads, through the
// client library a user has (lib/client). Every answer is recorded: 201 uploads are remembered with
// the SHA-256 of what was sent, so the soak can check at the end that each is byte-identical on GET and
// its proof verifies; refusals are counted by status. Sizes and contents come from one seeded PRNG.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WolkClient, WolkHttpError } from '../../lib/client/client.js';
import type { ClientKey } from '../../lib/client/signing.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import type { Prng } from '../../test/sim/prng.js';

/** Sizes drawn for uploads: mostly small, some of a few chunks, a few of a megabyte or more. */
export const SIZE_MIX: readonly { readonly size: number; readonly weight: number }[] = [
  { size: 1, weight: 2 },
  { size: 1000, weight: 4 },
  { size: 4096, weight: 2 },
  { size: 40_000, weight: 4 },
  { size: 300_000, weight: 2 },
  { size: 1_500_000, weight: 1 },
];

export interface UploadRecord {
  readonly uri: string;
  readonly size: number;
  readonly sha256: string;
  readonly atMs: number;
}

export interface LoadStats {
  /** Answered 201: the file is final on chain. */
  readonly ok: UploadRecord[];
  /** Answered 202 (accepted, not final before the gateway's finality wait ended). */
  accepted: number;
  /** Refused, by status (or "network" for a connection that failed). */
  readonly refused: Map<string, number>;
  reads: number;
  readFailures: number;
  /** A read during the run that returned other bytes than were uploaded (never expected). */
  readonly wrongReads: string[];
}

function pick(prng: Prng): number {
  const total = SIZE_MIX.reduce((s, x) => s + x.weight, 0);
  let r = prng.next() % total;
  for (const x of SIZE_MIX) {
    if (r < x.weight) return x.size;
    r -= x.weight;
  }
  return SIZE_MIX[0]!.size;
}

function bytesFrom(prng: Prng, n: number): Buffer {
  const out = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(prng.next(), i);
  for (; i < n; i++) out[i] = prng.next() & 0xff;
  return out;
}

/** Collects a GET's body. */
class Collect extends Writable {
  readonly parts: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.parts.push(chunk);
    cb();
  }
}

/** Reads `uri` and returns the SHA-256 of its bytes (the client checks the filehash on the way). */
export async function readSha256(client: WolkClient, uri: string): Promise<string> {
  const sink = new Collect();
  await client.get(uri, sink);
  return createHash('sha256').update(Buffer.concat(sink.parts)).digest('hex');
}

export interface LoadUser {
  readonly name: string;
  readonly client: WolkClient;
}

/** Claims `name` and `name/files/` for each key, retrying while the network settles. */
export async function setUpUsers(gateway: string, genesis: Genesis, keys: readonly ClientKey[], prefix: string, signal: AbortSignal): Promise<LoadUser[]> {
  const users: LoadUser[] = [];
  for (let i = 0; i < keys.length; i++) {
    const name = `${prefix}${i}`;
    const client = new WolkClient(gateway, keys[i], genesis);
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        await client.claim(name);
        await client.makeBucket(`wolk://${name}/files/`, {});
        break;
      } catch (err) {
        if (attempt >= 20) throw new Error(`setting up ${name}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    users.push({ name, client });
  }
  return users;
}

export function newLoadStats(): LoadStats {
  return { ok: [], accepted: 0, refused: new Map(), reads: 0, readFailures: 0, wrongReads: [] };
}

/**
 * One user's loop until `signal` aborts: upload a file of a drawn size, then (every other time) read
 * back one of this run's earlier 201 uploads. Uploads of one user are sequential (one nonce sequence).
 */
export async function runUser(user: LoadUser, prng: Prng, stats: LoadStats, scratch: string, signal: AbortSignal): Promise<void> {
  mkdirSync(scratch, { recursive: true });
  for (let n = 0; !signal.aborted; n++) {
    const size = pick(prng);
    const body = bytesFrom(prng, size);
    const file = join(scratch, `${user.name}-${n}`);
    writeFileSync(file, body);
    const uri = `wolk://${user.name}/files/f${n}-${size}`;
    try {
      const r = await user.client.put(file, uri);
      if (r.state === 'final') stats.ok.push({ uri, size, sha256: createHash('sha256').update(body).digest('hex'), atMs: Date.now() });
      else stats.accepted++;
    } catch (err) {
      const key = err instanceof WolkHttpError ? String(err.status) : 'network';
      stats.refused.set(key, (stats.refused.get(key) ?? 0) + 1);
      // As a client would: back off a little before trying again (a gateway restarting refuses at once).
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      rmSync(file, { force: true });
    }
    if (n % 2 === 1 && stats.ok.length > 0 && !signal.aborted) {
      const rec = stats.ok[prng.next() % stats.ok.length]!;
      stats.reads++;
      try {
        const got = await readSha256(user.client, rec.uri);
        if (got !== rec.sha256) stats.wrongReads.push(`${rec.uri}: read ${got}, uploaded ${rec.sha256}`);
      } catch {
        stats.readFailures++; // unavailable during a fault: counted, checked again at the end
      }
    }
  }
}
