// `npm run soak -- resume` (issue #22): resumable uploads of a large file (500 MB by default) on the
// devnet, with the real `wolk put` process, each cut at a seeded point of the bytes it has written:
//   1. the client is SIGKILLed (SIGSTOPped first, so the bytes it wrote are counted exactly), and the
//      same command is run again: it resumes from the gateway's offset, sends what was missing and at
//      most OVERLAP_BOUND more, and the key reads back byte-identical;
//   2. the gateway is SIGKILLed mid-upload and started again with the same environment: the running
//      `wolk put` retries from the gateway's durable offset, sends at most OVERLAP_BOUND twice, and the
//      key reads back byte-identical;
//   3. an upload abandoned after its client was killed is reclaimed by the gateway once its expiry
//      passes (the devnet runs with WOLK_RESUMABLE_EXPIRY_MS = --expiry-s): its directory under the
//      gateway's uploads/ goes without anyone asking, and HEAD then answers 404.
// Files are written from the seeded test PRNG piece by piece and compared by SHA-256; nothing holds a
// whole file in memory. The steps are test/e2e/resume.test.ts's (test/helpers/resume.ts).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WolkClient } from '../../lib/client/client.js';
import { startDevnet, type Devnet } from '../../test/helpers/devnet.js';
import { pollUntil } from '../../test/helpers/poll.js';
import {
  headUpload,
  heldOffset,
  killAndRestartGateway,
  killWhenWritten,
  OVERLAP_BOUND,
  putResult,
  sha256OfKey,
  stopProcess,
  uploadUrlOf,
  waitWritten,
  wolkPut,
  writeKeyFile,
  writeSeededFile,
  type PutEnv,
} from '../../test/helpers/resume.js';
import { testRandom } from '../../test/helpers/seed.js';
import { peakRssCheck, startSoak, type SoakReport } from './report.js';

export interface ResumeSoakOptions {
  readonly seed: number;
  /** File size in MB (10^6 bytes). */
  readonly mb: number;
  /** The devnet gateway's WOLK_RESUMABLE_EXPIRY_MS, in seconds. */
  readonly expirySeconds: number;
  readonly log?: (line: string) => void;
}

const MB = 1e6;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

