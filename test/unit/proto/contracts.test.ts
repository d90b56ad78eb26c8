// Contract checks: buf lint is clean, gen/ is exactly what the protos generate (freshness), the
// descriptor set describes every service, messages keep the shape the canonical-signing rule
// relies on, and generated messages and services work end to end.
import test from 'ava';
import { PYTHON, ensurePythonGrpc } from '../../helpers/python-grpc.js';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type } from '@bufbuild/protobuf/wkt';
import type { DescriptorProto } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';

import { Block, Certificate, SmtProof, Vote } from '../../../gen/wolk/common/v1/chain.js';
import { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { SignedTransaction, Transaction, UpdateNode } from '../../../gen/wolk/common/v1/tx.js';
import { GetBlockRequest } from '../../../gen/wolk/consensus/v1/consensus.js';
import {
  GetFileRequest,
  GetFileResponse,
  SetFileRequest,
  SetFileResponse,
  SolicitResponse,
  StorerServiceClient,
  StorerServiceService,
} from '../../../gen/wolk/storer/v1/storer.js';
import type { StorerServiceServer } from '../../../gen/wolk/storer/v1/storer.js';
import { setFileData, setFileStart } from '../../../lib/chain/write-request.js';

const execFileP = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const buf = join(root, 'node_modules/.bin/buf');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

function commitment(storer: number): StorageCommitment {
  return {
    storerId: bytes(32, storer),
    vrfPublicKey: bytes(32, storer + 1),
    vrf: { proof: bytes(80, 0xaa), output: bytes(64, 0xbb) },
    weight: 1,
    replicaRoot: bytes(32, storer + 2),
    filehash: bytes(32, 0xf1),
    size: 100_000_000n,
    chunkSize: 4096,
    seed: bytes(32, 0x5e),
    seedRound: 41n,
    signature: bytes(64, storer + 3),
    sealed: {
      sectorId: bytes(32, storer + 4),
      sectorSeed: bytes(32, storer + 5),
      sectorNodes: 8_388_608n,
      layers: 4,
      firstNode: 12_345n,
      commC: bytes(32, storer + 6),
      commRLast: bytes(32, storer + 7),
      commR: bytes(32, storer + 8),
    },
  };
}

function setKeyTx(): SignedTransaction {
  return {
    tx: {
      sender: bytes(32, 0x01),
      nonce: 7n,
      fee: 10n,
      chainId: 'wolk-devnet',
      body: {
        $case: 'setKey',
        value: {
          owner: 'user123',
          collection: 'videos',
          key: 'bday.mp4',
          file: { filehash: bytes(32, 0xf1), size: 100_000_000n, chunkSize: 4096 },
          contentType: 'video/mp4',
          commitments: [commitment(0x10), commitment(0x20)],
          gatewayId: bytes(32, 0x99),
          gatewaySignature: bytes(64, 0x98),
        },
      },
    },
    signature: bytes(64, 0x77),
  };
}

test('buf lint is clean (STANDARD + COMMENTS)', async (t) => {
  const { stdout, stderr } = await execFileP(buf, ['lint'], { cwd: root });
  t.is(stdout + stderr, '');
});

test('gen/ is exactly what scripts/gen.sh produces from proto/ (run it after editing a proto)', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'wolk-gen-'));
  try {
    await execFileP(join(root, 'scripts/gen.sh'), [tmp], { cwd: root });
    const fresh = join(tmp, 'gen');
    const committed = join(root, 'gen');
    const freshFiles = listFiles(fresh);
    t.deepEqual(listFiles(committed), freshFiles, 'the set of generated files differs');
    t.true(freshFiles.includes('wolk.binpb'));
    for (const f of freshFiles) {
      t.true(readFileSync(join(committed, f)).equals(readFileSync(join(fresh, f))), `gen/${f} is stale`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const descriptorSet = (): ReturnType<typeof fromBinary<typeof FileDescriptorSetSchema>> =>
  fromBinary(FileDescriptorSetSchema, readFileSync(join(root, 'gen/wolk.binpb')));

test('the descriptor set describes every service and RPC with its streaming kind', (t) => {
  const rpcs: string[] = [];
  for (const file of descriptorSet().file) {
    for (const s of file.service) {
      for (const m of s.method) {
        const kind = `${m.clientStreaming ? 'stream ' : ''}->${m.serverStreaming ? ' stream' : ''}`;
        rpcs.push(`${file.package}.${s.name}/${m.name} ${kind}`);
      }
    }
  }
  t.deepEqual(rpcs.sort(), [
    'wolk.consensus.v1.ConsensusService/Bundle ->',
    'wolk.consensus.v1.ConsensusService/GetAccount ->',
    'wolk.consensus.v1.ConsensusService/GetBlock ->',
    'wolk.consensus.v1.ConsensusService/GetStateProof ->',
    'wolk.consensus.v1.ConsensusService/GetStatus ->',
    'wolk.consensus.v1.ConsensusService/GetTransaction ->',
    'wolk.consensus.v1.ConsensusService/Propose ->',
    'wolk.consensus.v1.ConsensusService/StreamBlocks -> stream',
    'wolk.consensus.v1.ConsensusService/SubmitTx ->',
    'wolk.consensus.v1.ConsensusService/Vote ->',
    'wolk.indexer.v1.IndexerService/GetFileLocations ->',
    'wolk.indexer.v1.IndexerService/GetKey ->',
    'wolk.indexer.v1.IndexerService/ListKeys ->',
    'wolk.indexer.v1.IndexerService/ListNodes ->',
    'wolk.indexer.v1.IndexerService/ListStorerChunkSets ->',
    'wolk.indexer.v1.IndexerService/ListStorerKeys ->',
    'wolk.rewards.v1.RewardsService/GetReputation ->',
    'wolk.rewards.v1.RewardsService/GetTally ->',
    'wolk.rewards.v1.RewardsService/ListLost ->',
    'wolk.rewards.v1.RewardsService/Tally ->',
    'wolk.storer.v1.StorerService/CommitChunks ->',
    'wolk.storer.v1.StorerService/GetFile -> stream',
    'wolk.storer.v1.StorerService/GetInfo ->',
    'wolk.storer.v1.StorerService/GetShare ->',
    'wolk.storer.v1.StorerService/ProveReplica ->',
    'wolk.storer.v1.StorerService/ProveSeal ->',
    'wolk.storer.v1.StorerService/SetFile stream ->',
    'wolk.storer.v1.StorerService/SetShare ->',
    'wolk.storer.v1.StorerService/SetShares ->',
    'wolk.storer.v1.StorerService/Solicit ->',
    'wolk.storer.v1.StorerService/VerifyFile ->',
    'wolk.storer.v1.StorerService/VerifyShare ->',
    'wolk.storer.v1.StorerService/VerifyShares ->',
  ]);
  // Comments travel with the descriptor set, so reflection clients see the documentation.
  t.true(descriptorSet().file.every((f) => (f.sourceCodeInfo?.location.length ?? 0) > 0));
});

test('messages keep the shape canonical signing relies on: fields in number order, no maps', (t) => {
  // ts-proto (and most encoders) write fields in declaration order; the deterministic encoding
  // that signatures cover is "ascending field number", so declaration order must be ascending.
  const problems: string[] = [];
  const visit = (prefix: string, m: DescriptorProto): void => {
    const name = `${prefix}.${m.name}`;
    const numbers = m.field.map((f) => f.number);
    if (numbers.some((n, i) => i > 0 && n <= (numbers[i - 1] ?? 0))) problems.push(`${name}: fields out of order`);
    for (const f of m.field) {
      const nested = m.nestedType.find((n) => f.typeName.endsWith(`.${m.name}.${n.name}`));
      if (f.type === FieldDescriptorProto_Type.MESSAGE && f.label === FieldDescriptorProto_Label.REPEATED && nested?.options?.mapEntry) {
        problems.push(`${name}.${f.name}: map field`);
      }
    }
    for (const n of m.nestedType) visit(name, n);
  };
  for (const file of descriptorSet().file) for (const m of file.messageType) visit(file.package, m);
  t.deepEqual(problems, []);
});

test('SignedTransaction with a SetKey carrying two commitments round-trips, canonically', (t) => {
  const signed = setKeyTx();
  const encoded = SignedTransaction.encode(signed).finish();
  const decoded = SignedTransaction.decode(encoded);
  t.deepEqual(decoded, signed);
  t.true(Buffer.from(SignedTransaction.encode(decoded).finish()).equals(Buffer.from(encoded)));
  const body = decoded.tx?.body;
  if (body?.$case !== 'setKey') return t.fail('expected a setKey body');
  t.is(body.value.commitments.length, 2);
  t.is(body.value.commitments[1]?.size, 100_000_000n);
  // The user's signing bytes clear the gateway's fields (tx.proto): they must differ from the
  // full encoding and stay stable whatever the gateway adds.
  const intent: Transaction = {
    ...signed.tx!,
    body: { $case: 'setKey', value: { ...body.value, commitments: [], gatewayId: Buffer.alloc(0), gatewaySignature: Buffer.alloc(0) } },
  };
  const intentBytes = Buffer.from(Transaction.encode(intent).finish());
  t.false(intentBytes.equals(Buffer.from(Transaction.encode(signed.tx!).finish())));
  t.is(Transaction.decode(intentBytes).body?.$case, 'setKey');
});

test('64-bit fields are bigint, the full uint64 range survives, overflow is refused', (t) => {
  const max = 2n ** 64n - 1n;
  const tx: Transaction = { sender: bytes(32, 1), nonce: max, fee: 0n, chainId: '', body: undefined };
  t.is(Transaction.decode(Transaction.encode(tx).finish()).nonce, max);
  t.throws(() => Transaction.encode({ ...tx, nonce: max + 1n }));
});

test('optional scalars keep presence; oneofs keep their case even for default values', (t) => {
  const unchanged = UpdateNode.decode(UpdateNode.encode({ stake: 0n }).finish());
  t.is(unchanged.stake, 0n);
  t.is(unchanged.endpoint, undefined);
  t.is(unchanged.roles, undefined);
  const byRound = GetBlockRequest.decode(GetBlockRequest.encode({ selector: { $case: 'round', value: 0n } }).finish());
  t.deepEqual(byRound.selector, { $case: 'round', value: 0n });
  const notSelected = SolicitResponse.decode(
    SolicitResponse.encode({
      result: { $case: 'notSelected', value: { storerId: bytes(32, 3), vrfPublicKey: bytes(32, 4), vrf: { proof: bytes(80, 5), output: bytes(64, 6) } } },
    }).finish(),
  );
  t.is(notSelected.result?.$case, 'notSelected');
  const absent = SmtProof.decode(SmtProof.encode({ key: bytes(32, 1), bitmap: bytes(32, 0), siblings: [], root: bytes(32, 2) }).finish());
  t.is(absent.value, undefined, 'non-membership: value absent');
  const present = SmtProof.decode(SmtProof.encode({ ...absent, value: Buffer.alloc(0) }).finish());
  t.deepEqual(present.value, Buffer.alloc(0), 'membership of an empty value stays distinguishable');
});

test('a block with a certificate round-trips', (t) => {
  const vote: Vote = {
    round: 42n,
    period: 0n,
    step: 2n,
    value: bytes(32, 0xbb),
    voterId: bytes(32, 0x0c),
    credential: { vrf: { proof: bytes(80, 1), output: bytes(64, 2) }, weight: 3, publicKey: bytes(32, 4) },
    signature: bytes(64, 5),
  };
  const block: Block = {
    header: {
      round: 42n,
      previousHash: bytes(32, 1),
      seed: bytes(32, 2),
      stateRoot: bytes(32, 3),
      txRoot: bytes(32, 4),
      newChunksHash: bytes(32, 5),
      proposerId: bytes(32, 6),
      originalPeriod: 0n,
      proposerCredential: vote.credential,
      timestampMs: 1_700_000_000_000n,
      chunkCommitmentsHash: bytes(32, 7),
    },
    txs: [setKeyTx()],
    newChunks: {
      chunkIds: [bytes(32, 9), bytes(32, 10)],
      files: [{ file: { filehash: bytes(32, 0xf1), size: 1n, chunkSize: 4096 }, commitments: [commitment(0x30)] }],
      chunkCommitments: [commitment(0x40)],
      repairedChunkSets: [],
    },
  };
  t.deepEqual(Block.decode(Block.encode(block).finish()), block);
  const cert: Certificate = {
    round: 42n,
    period: 0n,
    blockHash: bytes(32, 0xbb),
    votes: [vote, { ...vote, voterId: bytes(32, 0x0d) }],
    equivocations: [{ first: { ...vote, voterId: bytes(32, 0x0e) }, second: { ...vote, voterId: bytes(32, 0x0e), value: bytes(32, 0xcc) } }],
  };
  t.deepEqual(Certificate.decode(Certificate.encode(cert).finish()), cert);
});

test('generated grpc-js service: client-streaming SetFile and server-streaming GetFile in process', async (t) => {
  const stored = new Map<string, Buffer>();
  const impl: Pick<StorerServiceServer, 'setFile' | 'getFile'> = {
    setFile: (call, callback) => {
      let info: SetFileResponse['info'];
      const parts: Buffer[] = [];
      call.on('data', (req: SetFileRequest) => {
        if (req.part?.$case === 'info') info = req.part.value;
        else if (req.part?.$case === 'data') parts.push(req.part.value);
      });
      call.on('end', () => {
        if (info === undefined) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'first message must carry info' });
        stored.set(info.filehash.toString('hex'), Buffer.concat(parts));
        callback(null, { info, replicaRoot: bytes(32, 0xee) });
      });
    },
    getFile: (call) => {
      const data = stored.get(call.request.filehash.toString('hex'));
      if (data === undefined) return void call.emit('error', { code: grpc.status.NOT_FOUND, details: 'unknown file' });
      const start = Number(call.request.offset ?? 0n);
      const end = call.request.length === undefined ? data.length : Math.min(data.length, start + Number(call.request.length));
      for (let off = start; off < end; off += 3) {
        call.write({ offset: BigInt(off), data: data.subarray(off, Math.min(end, off + 3)), info: off === start ? { filehash: call.request.filehash, size: BigInt(data.length), chunkSize: 4096 } : undefined });
      }
      call.end();
    },
  };
  const server = new grpc.Server();
  server.addService(StorerServiceService, impl as StorerServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new StorerServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const filehash = bytes(32, 0xf1);
    const res = await new Promise<SetFileResponse>((resolve, reject) => {
      const up = client.setFile((err, r) => (err ? reject(err) : resolve(r)));
      up.write(setFileStart({ filehash, size: 10n, chunkSize: 4096 }));
      up.write(setFileData(Buffer.from('hello ')));
      up.write(setFileData(Buffer.from('wolk')));
      up.end();
    });
    t.is(res.info?.size, 10n);
    const pieces: GetFileResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const req: GetFileRequest = { filehash, offset: 2n, length: 7n };
      const down = client.getFile(req);
      down.on('data', (r: GetFileResponse) => pieces.push(r));
      down.on('error', reject);
      down.on('end', () => resolve());
    });
    t.deepEqual(pieces.map((p) => p.offset), [2n, 5n, 8n]);
    t.is(Buffer.concat(pieces.map((p) => p.data)).toString(), 'llo wol');
    t.is(pieces[0]?.info?.size, 10n);
    t.is(pieces[1]?.info, undefined);
    const missing = await new Promise<grpc.ServiceError>((resolve) => {
      const down = client.getFile({ filehash: bytes(32, 0) });
      down.on('data', () => undefined);
      down.on('error', resolve);
    });
    t.is(missing.code, grpc.status.NOT_FOUND);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

// Debian's python3-grpc-tools (see docs/contracts.md), installed when missing; skipped, saying why, only
// where it cannot be installed.
const python = PYTHON;
const pythonGrpc = ensurePythonGrpc();
if (!pythonGrpc.ok) console.log(`SKIPPED python contracts check: ${pythonGrpc.why}`);

(pythonGrpc.ok ? test : test.skip)('a Python client generated from gen/wolk.binpb decodes our bytes and re-encodes them identically', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'wolk-py-'));
  try {
    const files = descriptorSet().file.map((f) => f.name);
    // grpc_tools' __main__ adds its own -I, which protoc refuses next to --descriptor_set_in.
    const gen = 'import sys\nfrom grpc_tools import protoc\nsys.exit(protoc.main(["protoc"] + sys.argv[1:]))';
    await execFileP(python, ['-c', gen, `--descriptor_set_in=${join(root, 'gen/wolk.binpb')}`, `--python_out=${tmp}`, `--grpc_python_out=${tmp}`, ...files]);
    const check = [
      'import sys',
      'from wolk.common.v1 import tx_pb2',
      'from wolk.storer.v1 import storer_pb2_grpc',
      'assert storer_pb2_grpc.StorerServiceStub',
      'm = tx_pb2.SignedTransaction.FromString(bytes.fromhex(sys.argv[1]))',
      'assert m.tx.WhichOneof("body") == "set_key" and len(m.tx.set_key.commitments) == 2',
      'print(m.SerializeToString(deterministic=True).hex())',
    ].join('\n');
    const ours = Buffer.from(SignedTransaction.encode(setKeyTx()).finish()).toString('hex');
    const { stdout } = await execFileP(python, ['-c', check, ours], { cwd: tmp, env: { ...process.env, PYTHONPATH: tmp } });
    t.is(stdout.trim(), ours, 'deterministic encodings agree across languages');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
