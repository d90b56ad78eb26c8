// A storer process whose WOLK_DATA_DIR is an RBD-mounted ext4 volume (what a pod gets from Rook's
// rook-ceph-block StorageClass): it stores and serves files, survives SIGKILL in the middle of an upload
// with every acknowledged file intact and nothing partial visible, and its data is still there after the
// volume is unmounted and mounted again. Uses its own image so the tier's main volume is untouched.
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { FileInfo } from '../../gen/wolk/common/v1/storage.js';
import type { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { spawnService, waitForLog } from '../helpers/process.js';
import { getFile, infoOf, pattern, setFile, storerClient } from '../unit/storer/client.js';
import { cephCli, cephScript, cephTierEnv, runId } from './env.js';
import { setFileData, setFileStart } from '../../lib/chain/write-request.js';

const env = cephTierEnv();

async function startStorer(dataDir: string): Promise<{ child: ChildProcess; client: StorerServiceClient }> {
  const child = spawnService('storer', { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir });
  const started = await waitForLog(child, 'started');
  child.stderr?.resume();
  return { child, client: storerClient(started['grpc'] as string) };
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function readBack(client: StorerServiceClient, info: FileInfo): Promise<Buffer | null> {
  try {
    return (await getFile(client, { filehash: info.filehash })).bytes;
  } catch (err) {
    if ((err as ServiceError).code === status.NOT_FOUND) return null;
    throw err;
  }
}

test.serial('storer on an RBD volume: files survive SIGKILL and an unmount/remount; partial uploads never appear', async (t) => {
  t.timeout(600_000);
  const image = `storer-${runId}`;
  const mp = mkdtempSync(join(tmpdir(), 'wolk-rbd-storer-'));
  const dataDir = join(mp, 'storer');
  try {
    t.is(cephScript('rbd-mount.sh', [image, '512M', mp]).trim(), mp);

    // Acknowledged uploads, then one that is cut off by SIGKILL half way.
    let { child, client } = await startStorer(dataDir);
    const files = [1, 2, 3].map((seed) => {
      const data = pattern(seed * 1024 * 1024 + seed * 777, seed);
      return { data, info: infoOf(data) };
    });
    for (const f of files) await setFile(client, f.info, f.data);
    const partialData = pattern(8 * 1024 * 1024, 99);
    const partialInfo = infoOf(partialData);
    const call = client.setFile(() => undefined);
    call.on('error', () => undefined);
    call.write(setFileStart(partialInfo));
    call.write(setFileData(partialData.subarray(0, 3 * 1024 * 1024)));
    await new Promise((r) => setTimeout(r, 500));
    await stop(child, 'SIGKILL');
    client.close();

    ({ child, client } = await startStorer(dataDir));
    for (const f of files) t.true((await readBack(client, f.info))?.equals(f.data), 'an acknowledged file is intact after SIGKILL');
    t.is(await readBack(client, partialInfo), null, 'the cut-off upload is not visible');
    await stop(child, 'SIGTERM');
    client.close();

    // The volume goes away and comes back: the storer finds its files in the RBD image.
    cephScript('rbd-umount.sh', [mp]);
    t.is(cephScript('rbd-mount.sh', [image, '512M', mp]).trim(), mp, 'remounted');
    ({ child, client } = await startStorer(dataDir));
    for (const f of files) t.true((await readBack(client, f.info))?.equals(f.data), 'the file is in the image after remount');
    await stop(child, 'SIGTERM');
    client.close();
  } finally {
    try {
      cephScript('rbd-umount.sh', [mp]);
    } catch {
      /* already unmounted */
    }
    rmSync(mp, { recursive: true, force: true });
    cephCli('rbd', ['rm', '--no-progress', `rbd/${image}`], env.conf);
  }
});