export async function runResumeSoak(o: ResumeSoakOptions): Promise<SoakReport> {
  const soak = startSoak('resume', o.seed, o.log);
  const { log, check } = soak;
  const size = o.mb * MB;
  const rnd = testRandom('soak/resume', o.seed);
  const work = mkdtempSync(join(tmpdir(), 'wolk-soak-resume-'));
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const keyFile = join(work, 'key.json');
  const key = rnd.keyPair();
  writeKeyFile(keyFile, key);
  log(`seed ${o.seed}, ${o.mb} MB files, upload expiry ${o.expirySeconds} s; work directory ${work}`);

  log('starting the devnet (13 processes)…');
  const devnet: Devnet = await startDevnet(join(work, 'devnet'), {
    // As bench/e2e.ts: 6 storers on 2 shared cores fetch every upload at once.
    WOLK_COMMIT_DEADLINE_MS: '600000',
    WOLK_FINALITY_TIMEOUT_MS: '300000',
    WOLK_RESUMABLE_EXPIRY_MS: String(o.expirySeconds * 1000),
  });
  let restarted: ChildProcess | undefined;
  let passed = false;
  try {
    const gateway = devnet.endpoints().gateway;
    const env: PutEnv = { work, home, keyFile, gateway };
    await new WolkClient(gateway, key).claim('soak');
    const gw = devnet.processes().find((p) => p.name.startsWith('gateway'));
    if (!gw) throw new Error('no gateway in the devnet');
    const uploadsDir = join(devnet.dir, gw.name, 'uploads');
    const deadline = 900_000;

    // ---- 1. the client killed at a seeded point, the same command run again ----
    log(`writing ${o.mb} MB (file A)…`);
    const fileA = join(work, 'a.bin');
    const shaA = writeSeededFile(fileA, size, rnd);
    const cutA = Math.floor((size * rnd.int(5, 95)) / 100);
    log(`1. wolk put of A, SIGKILLed once it has written ${cutA} bytes (${((100 * cutA) / size).toFixed(0)}%)`);
    const written = await killWhenWritten(wolkPut(env, fileA, 'wolk://soak/r/a.bin'), cutA, deadline);
    const urlA = uploadUrlOf(home);
    const held = await heldOffset(gateway, urlA);
    log(`killed at ${written} bytes written; the gateway holds ${held}; running the same command again…`);
    const rerun = wolkPut(env, fileA, 'wolk://soak/r/a.bin');
    const r1 = await putResult(rerun);
    check('client cut: the rerun is final through the resumable path', `state ${r1.state}, ${r1.resumable ? 'resumable' : 'not resumable'}`, r1.state === 'final' && r1.resumable !== undefined && /resuming at /.test(rerun.stderr()));
    if (r1.resumable) {
      const { resumedAt, sent } = r1.resumable;
      const missing = size - Math.min(size, written);
      check('client cut: resumed at or past the offset the gateway held', `resumed at ${resumedAt}, held ${held}`, resumedAt >= held);
      check(`client cut: sent after the cut <= missing + ${mb(OVERLAP_BOUND)}`, `sent ${mb(sent)} for ${mb(missing)} missing (overlap ${sent - missing} B)`, sent - missing <= OVERLAP_BOUND && sent <= size - resumedAt + OVERLAP_BOUND);
    }
    const gotA = await sha256OfKey(gateway, 'wolk://soak/r/a.bin');
    check('client cut: GET byte-identical (SHA-256)', gotA === shaA ? shaA.slice(0, 16) : `${gotA.slice(0, 16)} != ${shaA.slice(0, 16)}`, gotA === shaA);

    // ---- 2. the gateway killed mid-upload and started again ----
    log(`writing ${o.mb} MB (file B)…`);
    const fileB = join(work, 'b.bin');
    const shaB = writeSeededFile(fileB, size, rnd);
    const cutB = Math.floor((size * rnd.int(5, 95)) / 100);
    log(`2. wolk put of B; the gateway SIGKILLed once the client has written ${cutB} bytes, then restarted`);
    const put = wolkPut(env, fileB, 'wolk://soak/r/b.bin');
    await waitWritten(put, cutB, deadline);
    restarted = await killAndRestartGateway(gateway, gw.pid);
    log('the gateway is back; waiting for wolk put to finish…');
    const r2 = await putResult(put);
    check('gateway cut: the same run is final after retrying', `state ${r2.state}, ${r2.resumable?.retries ?? 0} retries`, r2.state === 'final' && (r2.resumable?.retries ?? 0) >= 1);
    if (r2.resumable) {
      const overlap = r2.resumable.sent - size;
      check(`gateway cut: sent <= size + ${mb(OVERLAP_BOUND)}`, `sent ${mb(r2.resumable.sent)} for ${mb(size)} (overlap ${overlap} B)`, overlap >= 0 && overlap <= OVERLAP_BOUND);
    }
    const gotB = await sha256OfKey(gateway, 'wolk://soak/r/b.bin');
    check('gateway cut: GET byte-identical (SHA-256)', gotB === shaB ? shaB.slice(0, 16) : `${gotB.slice(0, 16)} != ${shaB.slice(0, 16)}`, gotB === shaB);
    rmSync(fileB, { force: true });

    // ---- 3. an abandoned upload is reclaimed ----
    const cutC = Math.floor((size * rnd.int(5, 50)) / 100);
    log(`3. wolk put of A to another key, SIGKILLed at ${cutC} bytes written and never run again`);
    await killWhenWritten(wolkPut(env, fileA, 'wolk://soak/r/abandoned.bin'), cutC, deadline);
    const urlC = uploadUrlOf(home);
    const heldC = await heldOffset(gateway, urlC);
    const dirC = join(uploadsDir, urlC.slice('/uploads/'.length));
    check('abandoned: the gateway holds its bytes on disk', `${mb(heldC)} at ${existsSync(dirC) ? dirC : '(no directory)'}`, existsSync(dirC));
    const since = Date.now();
    // The reaper runs every expiry/4 (at least 1 s): the directory must go within expiry + that + slack.
    const waitMs = o.expirySeconds * 1000 * 1.25 + 60_000;
    log(`waiting up to ${(waitMs / 1000).toFixed(0)} s for the gateway to reclaim it (expiry ${o.expirySeconds} s)…`);
    const gone = await pollUntil(() => !existsSync(dirC), { what: `the gateway to remove ${dirC}`, deadlineMs: waitMs, intervalMs: 1000, until: (g) => g }).catch(() => false);
    const head = await headUpload(gateway, urlC);
    check('abandoned: reclaimed after its expiry without being asked', `${gone ? `directory gone after ${((Date.now() - since) / 1000).toFixed(0)} s` : 'directory still there'}; HEAD ${head.status}`, gone && head.status === 404);
    const rss = peakRssCheck(size);
    check(rss.check, rss.measured, rss.ok);
    passed = soak.passed();
  } finally {
    await stopProcess(restarted);
    await devnet.stop();
    if (passed) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work} (devnet logs under devnet/logs/)`);
  }
  return soak.report();
}
