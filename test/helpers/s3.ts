// `wolk s3` (a real CLI process) and the AWS SDK for JavaScript v3 against it: the steps shared by
// test/e2e/s3.test.ts, `npm run soak -- s3-large` (scripts/soak/s3-large.ts) and `npm run bench -- s3`
// (bench/s3.ts). Bodies may be buffers or file streams; downloads are hashed as they arrive.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  S3Client,
  UploadPartCommand,
  type CompleteMultipartUploadCommandOutput,
  type GetObjectCommandOutput,
  type Part,
} from '@aws-sdk/client-s3';
import { pollUntil } from './poll.js';
import { ROOT } from './process.js';

/** An S3 client for a `wolk s3` endpoint as docs/s3.md configures one. */
export function s3Client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // The SDK's default CRC32 trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER) are not supported (docs/s3.md).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface WolkS3Options {
  /** Working directory of the process. */
  readonly work: string;
  readonly gateway: string;
  /** The `wolk` key file (WOLK_KEY) whose owner name is `owner`. */
  readonly keyFile: string;
  readonly owner: string;
  readonly dataDir: string;
  readonly accessKeyId: string;
  readonly secret: string;
}

export interface WolkS3 {
  readonly proc: ChildProcess;
  /** http://127.0.0.1:PORT, as the endpoint printed it. */
  readonly endpoint: string;
  output(): string;
}

/** Starts `wolk s3 --listen 127.0.0.1:0` and waits until it says where it listens. Stop it with stopProcess (resume.ts). */
export async function startWolkS3(o: WolkS3Options): Promise<WolkS3> {
  let out = '';
  const proc = spawn(process.execPath, [join(ROOT, 'bin/wolk.mjs'), 's3', '--listen', '127.0.0.1:0', '--owner', o.owner, '--data-dir', o.dataDir], {
    cwd: o.work,
    env: { ...process.env, WOLK_GATEWAY: o.gateway, WOLK_KEY: o.keyFile, WOLK_S3_ACCESS_KEY_ID: o.accessKeyId, WOLK_S3_SECRET_ACCESS_KEY: o.secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const endpoint = await pollUntil(
    () => {
      if (proc.exitCode !== null) throw new Error(`wolk s3 exited ${proc.exitCode}: ${out}`);
      return /wolk s3: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    },
    { what: 'wolk s3 to listen', deadlineMs: 60_000, describe: () => out },
  );
  return { proc, endpoint, output: () => out };
}

export interface MultipartOptions {
  readonly Bucket: string;
  readonly Key: string;
  readonly size: number;
  readonly partSize: number;
  /** The body of bytes [start, end): a buffer, or a stream of exactly end - start bytes. */
  readonly body: (start: number, end: number) => Buffer | Readable;
  /** Parts sent at once (lib-storage's default queue is 4); default 1, in order. */
  readonly concurrency?: number;
  /** ListParts once this many parts are uploaded (before the rest, or before Complete when all). */
  readonly listPartsAfter?: number;
  /** A line after each part (progress of long runs). */
  readonly onPart?: (done: number, total: number) => void;
}

export interface MultipartResult {
  readonly UploadId: string;
  /** Every part, in order, with the ETag UploadPart answered. */
  readonly parts: { PartNumber: number; ETag: string }[];
  /** What ListParts answered after `listPartsAfter` parts. */
  readonly listed?: Part[];
  readonly done: CompleteMultipartUploadCommandOutput;
}

/** CreateMultipartUpload, UploadPart for each partSize piece (the last shorter), ListParts when asked, CompleteMultipartUpload. */
export async function multipartUpload(s3: S3Client, o: MultipartOptions): Promise<MultipartResult> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: o.Bucket, Key: o.Key }));
  if (!UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
  const total = Math.ceil(o.size / o.partSize);
  const parts: { PartNumber: number; ETag: string }[] = new Array(total);
  let next = 0;
  let finished = 0;
  let listed: Part[] | undefined;
  const sendPart = async (i: number): Promise<void> => {
    const start = i * o.partSize;
    const end = Math.min(o.size, start + o.partSize);
    const r = await s3.send(new UploadPartCommand({ Bucket: o.Bucket, Key: o.Key, UploadId, PartNumber: i + 1, Body: o.body(start, end), ContentLength: end - start }));
    if (!r.ETag) throw new Error(`UploadPart ${i + 1} answered without an ETag`);
    parts[i] = { PartNumber: i + 1, ETag: r.ETag };
    o.onPart?.(++finished, total);
  };
  // Parts go in waves up to the ListParts point, then the rest, so the listing sees exactly that many.
  const sendRange = async (from: number, to: number): Promise<void> => {
    next = from;
    const worker = async () => {
      while (next < to) await sendPart(next++);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 1, to - from)) }, worker));
  };
  const cut = o.listPartsAfter === undefined ? total : Math.min(total, o.listPartsAfter);
  await sendRange(0, cut);
  if (o.listPartsAfter !== undefined) listed = (await s3.send(new ListPartsCommand({ Bucket: o.Bucket, Key: o.Key, UploadId }))).Parts ?? [];
  await sendRange(cut, total);
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: o.Bucket, Key: o.Key, UploadId, MultipartUpload: { Parts: parts } }));
  return { UploadId, parts, ...(listed ? { listed } : {}), done };
}

/** The S3 multipart ETag of `parts`: MD5 of the concatenated binary part MD5s, then -N. */
export function multipartEtag(parts: readonly { ETag: string }[]): string {
  const partMd5s = Buffer.concat(parts.map((p) => Buffer.from(p.ETag.replace(/"/g, ''), 'hex')));
  return `"${createHash('md5').update(partMd5s).digest('hex')}-${parts.length}"`;
}

/** GetObject (optionally a Range), its body hashed as it arrives: SHA-256, bytes, and the response. */
export async function getObjectSha256(s3: S3Client, Bucket: string, Key: string, Range?: string): Promise<{ sha256: string; bytes: number; res: GetObjectCommandOutput }> {
  const res = await s3.send(new GetObjectCommand({ Bucket, Key, ...(Range ? { Range } : {}) }));
  const sha = createHash('sha256');
  let bytes = 0;
  for await (const piece of res.Body as AsyncIterable<Uint8Array>) {
    sha.update(piece);
    bytes += piece.length;
  }
  return { sha256: sha.digest('hex'), bytes, res };
}
