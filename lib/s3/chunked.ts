// aws-chunked bodies (S3 API reference, "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks"): the body is a run of
//     HEX-SIZE;chunk-signature=SIG\r\n DATA \r\n
// ending with a chunk of size 0. Each SIG is an HMAC under the request's signing key over
// "AWS4-HMAC-SHA256-PAYLOAD\n AMZ-DATE \n SCOPE \n PREVIOUS-SIG \n sha256('') \n sha256(DATA)", chained
// from the request's own signature (the seed). The decoder streams DATA out as it arrives (the caller
// spools it and commits nothing until the iterator has ended without an error) and never holds more
// than one header line in memory.
import { createHash, type Hash } from 'node:crypto';
import { S3Error } from './errors.js';
import { chunkStringToSign, hmacHex, sameHex } from './sigv4.js';

export interface ChunkSigning {
  readonly signingKey: Buffer;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignature: string;
}

/** The longest chunk header line accepted (hex size + ";chunk-signature=" + 64 hex is ~90 bytes). */
const MAX_HEADER = 4096;
/** The largest single chunk accepted; clients use 8 KiB..a few MiB. */
const MAX_CHUNK = 1 << 30;

/**
 * Decodes an aws-chunked body, verifying every chunk signature when `signing` is given. Yields the
 * payload bytes; throws S3Error (SignatureDoesNotMatch, IncompleteBody, InvalidRequest) on a bad
 * chunk, a missing final chunk, or a decoded length other than `decodedLength`.
 */
export async function* decodeAwsChunked(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signing: ChunkSigning | undefined, decodedLength?: number): AsyncGenerator<Buffer> {
  let state: 'header' | 'data' | 'crlf' | 'final-crlf' | 'done' = 'header';
  let line = Buffer.alloc(0);
  let remaining = 0;
  let signature = '';
  let previous = signing?.seedSignature ?? '';
  let hash: Hash = createHash('sha256');
  let total = 0;
  const verify = () => {
    if (!signing) return;
    const expected = hmacHex(signing.signingKey, chunkStringToSign(signing.amzDate, signing.scope, previous, hash.digest('hex')));
    if (!sameHex(expected, signature)) throw new S3Error('SignatureDoesNotMatch', `the signature of the aws-chunked chunk ending at byte ${total} does not match`);
    previous = signature;
  };
  for await (const piece of src) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (buf.length > 0) {
      if (state === 'done') throw new S3Error('InvalidRequest', 'bytes after the final aws-chunked chunk');
      if (state === 'header') {
        const nl = buf.indexOf(0x0a);
        const take = nl < 0 ? buf : buf.subarray(0, nl + 1);
        line = Buffer.concat([line, take]);
        buf = buf.subarray(take.length);
        if (line.length > MAX_HEADER) throw new S3Error('InvalidRequest', 'an aws-chunked chunk header is too long');
        if (nl < 0) continue;
        const text = line.toString('latin1');
        line = Buffer.alloc(0);
        const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?\r\n$/.exec(text);
        if (!m) throw new S3Error('InvalidRequest', `malformed aws-chunked chunk header "${text.trim().slice(0, 100)}"`);
        if (signing && !m[2]) throw new S3Error('SignatureDoesNotMatch', 'an aws-chunked chunk carries no chunk-signature');
        remaining = parseInt(m[1]!, 16);
        if (remaining > MAX_CHUNK) throw new S3Error('InvalidRequest', `an aws-chunked chunk of ${remaining} bytes is larger than ${MAX_CHUNK}`);
        signature = m[2] ?? '';
        hash = createHash('sha256');
        if (remaining === 0) {
          verify();
          state = 'final-crlf';
        } else state = 'data';
        continue;
      }
      if (state === 'data') {
        const take = buf.subarray(0, Math.min(remaining, buf.length));
        buf = buf.subarray(take.length);
        remaining -= take.length;
        total += take.length;
        if (decodedLength !== undefined && total > decodedLength) throw new S3Error('InvalidRequest', `the aws-chunked body is longer than x-amz-decoded-content-length ${decodedLength}`);
        hash.update(take);
        yield Buffer.from(take);
        if (remaining === 0) state = 'crlf';
        continue;
      }
      // crlf after a chunk's data, or after the final chunk: exactly "\r\n" (it may arrive split).
      const crlf = buf.subarray(0, 2 - line.length);
      line = Buffer.concat([line, crlf]);
      buf = buf.subarray(crlf.length);
      if (line.length < 2) continue;
      if (line.toString('latin1') !== '\r\n') throw new S3Error('InvalidRequest', 'an aws-chunked chunk is not followed by CRLF');
      line = Buffer.alloc(0);
      if (state === 'crlf') {
        verify();
        state = 'header';
      } else state = 'done';
    }
  }
  if (state !== 'done') throw new S3Error('IncompleteBody', 'the aws-chunked body ended before its final chunk');
  if (decodedLength !== undefined && total !== decodedLength) throw new S3Error('IncompleteBody', `the aws-chunked body decoded to ${total} bytes, x-amz-decoded-content-length says ${decodedLength}`);
}
