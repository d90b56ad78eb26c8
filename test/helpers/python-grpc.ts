// Debian's python3-grpcio and python3-grpc-tools for the second-language tests: installed with apt-get when
// missing (root and a package mirror needed; apt waits for the dpkg lock, so two test workers can ask at
// once). Debian's /usr/bin/python3, not the first python3 on PATH, which cannot see Debian's packages.
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

const ready = () => spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore' }).status === 0;

/** True when the packages are usable (installing them first if needed); otherwise why not. */
export function ensurePythonGrpc(): { ok: boolean; why: string } {
  if (ready()) return { ok: true, why: '' };
  if (process.getuid?.() !== 0) return { ok: false, why: 'python3-grpcio/python3-grpc-tools are missing and this is not root, so apt-get cannot install them' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  spawnSync('apt-get', [...lock, 'update'], { stdio: 'ignore', env, timeout: 300_000 });
  const install = spawnSync('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'python3-grpcio', 'python3-grpc-tools'], { encoding: 'utf8', env, timeout: 600_000 });
  if (ready()) return { ok: true, why: '' };
  return { ok: false, why: `apt-get install python3-grpcio python3-grpc-tools failed: ${(install.stderr || install.error?.message || '').trim().split('\n').pop()}` };
}
