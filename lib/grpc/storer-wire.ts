// Serializers for the two messages that carry file bytes, used in place of the generated ones by every
// server of StorerService.GetFile/SetFile (storers, the gateway's upload source) and by the clients that
// read files (the gateway's GETs, storers fetching an upload). The generated encoder grows its buffer
// by doubling from 128 bytes and copies the result twice (finish(), then Buffer.from); the decoder
// copies every `bytes` field. For 256 KiB - 1 MiB pieces that is several copies and megabytes of zeroed
// buffers per message; these do one copy (encode) and none (decode: the bytes are a view of the received
// message). Same wire format: protobuf lets fields come in any order, and these messages are never
// signed, so no canonical order is needed.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { GetFileResponse, SetFileRequest, StorerServiceClient, StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';

const EMPTY = Buffer.alloc(0);
const DATA_TAG = 0x12; // field 2 (data in both messages), wire type 2 (length-delimited)

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** GetFileResponse: data first (tag, length, the bytes: one copy), then the other fields as generated. */
export function encodeGetFileResponse(msg: GetFileResponse): Buffer {
  if (msg.data.length === 0) return Buffer.from(GetFileResponse.encode(msg).finish());
  const rest = GetFileResponse.encode({ ...msg, data: EMPTY }).finish();
  const header = Buffer.from([DATA_TAG, ...varint(msg.data.length)]);
  return Buffer.concat([header, msg.data, rest], header.length + msg.data.length + rest.length);
}

/** SetFileRequest: a message that is only `data` becomes a view of the received buffer; anything else is decoded as generated. */
export function decodeSetFileRequest(buf: Buffer): SetFileRequest {
  if (buf.length > 1 && buf[0] === DATA_TAG) {
    let len = 0;
    let shift = 1;
    let pos = 1;
    for (; pos < buf.length && pos < 6; pos++) {
      const b = buf[pos]!;
      len += (b & 0x7f) * shift;
      shift *= 128;
      if ((b & 0x80) === 0) {
        pos++;
        if (pos + len === buf.length) return { part: { $case: 'data', value: buf.subarray(pos) }, requesterId: EMPTY, signature: EMPTY };
        break;
      }
    }
  }
  return SetFileRequest.decode(buf);
}

/** Reads a varint at `pos`; null past the end or beyond 2^53. */
function readVarint(buf: Buffer, pos: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = pos; i < buf.length && i < pos + 8; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  return null;
}

/**
 * GetFileResponse with `data` as a view of `buf` (no copy); every other field decoded as generated from
 * the message without it. Anything it cannot walk (malformed bytes, wire types it does not expect) goes
 * to the generated decoder, which throws as it would.
 */
export function decodeGetFileResponse(buf: Buffer): GetFileResponse {
  let data: Buffer | undefined;
  const rest: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag) return GetFileResponse.decode(buf);
    let end: number;
    const wireType = tag.value % 8;
    if (wireType === 0) {
      const v = readVarint(buf, tag.next);
      if (!v) return GetFileResponse.decode(buf);
      end = v.next;
    } else if (wireType === 2) {
      const len = readVarint(buf, tag.next);
      if (!len || len.next + len.value > buf.length) return GetFileResponse.decode(buf);
      end = len.next + len.value;
      if (tag.value === DATA_TAG) {
        data = buf.subarray(len.next, end); // the last one wins, as in the generated decoder
        pos = end;
        continue;
      }
    } else if (wireType === 1) end = tag.next + 8;
    else if (wireType === 5) end = tag.next + 4;
    else return GetFileResponse.decode(buf);
    if (end > buf.length) return GetFileResponse.decode(buf);
    rest.push(buf.subarray(pos, end));
    pos = end;
  }
  const msg = GetFileResponse.decode(rest.length === 1 ? rest[0]! : Buffer.concat(rest));
  return data ? { ...msg, data } : msg;
}

/** StorerServiceService with the byte-carrying messages' serializers replaced. */
export const storerServiceDefinition: typeof StorerServiceService = {
  ...StorerServiceService,
  setFile: { ...StorerServiceService.setFile, requestDeserialize: decodeSetFileRequest },
  getFile: { ...StorerServiceService.getFile, responseSerialize: encodeGetFileResponse, responseDeserialize: decodeGetFileResponse },
};

/** StorerServiceClient whose GetFile answers carry their bytes as views (decodeGetFileResponse). */
export const FileReadingStorerClient = makeGenericClientConstructor(storerServiceDefinition, 'wolk.storer.v1.StorerService') as unknown as typeof StorerServiceClient;
