// A second-language client: Python stubs generated from our descriptor set (Debian's python3-grpcio and
// python3-grpc-tools) store and read a chunk and a file against a real storer process, computing chunk
// ids and the filehash itself (test/e2e/python/storer_client.py).
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnService, waitForLog } from '../helpers/process.js';
import { PYTHON, ensurePythonGrpc } from '../helpers/python-grpc.js';
import { getFile, storerClient } from '../unit/storer/client.js';

const execFileP = promisify(execFile);
const root = process.cwd();

const python = ensurePythonGrpc();
if (!python.ok) console.log(`SKIPPED storer-python: ${python.why}`);
const maybe = python.ok ? test : test.skip;

maybe('a Python client stores and reads a chunk and a file on a real storer process', async (t) => {
  const stubs = mkdtempSync(join(tmpdir(), 'wolk-py-'));
  const gen = 'import sys; from grpc_tools import protoc; sys.exit(protoc.main(["protoc"] + sys.argv[1:]))';
  await execFileP(PYTHON, [
    '-c',
    gen,
    `--descriptor_set_in=${join(root, 'gen/wolk.binpb')}`,
    `--python_out=${stubs}`,
    `--grpc_python_out=${stubs}`,
    // storer.proto and everything it imports (chain.proto since CommitChunks carries a NewChunks).
    'wolk/common/v1/crypto.proto',
    'wolk/common/v1/storage.proto',
    'wolk/common/v1/node.proto',
    'wolk/common/v1/tx.proto',
    'wolk/common/v1/chain.proto',
    'wolk/storer/v1/storer.proto',
  ]);

  const child = spawnService('storer', { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: mkdtempSync(join(tmpdir(), 'wolk-storer-py-')) });
  try {
    const started = await waitForLog(child, 'started', 60_000);
    child.stderr?.resume();
    const endpoint = started['grpc'] as string;
    const { stdout } = await execFileP(PYTHON, [join(root, 'test/e2e/python/storer_client.py'), endpoint], {
      env: { ...process.env, PYTHONPATH: stubs },
      timeout: 90_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    t.true(r['chunk_id_matches'], 'SetShare answers the SHA-256 Python computed');
    t.true(r['chunk_round_trip'], 'GetShare returns the chunk');
    t.true(r['file_round_trip'], 'GetFile returns the file (the storer accepted the filehash Python computed)');
    t.is(r['first_message_info_size'], 1024 * 1024 + 777);
    t.true(r['range_read'], 'a byte range near the end');
    t.is(r['past_end'], 'OUT_OF_RANGE');
    t.is(r['tampered_upload'], 'INVALID_ARGUMENT');
    t.is(r['replica_root_len'], 32);
    t.is(r['audit_leaves'], 4);
    t.true(r['audit_chunks_are_file_chunks']);
    // And the other way round: the file Python stored reads back the same from TypeScript.
    const c = storerClient(endpoint);
    const got = await getFile(c, { filehash: Buffer.from(r['filehash'] as string, 'hex') });
    c.close();
    t.is(got.bytes.length, 1024 * 1024 + 777);
    t.is(got.messages[0]!.info!.filehash.toString('hex'), r['filehash'] as string);
  } finally {
    child.kill('SIGTERM');
  }
});
