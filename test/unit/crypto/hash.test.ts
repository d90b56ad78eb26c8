import test from 'ava';
import { createHash } from 'node:crypto';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { CryptoError, CryptoErrorCode } from '../../../lib/crypto/errors.js';
import { bytesEqual, concatBytes, fromHex, readU64be, sha256, sha512, toHex, u32be, u64be } from '../../../lib/crypto/hash.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('sha256/sha512 of "abc" match FIPS 180-2 examples and hash the concatenation of their parts', (t) => {
  t.is(toHex(sha256(enc('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.is(
    toHex(sha512(enc('abc'))),
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  );
  t.deepEqual(sha256(enc('a'), enc(''), enc('bc')), sha256(enc('abc')));
  t.deepEqual(sha512(enc('ab'), enc('c')), sha512(enc('abc')));
  t.deepEqual(sha256(), nobleSha256(new Uint8Array(0)));
  const big = new Uint8Array(100_000).map((_, i) => i * 7);
  t.deepEqual(sha256(big), nobleSha256(big));
  t.deepEqual(sha512(big), nobleSha512(big));
});

test('hash outputs are plain Uint8Arrays that own their memory', (t) => {
  const h = sha256(enc('x'));
  t.is(h.constructor, Uint8Array);
  t.is(h.byteOffset, 0);
  t.is(h.buffer.byteLength, 32);
  t.deepEqual(h, new Uint8Array(createHash('sha256').update('x').digest()));
});

test('concatBytes and bytesEqual', (t) => {
  t.deepEqual(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)), Uint8Array.of(1, 2, 3));
  t.deepEqual(concatBytes(), new Uint8Array(0));
  t.true(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)));
  t.false(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)));
  t.false(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)));
  t.true(bytesEqual(new Uint8Array(0), new Uint8Array(0)));
  // Views into larger buffers compare by content.
  const backing = Uint8Array.of(9, 1, 2, 9);
  t.true(bytesEqual(backing.subarray(1, 3), Uint8Array.of(1, 2)));
});

test('hex round-trips and rejects bad input with a typed error', (t) => {
  const bytes = Uint8Array.of(0, 1, 0xab, 0xff);
  t.is(toHex(bytes), '0001abff');
  t.deepEqual(fromHex('0001abff'), bytes);
  t.deepEqual(fromHex('0001ABFF'), bytes);
  t.deepEqual(fromHex(''), new Uint8Array(0));
  t.is(toHex(bytes.subarray(2)), 'abff');
  for (const bad of ['abc', 'zz', '0x00', '00 ', 'g0']) {
    const err = t.throws(() => fromHex(bad), { instanceOf: CryptoError });
    t.is(err?.code, CryptoErrorCode.INVALID_HEX);
  }
});

test('u64be / u32be encode big-endian and refuse out-of-range values', (t) => {
  t.deepEqual(u64be(1n), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1));
  t.deepEqual(u64be(0x0102030405060708n), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  t.deepEqual(u64be(258), Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 2));
  t.deepEqual(u64be((1n << 64n) - 1n), new Uint8Array(8).fill(0xff));
  t.is(readU64be(u64be(123456789012345n)), 123456789012345n);
  t.deepEqual(u32be(0x01020304), Uint8Array.of(1, 2, 3, 4));
  for (const bad of [-1n, 1n << 64n]) t.throws(() => u64be(bad), { instanceOf: CryptoError });
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) t.throws(() => u64be(bad), { instanceOf: CryptoError });
  for (const bad of [-1, 2 ** 32, 0.5]) t.throws(() => u32be(bad), { instanceOf: CryptoError });
});
