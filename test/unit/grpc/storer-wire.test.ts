// The serializers for file bytes (lib/grpc/storer-wire.ts) give what the generated code reads and read
// what it writes, and fall back to it for everything else (including malformed bytes, which must still
// fail to decode).
import test from 'ava';
import { GetFileResponse, SetFileRequest } from '../../../gen/wolk/storer/v1/storer.js';
import { decodeGetFileResponse, decodeSetFileRequest, encodeGetFileResponse } from '../../../lib/grpc/storer-wire.js';
import { pattern } from '../storer/client.js';
import { setFileData, setFileStart } from '../../../lib/chain/write-request.js';

test('GetFileResponse: the generated decoder reads what encodeGetFileResponse writes', (t) => {
  for (const len of [0, 1, 127, 128, 16383, 16384, 1 << 20, (1 << 21) + 3]) {
    const msg: GetFileResponse = {
      offset: 123456789n,
      data: pattern(len, len + 1),
      info: len % 2 === 0 ? { filehash: pattern(32, 2), size: 99n, chunkSize: 4096 } : undefined,
      treeRoot: len === 1 ? pattern(32, 3) : undefined,
      proof: len === 128 ? { leafIndices: [1n, 2n], leafCount: 9n, nodes: [pattern(32, 4)] } : undefined,
    };
    const ours = GetFileResponse.decode(encodeGetFileResponse(msg));
    const theirs = GetFileResponse.decode(GetFileResponse.encode(msg).finish());
    t.true(ours.data.equals(theirs.data), `${len} bytes: data`);
    t.deepEqual({ ...ours, data: null }, { ...theirs, data: null }, `${len} bytes: other fields`);
  }
});

test('SetFileRequest: data messages decode as views, others as generated, malformed ones still throw', (t) => {
  for (const len of [1, 127, 128, 300_000, 1 << 20]) {
    const data = pattern(len, len);
    const wire = Buffer.from(SetFileRequest.encode(setFileData(data)).finish());
    const got = decodeSetFileRequest(wire);
    t.is(got.part?.$case, 'data');
    t.true((got.part?.value as Buffer).equals(data));
    t.is((got.part?.value as Buffer).buffer, wire.buffer, 'no copy');
  }
  const info = Buffer.from(SetFileRequest.encode(setFileStart({ filehash: pattern(32, 1), size: 5n, chunkSize: 4096 })).finish());
  t.deepEqual(decodeSetFileRequest(info), SetFileRequest.decode(info));
  const empty = Buffer.from(SetFileRequest.encode(setFileData(Buffer.alloc(0))).finish());
  t.deepEqual(decodeSetFileRequest(empty), SetFileRequest.decode(empty));
  t.throws(() => decodeSetFileRequest(Buffer.from([0x12, 0x05, 1, 2])), undefined, 'length beyond the end');
  t.throws(() => decodeSetFileRequest(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined, 'runaway varint');
});

test('GetFileResponse: decodeGetFileResponse reads both encoders as the generated decoder does, data as a view', (t) => {
  for (const len of [0, 1, 127, 128, 16383, 16384, 1 << 20, (1 << 21) + 3]) {
    const msg: GetFileResponse = {
      offset: BigInt(len) * 4096n,
      data: pattern(len, len + 7),
      info: len % 2 === 0 ? { filehash: pattern(32, 2), size: 99n, chunkSize: 4096 } : undefined,
      treeRoot: len % 3 === 1 ? pattern(32, 3) : undefined,
      proof: len >= 128 ? { leafIndices: [1n, 2n, BigInt(len)], leafCount: 1n << 40n, nodes: [pattern(32, 4), pattern(32, 5)] } : undefined,
    };
    for (const [name, wire] of [['generated', Buffer.from(GetFileResponse.encode(msg).finish())], ['ours', encodeGetFileResponse(msg)]] as const) {
      const got = decodeGetFileResponse(wire);
      const want = GetFileResponse.decode(wire);
      t.true(got.data.equals(want.data), `${len} bytes, ${name} encoder: data`);
      t.deepEqual({ ...got, data: null }, { ...want, data: null }, `${len} bytes, ${name} encoder: other fields`);
      if (len > 0) t.is(got.data.buffer, wire.buffer, `${len} bytes, ${name} encoder: data is a view, not a copy`);
    }
  }
  // Two data fields: the last one wins, as in the generated decoder.
  const twice = Buffer.concat([Buffer.from(GetFileResponse.encode({ offset: 5n, data: pattern(10, 1) }).finish()), Buffer.from(GetFileResponse.encode({ offset: 0n, data: pattern(20, 2) }).finish())]);
  t.deepEqual(decodeGetFileResponse(twice), GetFileResponse.decode(twice));
  t.throws(() => decodeGetFileResponse(Buffer.from([0x12, 0x05, 1, 2])), undefined, 'length beyond the end');
  t.throws(() => decodeGetFileResponse(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined, 'runaway varint');
  t.throws(() => decodeGetFileResponse(Buffer.from([0x0b, 0x00])), undefined, 'a group wire type');
});
