// `wolk s3` with real S3 clients nobody here wrote, on the devnet: the AWS SDK for JavaScript v3 and
// Debian's rclone. A bucket is made, small objects and a 24 MB multipart object (5 MB parts; the issue
// asks 200 MB, kept small for this test tier) go up, listings with prefix, delimiter and pagination,
// ranged and whole reads byte-identical, Wolk's filehash and round in the headers; a wrong secret, an
// unknown key id and another owner's bucket are refused; rclone copies a directory up and down. The
// 200 MB object is `npm run soak -- s3-large` (scripts/soak/s3-large.ts); both take the endpoint, the
// client and the multipart steps from test/helpers/s3.ts.
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { ROOT } from '../helpers/process.js';
import { stopProcess } from '../helpers/resume.js';
import { multipartEtag, multipartUpload, s3Client, startWolkS3, type WolkS3 } from '../helpers/s3.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/s3.test.ts');
logSeedOnFailure(test);

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'wolk-s3-'));
const ACCESS = 'WOLKTESTACCESS';
const SECRET = 'wolk-test-secret-0123456789';
let devnet: Devnet;
let wolkS3: WolkS3 | undefined;
let endpoint = '';

function cli(user: string, ...args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/wolk.mjs'), ...args], {
    cwd: work,
    env: { ...process.env, WOLK_GATEWAY: devnet.endpoints().gateway, WOLK_KEY: join(work, `${user}.json`) },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 180_000,
  });
}

const client = (secret = SECRET, accessKeyId = ACCESS) => s3Client(endpoint, accessKeyId, secret);

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const bytesOf = async (body: unknown) => Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

test.before(async () => {
  devnet = await startDevnet();
});

/** Two users with claimed names (bob owns a bucket), and `wolk s3` for alice; run inside the first test, under its timeout. */
async function setUp(): Promise<void> {
  await cli('alice', 'keygen');
  await cli('alice', 'claim', 'alice');
  await cli('bob', 'keygen');
  await cli('bob', 'claim', 'bob');
  await cli('bob', 'mb', 'wolk://bob/private/');
  wolkS3 = await startWolkS3({ work, gateway: devnet.endpoints().gateway, keyFile: join(work, 'alice.json'), owner: 'alice', dataDir: join(work, 's3data'), accessKeyId: ACCESS, secret: SECRET });
  endpoint = wolkS3.endpoint;
}

test.after.always(async () => {
  await stopProcess(wolkS3?.proc);
  await devnet?.stop();
});

test.serial('AWS SDK: bucket, small and multipart objects, listings, ranges, byte-identical reads, refusals', async (t) => {
  t.timeout(600_000);
  await setUp();
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  await s3.send(new HeadBucketCommand({ Bucket: 'photos' }));
  t.true((await s3.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === 'photos'));

  const small: Record<string, Buffer> = { 'docs/a.txt': seeded.bytes(10_000), 'docs/b.txt': seeded.bytes(70_000), 'img/c.bin': seeded.bytes(1234) };
  for (const [Key, Body] of Object.entries(small)) {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key, Body, ContentType: 'application/x-test', Metadata: { note: Key } }));
    t.is(put.ETag, `"${md5(Body)}"`, 'a single PUT has the MD5 ETag clients check');
  }

  // 24 MB in 5 MB parts (the last 4 MB).
  const big = seeded.bytes(24 * 1024 * 1024);
  const partSize = 5 * 1024 * 1024;
  const nParts = Math.ceil(big.length / partSize);
  // ListParts after every part is up, before Complete.
  const { parts, listed, done } = await multipartUpload(s3, { Bucket: 'photos', Key: 'videos/big.bin', size: big.length, partSize, body: (s, e) => big.subarray(s, e), listPartsAfter: nParts });
  t.deepEqual(listed?.map((p) => [p.PartNumber, p.ETag]), parts.map((p) => [p.PartNumber, p.ETag]));
  t.is(done.ETag, multipartEtag(parts), 'the multipart ETag is MD5 of the part MD5s, -N');

  const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'videos/big.bin' }));
  t.true((await bytesOf(got.Body)).equals(big), 'the multipart object reads back byte-identical');
  t.regex(got.Metadata?.['wolk-filehash'] ?? '', /^[0-9a-f]{64}$/);
  t.regex(got.Metadata?.['wolk-round'] ?? '', /^\d+$/);
  const ranged = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'videos/big.bin', Range: 'bytes=5242870-5242899' }));
  t.true((await bytesOf(ranged.Body)).equals(big.subarray(5242870, 5242900)), 'a range across a part boundary');
  t.is(ranged.ContentRange, `bytes 5242870-5242899/${big.length}`);
  for (const [Key, Body] of Object.entries(small)) {
    const g = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key }));
    t.true((await bytesOf(g.Body)).equals(Body), Key);
    t.is(g.ContentType, 'application/x-test');
    t.is(g.Metadata?.['note'], Key);
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'docs/b.txt' }));
  t.is(head.ContentLength, 70_000);
  t.is(head.ETag, `"${md5(small['docs/b.txt']!)}"`);

  const top = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Delimiter: '/' }));
  t.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['docs/', 'img/', 'videos/']);
  t.is(top.Contents, undefined);
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'docs/', MaxKeys: 1, ...(token ? { ContinuationToken: token } : {}) }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
    pages++;
  } while (token);
  t.deepEqual(keys, ['docs/a.txt', 'docs/b.txt']);
  t.is(pages, 2);

  const code = async (p: Promise<unknown>) => ((await t.throwsAsync(p)) as { name?: string; Code?: string }).name;
  t.is(await code(client('wrong-secret-0123456789').send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch');
  t.is(await code(client(SECRET, 'NOSUCHKEYID').send(new ListBucketsCommand({}))), 'InvalidAccessKeyId');
  t.is(await code(s3.send(new ListObjectsV2Command({ Bucket: 'bob.private' }))), 'AccessDenied');
  t.is(await code(s3.send(new PutObjectCommand({ Bucket: 'bob.private', Key: 'x', Body: Buffer.from('x') }))), 'AccessDenied');
  t.is(await code(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'no/such/key' }))), 'NoSuchKey');
  t.is(await code(s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'docs/a.txt' }))), 'NotImplemented');
});

