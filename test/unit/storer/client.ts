// Test helpers: a StorerService client over a real socket, promise-shaped calls, and file streaming.
import { credentials, Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import { StorerServiceClient, type GetFileRequest, type GetFileResponse, type SetFileResponse } from '../../../gen/wolk/storer/v1/storer.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { setFileData, setFileStart } from '../../../lib/chain/write-request.js';

export function storerClient(endpoint: string): StorerServiceClient {
  return new StorerServiceClient(endpoint, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
}

type Unary<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => ClientUnaryCall;

export function unary<Req, Res>(method: Unary<Req, Res>, req: Req, timeoutMs = 20_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Deterministic bytes that look random (an LCG), so shifted or truncated reads are caught. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function infoOf(data: Uint8Array, chunkSize = 4096): FileInfo {
  const d = hashFile(data, chunkSize);
  return { filehash: Buffer.from(d.filehash), size: BigInt(data.length), chunkSize };
}

/** SetFile: info first (signed by `writer` for its storer when given), then the bytes in pieces of `piece` bytes. */
export function setFile(client: StorerServiceClient, info: FileInfo, data: Uint8Array, piece = 256 * 1024, timeoutMs = 60_000, writer?: Parameters<typeof setFileStart>[1]): Promise<SetFileResponse> {
  return new Promise((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write(setFileStart(info, writer));
    for (let o = 0; o < data.length; o += piece) call.write(setFileData(Buffer.from(data.subarray(o, o + piece))));
    call.end();
  });
}

/** GetFile, all messages collected. */
export async function getFile(client: StorerServiceClient, req: Partial<GetFileRequest> & { filehash: Buffer }, timeoutMs = 60_000): Promise<{ messages: GetFileResponse[]; bytes: Buffer }> {
  const call = client.getFile({ ...req }, new Metadata(), { deadline: Date.now() + timeoutMs });
  const messages: GetFileResponse[] = [];
  for await (const m of call as AsyncIterable<GetFileResponse>) messages.push(m);
  return { messages, bytes: Buffer.concat(messages.map((m) => m.data)) };
}

/** The gRPC status code of a rejected call (undefined if it was not a gRPC error). */
export async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as ServiceError).code;
  }
}
