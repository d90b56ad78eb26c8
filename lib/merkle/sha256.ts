// SHA-256 for hot loops (leaf and node hashing). Node 20.12+ has the one-shot crypto.hash(), which skips
// creating a Hash object per call: on 4 KiB leaves that is the difference between ~0.5x and ~0.8x of the
// throughput of hashing the same bytes as one stream (see bench/crypto/merkle.ts). Older Nodes fall back
// to createHash. Results are plain Uint8Arrays (not Buffers), so they compare equal to other byte arrays.
import * as nodeCrypto from 'node:crypto';

type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** SHA-256 of one contiguous byte string. */
export const sha256One: (data: Uint8Array) => Uint8Array =
  typeof oneShot === 'function'
    ? (data) => plain(oneShot('sha256', data, 'buffer'))
    : (data) => plain(nodeCrypto.createHash('sha256').update(data).digest());

/** SHA-256 of a concatenation, without building it (for inputs that are not already contiguous). */
export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  const h = nodeCrypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return plain(h.digest());
}
