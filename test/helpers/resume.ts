// The steps of a cut-and-resumed upload on a devnet, with the real `wolk put` process (bin/wolk.mjs):
// shared by test/e2e/resume.test.ts (50 MB), `npm run soak -- resume` (500 MB, scripts/soak/resume.ts)
// and `npm run bench -- s3` (resume overhead, bench/s3.ts). Files are written from a seeded stream in
// pieces and compared by SHA-256, so a 500 MB fixture is never held in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WolkClient } from '../../lib/client/client.js';
import { TUS_VERSION } from '../../lib/client/resumable.js';
import { CHECKPOINT_BYTES } from '../../services/gateway/resumable/tus.js';
import { pollUntil } from './poll.js';
import { isAlive, ROOT } from './process.js';
import type { TestRandom } from './seed.js';

/** What a cut may cost beyond the missing bytes: a gateway's last checkpoint interval plus what was in flight (socket buffers). */
export const OVERLAP_BOUND = CHECKPOINT_BYTES + 8 * 1024 * 1024;

/** Bytes per piece when writing a seeded file: a multiple of 4, so the file is the same bytes as one `rnd.bytes(size)`. */
const PIECE = 4 * 1024 * 1024;

/** Writes `size` bytes of `rnd`'s stream to `path` piece by piece; returns their SHA-256 (hex). */
export function writeSeededFile(path: string, size: number, rnd: Pick<TestRandom, 'bytes'>): string {
  const sha = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let o = 0; o < size; o += PIECE) {
      const piece = rnd.bytes(Math.min(PIECE, size - o));
      sha.update(piece);
      writeSync(fd, piece);
    }
  } finally {
    closeSync(fd);
  }
  return sha.digest('hex');
}

/** SHA-256 (hex) of a key as the gateway serves it (every chunk verified on the way), streamed. */
export async function sha256OfKey(gateway: string, uri: string): Promise<string> {
  const h = createHash('sha256');
  await new WolkClient(gateway).get(uri, new Writable({ write: (c: Buffer, _e, cb) => (h.update(c), cb()) }));
  return h.digest('hex');
}

/** Writes `key` as the `wolk` key file (WOLK_KEY) `readKey` loads. */
export function writeKeyFile(path: string, key: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array }): void {
  writeFileSync(path, JSON.stringify({ version: 1, publicKey: Buffer.from(key.publicKey).toString('hex'), secretKey: Buffer.from(key.secretKey).toString('hex') }), { mode: 0o600 });
}

/** Where `wolk put` runs: its working directory, HOME (upload state under HOME/.wolk/uploads), key file and gateway. */
export interface PutEnv {
  readonly work: string;
  readonly home: string;
  readonly keyFile: string;
  readonly gateway: string;
}

export interface PutRun {
  readonly child: ChildProcess;
  stderr(): string;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

/** `wolk put FILE URI [extra…]` as a user runs it (bin/wolk.mjs), with its state under HOME/.wolk/uploads. */
export function wolkPut(e: PutEnv, file: string, uri: string, extra: readonly string[] = []): PutRun {
  const child = spawn(process.execPath, [join(ROOT, 'bin/wolk.mjs'), 'put', file, uri, ...extra], {
    cwd: e.work,
    env: { ...process.env, HOME: e.home, WOLK_GATEWAY: e.gateway, WOLK_KEY: e.keyFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout: out })));
  return { child, stderr: () => err, done };
}

/** What `wolk put` prints for an upload (docs/cli.md), with the resumable path's account of its transfer. */
export interface PutResult {
  readonly state: string;
  readonly filehash: string;
  readonly resumable?: { readonly resumedAt: number; readonly sent: number; readonly retries: number };
}

/** Waits for `run` to end and parses its JSON; anything but exit 0 throws with its stderr. */
export async function putResult(run: PutRun): Promise<PutResult> {
  const r = await run.done;
  if (r.code !== 0) throw new Error(`wolk put exited ${r.code ?? r.signal}: ${run.stderr()}`);
  return JSON.parse(r.stdout) as PutResult;
}

/** The last "uploading N% (… of …)" progress line's percentage (non-TTY progress: a line per 10%). */
export const uploadedPct = (stderr: string): number => Math.max(-1, ...[...stderr.matchAll(/^uploading (\d+)%/gm)].map((m) => Number(m[1])));

