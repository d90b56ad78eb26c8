// What scripts/ceph/test.sh hands the tier: a running single-node cluster and an RBD-mounted ext4 volume.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CephTierEnv {
  /** The cluster's ceph.conf. */
  readonly conf: string;
  /** The cluster's state folder (WOLK_CEPH_DIR), for the scripts the tests call. */
  readonly dir: string;
  /** RADOS pool for objects. */
  readonly pool: string;
  /** Mountpoint of the RBD image, ext4 over rbd-fuse and a loop device. */
  readonly mount: string;
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this tier with scripts/ceph/test.sh (npm run test:ceph)`);
  return v;
}

export function cephTierEnv(): CephTierEnv {
  const env = { conf: need('WOLK_CEPH_CONF'), dir: need('WOLK_CEPH_DIR'), pool: need('WOLK_CEPH_POOL'), mount: need('WOLK_CEPH_MOUNT') };
  if (!existsSync(env.conf)) throw new Error(`WOLK_CEPH_CONF=${env.conf} does not exist`);
  return env;
}

/** Runs one of scripts/ceph/*.sh against the tier's cluster; returns its stdout, throws with its stderr. */
export function cephScript(script: string, args: string[] = [], timeoutMs = 180_000): string {
  try {
    return execFileSync(join(REPO_ROOT, 'scripts', 'ceph', script), args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/ceph/${script} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** The `rados` / `rbd` / `ceph` CLI against the tier's cluster: an independent reader of what the code wrote. */
export function cephCli(tool: 'rados' | 'rbd' | 'ceph', args: string[], conf: string): Buffer {
  return execFileSync(tool, ['-c', conf, ...args], { timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A unique suffix per test run, so names never collide with a previous run's leftovers. */
export const runId = `${process.pid}-${Date.now().toString(36)}`;