test.serial('rclone: copy a directory up, ls, copy it down, byte-identical', async (t) => {
  t.timeout(300_000);
  if (!endpoint) return t.fail('wolk s3 did not start (see the first test)');
  const install = spawnSync(join(ROOT, 'scripts/rclone/install.sh'), { encoding: 'utf8', timeout: 900_000 });
  if (install.status !== 0) return t.fail(`scripts/rclone/install.sh failed: ${install.stderr}`);
  const up = join(work, 'rclone-up');
  const down = join(work, 'rclone-down');
  mkdirSync(join(up, 'sub'), { recursive: true });
  // Six files copied with 6 parallel transfers: the writes run side by side with consecutive nonces of
  // one key (they used to be queued one at a time: two at once took the same nonce and one was refused).
  const files: Record<string, Buffer> = { 'one.bin': seeded.bytes(3000), 'sub/two.bin': seeded.bytes(150_000) };
  for (let i = 3; i <= 6; i++) files[`sub/p${i}.bin`] = seeded.bytes(20_000 + i);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(up, name), body);
  // AWS_CA_BUNDLE (set on some machines for HTTPS) makes rclone 1.60 refuse to start even for an http endpoint.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  const env = {
    ...inherited,
    RCLONE_CONFIG_WOLK_TYPE: 's3',
    RCLONE_CONFIG_WOLK_PROVIDER: 'Other',
    RCLONE_CONFIG_WOLK_ACCESS_KEY_ID: ACCESS,
    RCLONE_CONFIG_WOLK_SECRET_ACCESS_KEY: SECRET,
    RCLONE_CONFIG_WOLK_ENDPOINT: endpoint,
    RCLONE_CONFIG_WOLK_REGION: 'us-east-1',
    RCLONE_CONFIG_WOLK_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_WOLK_LIST_VERSION: '2',
  };
  const rclone = (...args: string[]) => run('rclone', ['--config', '/dev/null', '--retries', '1', '--low-level-retries', '1', ...args], { env, timeout: 240_000 });
  await rclone('mkdir', 'wolk:rclonebucket');
  await rclone('copy', '--transfers', '6', up, 'wolk:rclonebucket/dir');
  const ls = (await rclone('ls', 'wolk:rclonebucket')).stdout;
  for (const [name, body] of Object.entries(files)) t.regex(ls, new RegExp(`^\\s*${body.length} dir/${name}$`, 'm'));
  await rclone('copy', 'wolk:rclonebucket/dir', down);
  for (const [name, body] of Object.entries(files)) t.true(readFileSync(join(down, name)).equals(body), name);
});