/** The upload URL of the one upload state file `wolk put` left under HOME/.wolk/uploads. */
export function uploadUrlOf(home: string): string {
  const dir = join(home, '.wolk', 'uploads');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one upload state file in ${dir}, found ${files.join(', ') || 'none'}`);
  return (JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { uploadUrl: string }).uploadUrl;
}

/** The gateway's answer to HEAD of an upload: its status and durable offset (NaN without one). */
export async function headUpload(gateway: string, uploadUrl: string): Promise<{ status: number; offset: number }> {
  const h = await fetch(new URL(uploadUrl, gateway), { method: 'HEAD', headers: { 'tus-resumable': TUS_VERSION } });
  return { status: h.status, offset: Number(h.headers.get('upload-offset') ?? NaN) };
}

export async function gatewayOffset(gateway: string, uploadUrl: string): Promise<number> {
  return (await headUpload(gateway, uploadUrl)).offset;
}

/** Waits until the gateway holds a durable offset above 0 for the upload (what arrived before a cut). */
export function heldOffset(gateway: string, uploadUrl: string, deadlineMs = 20_000): Promise<number> {
  return pollUntil(() => gatewayOffset(gateway, uploadUrl), { what: 'the gateway to record what arrived before the cut', deadlineMs, intervalMs: 100, until: (n) => n > 0 });
}

/** Bytes a process has handed to write(2) and send(2) so far (/proc/PID/io wchar: files, pipes and sockets). */
export function bytesWritten(pid: number): number {
  const m = /^wchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/io has no wchar line`);
  return Number(m[1]);
}

/** Waits until `run` has written at least `atBytes` (wchar); fails if it ends first. Returns the count seen. */
export function waitWritten(run: PutRun, atBytes: number, deadlineMs: number): Promise<number> {
  const pid = run.child.pid!;
  return pollUntil(() => (run.child.exitCode === null ? bytesWritten(pid) : Promise.reject(new Error(`wolk put ended first: ${run.stderr()}`))), {
    what: `wolk put to write ${atBytes} bytes`,
    deadlineMs,
    intervalMs: 10,
    until: (n) => n >= atBytes,
    describe: (n) => `${n} bytes; stderr: ${run.stderr()}`,
  });
}

/**
 * Cuts `run` once it has written at least `atBytes` (wchar): SIGSTOP, read the exact count while it is
 * stopped, then SIGKILL. Returns the bytes it had written: an upper bound of what it sent the gateway
 * (the count also holds its progress lines and the state file), so `size - written` is at most what
 * was missing after the cut.
 */
export async function killWhenWritten(run: PutRun, atBytes: number, deadlineMs: number): Promise<number> {
  const pid = run.child.pid!;
  await waitWritten(run, atBytes, deadlineMs);
  run.child.kill('SIGSTOP');
  await pollUntil(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0], { what: 'wolk put to stop', deadlineMs: 5000, intervalMs: 5, until: (s) => s === 'T' });
  const written = bytesWritten(pid);
  run.child.kill('SIGKILL');
  await run.done;
  return written;
}

/** The environment a running process was started with (/proc/PID/environ), to start it again as the launcher did. */
export function environOf(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/**
 * SIGKILLs the devnet's gateway (pid `pid`) and starts it again with the same environment (data
 * directory, ports, peers); resolves once the new one answers /healthz. The launcher does not restart
 * processes: the caller owns the returned child and stops it (stopProcess) before the devnet.
 */
export async function killAndRestartGateway(gateway: string, pid: number): Promise<ChildProcess> {
  const env = environOf(pid);
  process.kill(pid, 'SIGKILL');
  await pollUntil(() => !isAlive(pid), { what: 'the gateway to die', deadlineMs: 10_000, until: (dead) => dead });
  const restarted = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'ignore'] });
  await pollUntil(async () => (await fetch(`${gateway}/healthz`).catch(() => undefined))?.status, { what: 'the restarted gateway to answer', deadlineMs: 60_000, intervalMs: 200, until: (s) => s === 200 });
  return restarted;
}

/** SIGTERM to a child still running, resolved once it exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}
