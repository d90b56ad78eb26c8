// Serializers for the two messages that carry file bytes, used in place of the generated ones on the
// server (the definition is otherwise the generated StorerServiceService). The generated encoder grows
// its buffer by doubling from 128 bytes and copies the result twice (finish(), then Buffer.from); the
// decoder copies every `bytes` field. For 1 MiB pieces that is several copies and megabytes of zeroed
// buffers per message; these do one copy (encode) and none (decode). Same wire format: protobuf lets
// fields come in any order, and these messages are never signed, so no canonical order is needed.
import { GetFileResponse, SetFileRequest, StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';

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

/** StorerServiceService with the byte-carrying messages' serializers replaced. */
export const storerServiceDefinition: typeof StorerServiceService = {
  ...StorerServiceService,
  setFile: { ...StorerServiceService.setFile, requestDeserialize: decodeSetFileRequest },
  getFile: { ...StorerServiceService.getFile, responseSerialize: encodeGetFileResponse },
};
