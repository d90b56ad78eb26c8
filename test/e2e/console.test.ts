// The web console (docs/console.md) in a real headless Chromium (Debian's, installed by
// scripts/chromium/install.sh, driven by playwright-core) against the devnet: every page renders the
// devnet's real data, a key imported into the page claims a name and uploads a file that then shows
// in the file view and on the storers page, Verify turns green for it and red for a tampered proof,
// the page logs no errors, axe-core finds no serious or critical violation at desktop and phone
// width, the pages can be reached by keyboard, and a screenshot of each page is saved (path printed).
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Request, type Route } from 'playwright-core';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { ConsensusServiceClient, GetStateProofResponse, type GetBlockResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { RewardsServiceClient, type GetReputationResponse, type GetTallyResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { FULL_REPUTATION_PPM, nextReputation } from '../../lib/chain/reputation.js';
import { effectiveTallies } from '../../lib/chain/reward.js';
import { WolkClient } from '../../lib/client/client.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import { RESUMABLE_MIN_BYTES, TUS_VERSION } from '../../lib/client/tus.js';
import { hashFile } from '../../lib/merkle/file.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { ROOT } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/console.test.ts');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
logSeedOnFailure(test);

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const shots = mkdtempSync(join(tmpdir(), 'wolk-console-shots-'));

let devnet: Devnet;
let context: BrowserContext;
let gateway: string;

interface Problems {
  /** Errors the page logged (console.error, uncaught exceptions), each with where it came from. */
  readonly errors: string[];
  /** Every request that failed or answered 4xx/5xx, so an error like "Failed to load resource" names its URL. */
  readonly requests: string[];
}

function watch(page: Page): Problems {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location();
    errors.push(`console: ${m.text()}${at.url ? ` (at ${at.url}:${at.lineNumber})` : ''} [page ${page.url()}]`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.stack ?? e.message} [page ${page.url()}]`));
  page.on('requestfailed', (r) => requests.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText ?? '?'}`));
  page.on('response', (r) => {
    if (r.status() >= 400) requests.push(`${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  return { errors, requests };
}

async function axe(page: Page): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  await page.addScriptTag({ path: axeSource });
  return page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`);
}

function unary<Res>(f: (md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

/** The page's PATCH size for resumable uploads (console/src/pages/upload.ts PATCH_BYTES). */
const PATCH_BYTES = 4 * 1024 * 1024;

async function chainRound(): Promise<bigint> {
  const r = (await (await fetch(`${gateway}/chain`)).json()) as { finalizedRound: string };
  return BigInt(r.finalizedRound);
}

test.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/chromium/install.sh (as root) first`);
  if (!existsSync(join(ROOT, 'dist', 'console', 'app.js'))) throw new Error('the console is not built: npm run build:console');
  devnet = await startDevnet();
  gateway = devnet.endpoints().gateway;
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'wolk-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    // axe-core is injected as a script; the console's own CSP allows only its own files.
    bypassCSP: true,
  });
});

test.after.always(async () => {
  await context?.close();
  await devnet?.stop();
});

test.serial('every page renders the devnet; a browser upload is listed, verified green, and red once tampered', async (t) => {
  t.timeout(420_000);
  t.log(`screenshots: ${shots}; devnet: ${devnet.dir}`);
  const page = await context.newPage();
  const problems = watch(page);
  // Opens a page and waits for its data; the same address again reloads (a hash the page is already at
  // would not render anew).
  const open = async (hash: string): Promise<void> => {
    const url = `${gateway}/console/${hash}`;
    if (page.url() === url) await page.reload();
    else await page.goto(url);
    await page.locator('main[aria-busy=false] h1').waitFor({ timeout: 15_000 });
  };
  // An assertion that fails half-way still shows what the browser said until then.
  let finished = false;
  t.teardown(() => {
    if (!finished && problems.errors.length > 0) console.error(`the console logged:\n${problems.errors.join('\n')}\nrequests that failed or answered 4xx/5xx:\n${problems.requests.join('\n') || '(none)'}`);
  });
  const genesis = (await (await fetch(`${gateway}/console/api/genesis`)).json()) as { nodes: { id: string; roles: string[] }[] };
  const storerIds = genesis.nodes.filter((n) => n.roles.includes('storer')).map((n) => n.id);
  const validatorIds = genesis.nodes.filter((n) => n.roles.includes('consensus')).map((n) => n.id);

  // Network: the tip is the gateway's finalized round (the chain moves on: between two reads of it).
  const before = await chainRound();
  await page.goto(`${gateway}/console/#/network`);
  const tipText = await page.locator('[data-testid=tip-round]').textContent();
  const after = await chainRound();
  const shown = BigInt((tipText ?? '').replace(/,/g, ''));
  t.true(shown >= before && shown <= after + 1n, `the tip shown (${shown}) is the gateway's finalized round (${before}..${after})`);
  for (const id of validatorIds) t.is(await page.locator(`[title="${id}"]`).count(), 1, `validator ${id} is listed`);
  await page.locator('svg.chart rect.bar').first().waitFor();
  // Live: a later block reaches the page without a reload.
  await pollUntil(async () => BigInt(((await page.locator('[data-testid=tip-round]').textContent()) ?? '0').replace(/,/g, '')), { what: 'the network page to show a newer tip by itself', deadlineMs: 20_000, until: (r) => r > shown });
  await page.screenshot({ path: join(shots, 'network.png'), fullPage: true });

  // Blocks, live: #/blocks follows the chain, and a newer block replaces the one shown without a reload.
  await open('#/blocks');
  const blockRound = async () => BigInt(((await page.getByTestId('block-round').textContent()) ?? 'Round 0').replace(/[^\d]/g, ''));
  const firstShown = await blockRound();
  t.true(firstShown >= shown, `#/blocks shows the newest block (round ${firstShown})`);
  await pollUntil(blockRound, { what: 'the blocks page to show a newer block by itself', deadlineMs: 20_000, until: (r) => r > firstShown });
  // A given block stays on screen, and the blocks finalized after it are listed as they come.
  await open(`#/blocks/${firstShown}`);
  await pollUntil(async () => page.locator('section[aria-label="Newer blocks"] a').count(), { what: 'a newer block to be listed under a given block without a reload', deadlineMs: 20_000, until: (n) => n > 0 });
  t.is(await page.getByTestId('block-round').textContent(), `Round ${Number(firstShown).toLocaleString('en-US')}`, 'the given block stays');
  await page.screenshot({ path: join(shots, 'blocks-live.png'), fullPage: true });

  // Storers: every storer of the genesis, live.
  await page.goto(`${gateway}/console/#/storers`);
  for (const id of storerIds) await page.locator(`[data-storer="${id}"]`).waitFor({ timeout: 15_000 });
  t.is(await page.getByText('live', { exact: true }).count(), storerIds.length, 'every storer answers');

  // Upload from the browser: a key created in the page (the browser's CSPRNG) claims a name and puts a file.
  const owner = `console-${seeded.hex(4)}`;
  const body = seeded.bytes(100_000);
  await page.goto(`${gateway}/console/#/upload`);
  await page.getByRole('button', { name: 'Create a key in this browser' }).click();
  const copyKey = page.getByRole('button', { name: /^copy public key [0-9a-f]{64}$/ });
  const publicKey = ((await copyKey.getAttribute('aria-label')) ?? '').slice('copy public key '.length);
  await page.locator('#owner-name').fill(owner);
  await page.getByRole('button', { name: 'Claim' }).click();
  const claimed = await pollUntil(async () => (await page.getByTestId('name-status').textContent()) ?? '', { what: 'the claim to end', deadlineMs: 60_000, until: (s) => /is yours|Could not|belongs/.test(s) });
  t.true(claimed.includes(`${owner} is yours`), `the page claimed the name: ${claimed}`);
  const nameOnChain = (await (await fetch(`${gateway}/wolk/${owner}`)).json()) as { owner: string };
  t.is(nameOnChain.owner, publicKey, 'the chain binds the name to the key the page created');
  await page.locator('#up-key').fill('notes/hello.bin');
  await page.locator('#up-file').setInputFiles({ name: 'hello.bin', mimeType: 'application/octet-stream', buffer: body });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const stored = await pollUntil(async () => (await page.getByTestId('upload-result').textContent()) ?? '', { what: 'the upload to end', deadlineMs: 60_000, until: (s) => s !== '' });
  t.true(stored.includes('Stored'), `the page uploaded the file: ${stored}`);
  t.is(await page.locator('#up-progress').getAttribute('value'), '100');
  await page.screenshot({ path: join(shots, 'upload.png'), fullPage: true });
  // The key file the page exports brings the same key back after it is forgotten (what a user does to
  // keep their key or move it to another browser).
  await page.getByRole('button', { name: 'Show / hide key file' }).click();
  const keyFile = (await page.locator('pre.secret').textContent()) ?? '';
  t.is((JSON.parse(keyFile) as { publicKey: string }).publicKey, publicKey, 'the exported key file holds the page key');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Forget key' }).click();
  await page.locator('#key-import').fill(keyFile);
  await page.getByRole('button', { name: 'Import key' }).click();
  t.is(await page.getByRole('button', { name: `copy public key ${publicKey}` }).count(), 1, 'the imported key file is the same key');

  // A file of RESUMABLE_MIN_BYTES or more goes as a resumable (tus 1.0) upload, in PATCHes of 4 MiB;
  // the connection of the second PATCH is broken (as a network would: reset, nothing answered), and
  // the page asks the gateway for its offset (HEAD) and resumes from there, not from 0.
  const big = seeded.bytes(RESUMABLE_MIN_BYTES + 100_000);
  // Given as a file on disk: the local browser opens it itself. A buffer is sent through the DevTools
  // pipe (~0.8 s/MB measured elsewhere), and a clean-clone CI run on a loaded 2-core machine timed
  // out at 30 s in setInputFiles with this 8.5 MB one.
  const bigFile = join(mkdtempSync(join(tmpdir(), 'wolk-console-big-')), 'big.bin');
  writeFileSync(bigFile, big);
  const bigPath = `/wolk/${owner}/uploads/big.bin`;
  const sent: { method: string; path: string; offset?: string; tus?: string }[] = [];
  const onRequest = (r: Request) => {
    const u = new URL(r.url());
    if (u.pathname === bigPath || u.pathname.startsWith('/uploads/')) sent.push({ method: r.method(), path: u.pathname, ...(r.headers()['upload-offset'] ? { offset: r.headers()['upload-offset'] } : {}), ...(r.headers()['tus-resumable'] ? { tus: r.headers()['tus-resumable'] } : {}) });
  };
  page.on('request', onRequest);
  let cut: string | undefined;
  const isUpload = (u: URL) => u.pathname.startsWith('/uploads/') && u.pathname.length > '/uploads/'.length;
  const breakSecondPatch = async (route: Route) => {
    const r = route.request();
    if (!cut && r.method() === 'PATCH' && r.headers()['upload-offset'] === String(PATCH_BYTES)) {
      cut = r.url();
      return route.abort('connectionreset');
    }
    return route.continue();
  };
  await page.route(isUpload, breakSecondPatch);
  await page.locator('#up-key').fill('big.bin');
  await page.locator('#up-file').setInputFiles(bigFile);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const bigStored = await pollUntil(async () => (await page.getByTestId('upload-result').textContent()) ?? '', { what: 'the resumable upload to end', deadlineMs: 120_000, until: (s) => s !== '' });
  await page.unrouteAll({ behavior: 'wait' });
  page.off('request', onRequest);
  t.true(bigStored.includes('Stored'), `the page uploaded the large file: ${bigStored}`);
  t.regex(bigStored, /resumable upload, 1 broken connection\(s\) recovered/);
  t.is(await page.locator('#up-progress').getAttribute('value'), '100');
  t.regex((await page.getByTestId('upload-log').textContent()) ?? '', new RegExp(`Resuming at ${(PATCH_BYTES / 1e6).toFixed(1)} MB of ${(big.length / 1e6).toFixed(1)} MB`));
  await page.screenshot({ path: join(shots, 'upload-resumable.png'), fullPage: true });
  // The network log: tus discovery (OPTIONS), a creation (POST), PATCHes from 0 in 4 MiB steps, the cut one, a HEAD, and the
  // same offset again; no plain PUT.
  const uploadUrl = sent.find((r) => r.method === 'PATCH')?.path ?? '';
  const steps = sent.map((r) => `${r.method} ${r.path === bigPath ? 'FILE' : r.path === uploadUrl ? 'UPLOAD' : r.path}${r.offset !== undefined ? ` @${r.offset}` : ''}`);
  t.deepEqual(steps, ['OPTIONS /uploads/', 'POST FILE', 'PATCH UPLOAD @0', `PATCH UPLOAD @${PATCH_BYTES}`, 'HEAD UPLOAD', `PATCH UPLOAD @${PATCH_BYTES}`, `PATCH UPLOAD @${2 * PATCH_BYTES}`], `the page's requests for the large file: ${steps.join(', ')}`);
  t.true(sent.filter((r) => r.method !== 'OPTIONS').every((r) => r.tus === TUS_VERSION), 'every request of it says Tus-Resumable: 1.0.0');
  t.is(cut, new URL(uploadUrl, gateway).href, 'the broken request was a PATCH of the upload');

  // A tab closed (here: reloaded) while the connection stays broken: choosing the same file again
  // continues the upload the page kept in localStorage, from the gateway's offset, without hashing or
  // creating it again. (A file on disk, so the browser reports the same modification time both times.)
  const again = seeded.bytes(RESUMABLE_MIN_BYTES + 50_000);
  const againFile = join(mkdtempSync(join(tmpdir(), 'wolk-console-again-')), 'again.bin');
  writeFileSync(againFile, again);
  const againPath = `/wolk/${owner}/uploads/again.bin`;
  const againSent: { method: string; path: string; offset?: string }[] = [];
  const onAgain = (r: Request) => {
    const u = new URL(r.url());
    if (u.pathname === againPath || u.pathname.startsWith('/uploads/')) againSent.push({ method: r.method(), path: u.pathname, ...(r.headers()['upload-offset'] ? { offset: r.headers()['upload-offset'] } : {}) });
  };
  const cutAfterFirst = async (route: Route) => (route.request().method() === 'PATCH' && route.request().headers()['upload-offset'] !== '0' ? route.abort('connectionreset') : route.continue());
  await page.route(isUpload, cutAfterFirst);
  await page.locator('#up-key').fill('again.bin');
  await page.locator('#up-file').setInputFiles(againFile);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await pollUntil(async () => (await page.getByTestId('upload-log').textContent()) ?? '', { what: 'the second PATCH to be cut and retried', deadlineMs: 60_000, until: (s) => s.includes('trying again') });
  await page.unrouteAll({ behavior: 'wait' });
  await page.reload();
  await page.locator('main[aria-busy=false] h1').waitFor({ timeout: 15_000 });
  page.on('request', onAgain);
  await page.locator('#up-key').fill('again.bin');
  await page.locator('#up-file').setInputFiles(againFile);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const againStored = await pollUntil(async () => (await page.getByTestId('upload-result').textContent()) ?? '', { what: 'the resumed upload to end', deadlineMs: 120_000, until: (s) => s !== '' });
  page.off('request', onAgain);
  t.true(againStored.includes('Stored') && againStored.includes('resumed at 4.00 MiB'), `the upload kept from before the reload was resumed: ${againStored}`);
  t.regex((await page.getByTestId('upload-log').textContent()) ?? '', new RegExp(`Resuming at ${(PATCH_BYTES / 1e6).toFixed(1)} MB of ${(again.length / 1e6).toFixed(1)} MB`));
  const againSteps = againSent.map((r) => `${r.method} ${r.path === againPath ? 'FILE' : r.path.startsWith('/uploads/') && r.path.length > 9 ? 'UPLOAD' : r.path}${r.offset !== undefined ? ` @${r.offset}` : ''}`);
  t.deepEqual(againSteps, ['OPTIONS /uploads/', 'HEAD UPLOAD', `PATCH UPLOAD @${PATCH_BYTES}`, `PATCH UPLOAD @${2 * PATCH_BYTES}`], `after the reload: no creation, the kept upload continued: ${againSteps.join(', ')}`);
  const againRecord = KeyRecord.decode(GetStateProofResponse.decode(Buffer.from(((await (await fetch(`${gateway}${againPath}?proof`)).json()) as { proof: string }).proof, 'base64')).proof!.value!);
  t.is(hex(againRecord.file!.filehash), hex(hashFile(again, againRecord.file!.chunkSize).filehash), 'the resumed upload holds the bytes of the file');
  await page.screenshot({ path: join(shots, 'upload-resumed-after-reload.png'), fullPage: true });
  // Chromium logs the reset request it was told to fail: that line is the condition under test.
  const cutNoise = (e: string) => e.includes('ERR_CONNECTION_RESET');
  problems.errors.splice(0, problems.errors.length, ...problems.errors.filter((e) => !cutNoise(e)));

  const bigProofJson = (await (await fetch(`${gateway}${bigPath}?proof`)).json()) as { proof: string };
  const bigRecord = KeyRecord.decode(GetStateProofResponse.decode(Buffer.from(bigProofJson.proof, 'base64')).proof!.value!);
  const bigHash = hex(bigRecord.file!.filehash);
  t.is(bigHash, hex(hashFile(big, bigRecord.file!.chunkSize).filehash), 'the chain holds the file hash of the large file the page read');
  t.is(Number(bigRecord.file!.size), big.length);
  await open(`#/files?uri=${encodeURIComponent(`wolk://${owner}/uploads/big.bin`)}`);
  await page.getByRole('button', { name: 'Verify' }).waitFor({ timeout: 15_000 });
  t.is(await page.locator(`main [title="${bigHash}"]`).count(), 1, 'the file view shows the large file\'s hash');
  for (const c of bigRecord.commitments) {
    t.is(await page.locator(`main [title="${hex(c.storerId)}"]`).count(), 1, `storer ${hex(c.storerId)} of the large file is in the file view`);
    t.is(await page.locator(`main [title="${hex(c.replicaRoot)}"]`).count(), 1, `its replica root ${hex(c.replicaRoot)} is shown`);
  }

  const uri = `wolk://${owner}/uploads/notes/hello.bin`;
  const filePath = `/wolk/${owner}/uploads/notes/hello.bin`;

  // What the chain says, read apart from the console's own API: the key's proof as `wolk proof` gets it.
  const proofJson = (await (await fetch(`${gateway}${filePath}?proof`)).json()) as { proof: string };
  const proof = GetStateProofResponse.decode(Buffer.from(proofJson.proof, 'base64'));
  const record = KeyRecord.decode(proof.proof!.value!);
  const filehash = hex(record.file!.filehash);
  t.is(filehash, hex(hashFile(body, record.file!.chunkSize).filehash), 'the chain holds the file hash of the bytes the page read');
  t.is(Number(record.file!.size), body.length);
  t.is(record.commitments.length, 3, 'N = 3 storers committed');

  // The collection lists the key; following it opens the file view.
  await open(`#/files?uri=${encodeURIComponent(`wolk://${owner}/uploads/`)}`);
  await page.getByRole('link', { name: 'notes/hello.bin', exact: true }).click();
  await page.locator('#file-uri').and(page.locator(`[value="${uri}"]`)).waitFor({ timeout: 15_000 });

  // Files: the record with its N storers, and Verify in the browser (proof, certificate and bytes).
  await page.goto(`${gateway}/console/#/files?uri=${encodeURIComponent(uri)}`);
  // The page renders after its own request: wait for it before counting.
  await page.getByRole('button', { name: 'Verify' }).waitFor({ timeout: 15_000 });
  t.is(await page.locator(`main [title="${filehash}"]`).count(), 1, 'the file view shows the file hash');
  for (const c of record.commitments) {
    t.is(await page.locator(`main [title="${hex(c.storerId)}"]`).count(), 1, `storer ${hex(c.storerId)} is in the file view`);
    t.is(await page.locator(`main [title="${hex(c.replicaRoot)}"]`).count(), 1, `its replica root ${hex(c.replicaRoot)} is shown`);
  }
  const verdict = page.getByTestId('verify-result');
  const verify = async (): Promise<string> => {
    await page.getByRole('button', { name: 'Verify' }).click();
    await verdict.locator('.verdict').waitFor({ timeout: 20_000 });
    return (await verdict.textContent()) ?? '';
  };
  const green = await verify();
  t.regex((await verdict.getAttribute('class')) ?? '', /\bok\b/, `Verify is green: ${green}`);
  t.true(green.includes(`${uri} is file ${filehash.slice(0, 16)}`), 'the verdict says what was proven');
  t.true(green.includes(`The ${body.length.toLocaleString('en-US')} bytes the gateway serves for it hash to that file hash`), 'the bytes were checked');
  await page.screenshot({ path: join(shots, 'files-verified.png'), fullPage: true });

  // The same check against what an attacker between the chain and the page (a dishonest gateway, or
  // the network) could hand over: each must turn it red and say why.
  const isProof = (u: URL) => u.pathname === filePath && u.search === '?proof';
  const isBytes = (u: URL) => u.pathname === filePath && u.search === '';
  const isView = (u: URL) => u.pathname === '/console/api/file';
  const forged = Buffer.from(body);
  forged[forged.length >> 1]! ^= 0x01;
  const forgedHash = hex(hashFile(forged, record.file!.chunkSize).filehash);
  const rewriteProof = (edit: (p: GetStateProofResponse) => void) => async (route: Route) => {
    const res = await route.fetch();
    const j = (await res.json()) as { proof: string };
    const p = GetStateProofResponse.decode(Buffer.from(j.proof, 'base64'));
    edit(p);
    await route.fulfill({ response: res, json: { ...j, proof: Buffer.from(GetStateProofResponse.encode(p).finish()).toString('base64') } });
  };
  const attacks: { what: string; routes: [(u: URL) => boolean, (r: Route) => Promise<void>][]; reload?: boolean; expect: RegExp }[] = [
    {
      what: 'the proof claims the key holds other bytes',
      routes: [[isProof, rewriteProof((p) => {
        const r = KeyRecord.decode(p.proof!.value!);
        r.file!.filehash = Buffer.from(forgedHash, 'hex');
        p.proof!.value = Buffer.from(KeyRecord.encode(r).finish());
      })]],
      expect: /the proof does not lead to the state root/,
    },
    { what: 'the proof\'s block header is altered', routes: [[isProof, rewriteProof((p) => void (p.header!.timestampMs += 1n))]], expect: /does not hash to the certified block/ },
    { what: 'the certificate keeps one cert vote', routes: [[isProof, rewriteProof((p) => void (p.certificate!.votes = p.certificate!.votes.slice(0, 1)))]], expect: /not a cert quorum of the genesis committee/ },
    {
      what: 'the gateway serves corrupted bytes',
      routes: [[isBytes, async (route) => route.fulfill({ response: await route.fetch(), body: forged })]],
      expect: new RegExp(`the bytes the gateway served \\(${body.length.toLocaleString('en-US')} bytes, file hash ${forgedHash.slice(0, 16)}…\\) do not hash to the proven file ${filehash.slice(0, 16)}`),
    },
    {
      what: 'the gateway serves corrupted bytes and reports their hash as the record',
      routes: [
        [isBytes, async (route) => route.fulfill({ response: await route.fetch(), body: forged })],
        [isView, async (route) => {
          const res = await route.fetch();
          await route.fulfill({ response: res, json: { ...((await res.json()) as object), filehash: forgedHash } });
        }],
      ],
      reload: true,
      expect: /the gateway misreported the key/,
    },
  ];
  for (const [i, attack] of attacks.entries()) {
    for (const [match, handler] of attack.routes) await page.route(match, handler);
    if (attack.reload) {
      await page.reload();
      await page.getByRole('button', { name: 'Verify' }).waitFor({ timeout: 15_000 });
    }
    const red = await verify();
    t.regex((await verdict.getAttribute('class')) ?? '', /\bbad\b/, `${attack.what}: Verify is red (${red})`);
    t.true(red.includes('✘ Not verified'), `${attack.what}: ${red}`);
    t.regex(red, attack.expect, `${attack.what}: says why`);
    await page.screenshot({ path: join(shots, `files-tampered-${i + 1}.png`), fullPage: true });
    // The file view rereads /console/api/file as blocks come: wait for a handler still rewriting one
    // (unrouting under it would leave it fulfilling a request that is no longer routed).
    await page.unrouteAll({ behavior: 'wait' });
  }

  // A gateway that later hands over another genesis (another committee, under which it could certify
  // anything) is refused against the pin made at the first Verify, until the user imports the network's
  // genesis.json; with the devnet's own file imported, Verify is green again.
  const isGenesis = (u: URL) => u.pathname === '/console/api/genesis';
  const swapGenesis = async (route: Route) => {
    const res = await route.fetch();
    const g = (await res.json()) as { seed: string };
    await route.fulfill({ response: res, json: { ...g, seed: seeded.hex(32) } });
  };
  await page.reload();
  await page.getByRole('button', { name: 'Verify' }).waitFor({ timeout: 15_000 });
  await page.route(isGenesis, swapGenesis);
  await page.getByRole('button', { name: 'Verify' }).click();
  await verdict.getByText('Not checked:').waitFor({ timeout: 20_000 });
  t.regex((await verdict.textContent()) ?? '', /the gateway's genesis \([0-9a-f]{16}…\) differs from the one pinned in this browser/);
  await page.screenshot({ path: join(shots, 'files-genesis-swapped.png'), fullPage: true });
  // The gateway keeps serving its own: the imported file is what Verify uses, and it says so.
  await page.locator('#genesis-file').setInputFiles(join(devnet.dir, 'genesis.json'));
  await verdict.locator('.verdict').waitFor({ timeout: 20_000 });
  const reimported = (await verdict.textContent()) ?? '';
  t.true(reimported.includes('✔ Verified') && reimported.includes('imported by you'), `Verify is green against the imported genesis: ${reimported}`);
  t.regex(reimported, /this gateway serves another genesis \([0-9a-f]{16}…\), which was not used/);
  await page.unrouteAll({ behavior: 'wait' });

  // Blocks: the upload's block lists its transaction; a search by tx id finds it.
  const txid = hex(record.txId);
  await page.goto(`${gateway}/console/#/blocks/search/${txid}`);
  await page.locator(`[data-txid="${txid}"]`).waitFor({ timeout: 15_000 });
  t.is(await page.getByTestId('block-round').textContent(), `Round ${Number(record.round).toLocaleString('en-US')}`);
  await page.screenshot({ path: join(shots, 'blocks.png'), fullPage: true });
  // The block the proof was made against, found by typing its hash into the header's search.
  await page.locator('#q').fill(hex(proof.certificate!.blockHash));
  await page.locator('#q').press('Enter');
  // (The tx's block page is still there until the search answers: wait for the round searched for.)
  await page.getByTestId('block-round').filter({ hasText: new RegExp(`^Round ${Number(proof.header!.round).toLocaleString('en-US')}$`) }).waitFor({ timeout: 15_000 });
  await page.locator('main[aria-busy=false]').waitFor();
  t.is(await page.locator(`main [title="${hex(proof.certificate!.blockHash)}"]`).count(), 1, 'the block page shows the certified block hash');
  // Each node assembles its own certificate from the cert votes it received, so the block page's (from
  // GetBlock) may hold other votes than the proof's: both must be genesis validators reaching the threshold.
  const voters = (await page.getByRole('button', { name: /^copy voter id / }).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))).map((l) => (l ?? '').slice('copy voter id '.length));
  t.true(voters.length > 0, 'the certificate lists its cert votes');
  for (const v of voters) t.true(validatorIds.includes(v), `cert voter ${v} is a genesis validator`);
  t.regex((await page.locator('main .badge', { hasText: 'threshold' }).textContent()) ?? '', /^weight \d+ ≥ threshold \d+$/, 'the certificate reaches the cert threshold');
  // Storers: each uploaded file is counted for each of its storers (both uploads: a storer of both counts 2).
  const uploadedBy = new Map<string, number>();
  for (const c of [...record.commitments, ...bigRecord.commitments]) uploadedBy.set(hex(c.storerId), (uploadedBy.get(hex(c.storerId)) ?? 0) + 1);
  await open('#/storers');
  await pollUntil(
    async () => Promise.all([...uploadedBy].map(async ([id, n]) => ({ id, n, shown: Number(await page.locator(`[data-files="${id}"]`).textContent()) }))),
    { what: 'the open storers page to count both uploaded files', deadlineMs: 20_000, until: (counts) => counts.every((c) => c.shown >= c.n) },
  );
  await page.screenshot({ path: join(shots, 'storers.png'), fullPage: true });

  // Audits. The rewards verifier audits the block Q rounds back in a round whose VRF selects it (1 - 1/e
  // ≈ 63 % of rounds: one verifier, expectedVerifiers 1) and submits a Reward only for a block with
  // something to audit (rewarder.ts): on an idle devnet only blocks with transactions (uploads, claims,
  // Rewards). So while waiting, the test puts one small file at a time with the page's key (the SDK), each a new block to audit, until
  // a Reward naming a storer of the file is final: the rewards service's GetReputation says which round
  // it last audited a storer in, GetTally whether that Reward is in a block.
  const ep = devnet.endpoints();
  const rewards = new RewardsServiceClient(ep.rewards[0]!, credentials.createInsecure());
  const consensus = new ConsensusServiceClient(ep.consensus[0]!, credentials.createInsecure());
  t.teardown(() => {
    rewards.close();
    consensus.close();
  });
  const tallyOf = (audited: bigint) => unary<GetTallyResponse>((md, o, cb) => rewards.getTally({ auditedRound: audited }, md, o, cb));
  const fileStorers = record.commitments.map((c) => hex(c.storerId));
  const sdk = new WolkClient(gateway, keyFromSeed(Buffer.from((JSON.parse(keyFile) as { secretKey: string }).secretKey, 'hex')));
  const fillDir = mkdtempSync(join(tmpdir(), 'wolk-console-fill-'));
  let fills = 0;
  const waitedFrom = { ms: Date.now(), round: await chainRound() };
  const firstAudit = await pollUntil(
    async () => {
      for (const id of fileStorers) {
        const rep = await unary<GetReputationResponse>((md, o, cb) => rewards.getReputation({ storerId: Buffer.from(id, 'hex') }, md, o, cb));
        if (rep.lastAuditedRound > 0n && (await tallyOf(rep.lastAuditedRound)).finalized) return { id, auditedRound: rep.lastAuditedRound };
      }
      const fill = join(fillDir, `fill-${++fills}.bin`);
      writeFileSync(fill, seeded.bytes(2000));
      await sdk.put(fill, `wolk://${owner}/fill/${fills}.bin`);
      return undefined;
    },
    { what: 'a final Reward of the rewards verifier naming a storer of the file', deadlineMs: 150_000, intervalMs: 0 },
  );
  t.log(`a final Reward audited round ${firstAudit.auditedRound} (storer ${firstAudit.id.slice(0, 8)}): waited ${Date.now() - waitedFrom.ms} ms, rounds ${waitedFrom.round}–${await chainRound()}, ${fills} small file(s) put meanwhile`);

  // The file view lists it by itself (live), and every audit it lists for a storer of the file is the
  // rewards service's tally of that round for that storer, final.
  await open(`#/files?uri=${encodeURIComponent(uri)}`);
  const auditsOf = (id: string) => page.locator(`[data-audits="${id}"] li`).evaluateAll((els) => els.map((e) => ({ audited: e.getAttribute('data-audited-round') ?? '', tally: e.getAttribute('data-tally') ?? '' })));
  await pollUntil(() => auditsOf(firstAudit.id), { what: `the file view to list the audit of round ${firstAudit.auditedRound} (or a later one)`, deadlineMs: 20_000, until: (l) => l.some((a) => BigInt(a.audited) >= firstAudit.auditedRound) });
  let auditsChecked = 0;
  for (const id of fileStorers) {
    for (const a of await auditsOf(id)) {
      const tally = await tallyOf(BigInt(a.audited));
      // What the console shows and the ledger applies: the block's tallies plus the Reward's standing audits.
      const mine = effectiveTallies(tally.reward!).find((x) => hex(x.storerId) === id);
      t.true(tally.finalized, `the Reward auditing round ${a.audited} is final`);
      t.is(a.tally, mine ? `${mine.valid}/${mine.invalid}/${mine.unreachable}` : 'not in the tally', `storer ${id.slice(0, 8)}, audit of round ${a.audited}: the file view shows the verifier's tally`);
      auditsChecked++;
    }
  }
  t.true(auditsChecked > 0, 'the file view lists audits');
  await page.screenshot({ path: join(shots, 'files-audited.png'), fullPage: true });

  // The storers page's audit totals and reputation chart against the chain: every Reward in the blocks
  // the page counted (rounds 1 to its watchedTo, read from a consensus node), applied with the chain's
  // reputation rule from full reputation at genesis.
  await open('#/storers');
  await page.locator(`[data-audit-totals][data-of="${firstAudit.id}"]`).filter({ hasNotText: /^0 \/ 0/ }).waitFor({ timeout: 20_000 });
  const snapshot = (await page.evaluate(`(() => {
    const to = document.querySelector('[data-watched-to]')?.getAttribute('data-watched-to') ?? '';
    const storers = {};
    for (const el of document.querySelectorAll('[data-audit-totals]')) {
      const id = el.getAttribute('data-of');
      storers[id] = { totals: el.getAttribute('data-audit-totals'), points: document.querySelector('[data-reputation-of="' + id + '"] [data-points]')?.getAttribute('data-points') ?? null };
    }
    return { to, storers };
  })()`)) as { to: string; storers: Record<string, { totals: string; points: string | null }> };
  t.true((await page.locator('[data-watched-to]').textContent())?.includes('(the whole chain)'), 'the page counted from genesis');
  const watchedTo = BigInt(snapshot.to.replace(/[^\d]/g, ''));
  const chain = new Map<string, { valid: number; invalid: number; unreachable: number; points: string[]; ppm: number }>();
  const withTxs: bigint[] = [];
  const audited: bigint[] = [];
  for (let r = 1n; r <= watchedTo; r++) {
    const b = await unary<GetBlockResponse>((md, o, cb) => consensus.getBlock({ selector: { $case: 'round', value: r } }, md, o, cb));
    if ((b.block?.block?.txs.length ?? 0) > 0) withTxs.push(r);
    for (const stx of b.block?.block?.txs ?? []) {
      if (stx.tx?.body?.$case !== 'reward') continue;
      audited.push(stx.tx.body.value.auditedRound);
      for (const x of effectiveTallies(stx.tx.body.value)) {
        const id = hex(x.storerId);
        const c = chain.get(id) ?? { valid: 0, invalid: 0, unreachable: 0, points: [], ppm: FULL_REPUTATION_PPM };
        c.valid += x.valid;
        c.invalid += x.invalid;
        c.unreachable += x.unreachable;
        c.ppm = nextReputation(c.ppm, x);
        c.points.push(`${r}:${c.ppm}`);
        chain.set(id, c);
      }
    }
  }
  t.true(chain.size > 0, `the chain holds Rewards up to round ${watchedTo}`);
  // Why a Reward can take a while: a block is audited only when the VRF picks the verifier Q rounds
  // later (a block without transactions only for its standing audits, docs/rewards.md).
  t.log(`rounds 1–${watchedTo}: blocks with transactions ${withTxs.join(', ')}; Rewards for rounds ${audited.join(', ')}`);
  for (const id of storerIds) {
    const c = chain.get(id) ?? { valid: 0, invalid: 0, unreachable: 0, points: [], ppm: FULL_REPUTATION_PPM };
    const shownHere = snapshot.storers[id];
    t.is(shownHere?.totals, `${c.valid}/${c.invalid}/${c.unreachable}`, `storer ${id.slice(0, 8)}: audits passed/failed are the chain's Rewards up to round ${watchedTo}`);
    t.is(shownHere?.points, c.points.join(' '), `storer ${id.slice(0, 8)}: the reputation chart is the chain's reputation after each Reward`);
  }
  await page.screenshot({ path: join(shots, 'storers-audited.png'), fullPage: true });

  // Accessibility (axe-core) on every page once it has its data, at desktop and at phone width.
  const pages = ['#/network', `#/blocks/${record.round}`, '#/storers', `#/files?uri=${encodeURIComponent(uri)}`, '#/upload'];
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 844 });
    for (const hash of pages) {
      await page.goto(`${gateway}/console/${hash}`);
      await page.locator('main[aria-busy=false] h1').waitFor({ timeout: 15_000 });
      t.is(await page.getByRole('alert').count(), 0, `${hash} renders without an error box`);
      const serious = (await axe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      t.deepEqual(serious, [], `axe at ${width} px on ${hash}`);
      if (width === 390) {
        await page.screenshot({ path: join(shots, `phone-${hash.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}.png`), fullPage: true });
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        t.true(Number(overflow) <= 0, `no sideways scrolling at 390 px on ${hash} (${overflow} px too wide)`);
        // Tables are stacked at this width: every cell of the storers and validators tables is on screen.
        for (const cell of await page.locator('main td').all()) {
          const box = await cell.boundingBox();
          if (box) t.true(box.x >= 0 && box.x + box.width <= 390 + 0.5, `a table cell is on screen at 390 px on ${hash}: ${JSON.stringify(box)}`);
        }
        // Every page tab is on screen (not cut off or hidden behind a sideways scroll) and tall enough to tap.
        for (const tab of await page.locator('nav.tabs a').all()) {
          const box = await tab.boundingBox();
          t.true(box !== null && box.x >= 0 && box.x + box.width <= 390 && box.height >= 24, `tab ${await tab.textContent()} is usable at 390 px on ${hash}: ${JSON.stringify(box)}`);
        }
      }
    }
  }

  // Keyboard: the skip link comes first and moves focus to the content; then the page tabs; Enter opens one.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${gateway}/console/#/network`);
  // A fresh load, so Tab starts at the top of the document as it does for someone arriving.
  await page.reload();
  await page.locator('main[aria-busy=false] h1').waitFor();
  await page.keyboard.press('Tab');
  t.is(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  t.is(await page.evaluate('document.activeElement.textContent'), 'Storers');
  await page.keyboard.press('Enter');
  await page.locator('main[aria-busy=false] h1', { hasText: 'Storers' }).waitFor();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  t.is(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.keyboard.press('Enter');
  t.is(await page.evaluate('document.activeElement.id'), 'main', 'the skip link moves focus to the content');
  await page.keyboard.press('Tab');
  t.true(await page.evaluate('document.activeElement.closest("main") !== null'), 'the next Tab is inside the content, past the header');

  // The browser cannot reach the gateway for a while (emulated offline: new requests fail, the open
  // event stream stays): the network page keeps its figures, says they are stale and since when, and
  // is live again by itself once requests go through, with newer blocks.
  await open('#/network');
  const liveStatus = page.locator('p.live');
  await pollUntil(async () => (await liveStatus.textContent()) ?? '', { what: 'live updates to connect', deadlineMs: 15_000, until: (s) => s.startsWith('Live') });
  const tipBefore = BigInt(((await page.getByTestId('tip-round').textContent()) ?? '0').replace(/,/g, ''));
  await context.setOffline(true);
  const offline = await pollUntil(async () => (await liveStatus.textContent()) ?? '', { what: 'the page to notice it cannot read', deadlineMs: 15_000, until: (s) => s.includes('Could not read the latest figures') });
  t.regex(offline, /since .*the gateway did not answer.*as of round [\d,]+ and may be out of date/);
  t.is(await page.getByTestId('tip-round').count(), 1, 'the figures stay on the page');
  t.is(await page.getByRole('alert').count(), 0, 'no error box replaces them');
  await page.screenshot({ path: join(shots, 'offline-network.png'), fullPage: true });
  await context.setOffline(false);
  await pollUntil(async () => ({ live: (await liveStatus.textContent()) ?? '', tip: BigInt(((await page.getByTestId('tip-round').textContent()) ?? '0').replace(/,/g, '')) }), {
    what: 'the page to be live again by itself with a newer tip',
    deadlineMs: 20_000,
    until: (v) => v.live.startsWith('Live') && v.tip > tipBefore,
  });
  // The failed requests are the browser's own report of being offline, not errors of the console's.
  const offlineNoise = (e: string) => /ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED/.test(e);
  problems.errors.splice(0, problems.errors.length, ...problems.errors.filter((e) => !offlineNoise(e)));

  // A storer and a validator go down: the open storers page shows which by itself (it reads again as
  // blocks come), and the network page too, from their own probes (GetInfo, GetStatus).
  const storerDown = devnet.processes().filter((p) => p.name.startsWith('storer-')).at(-1)!;
  const validatorDown = devnet.processes().filter((p) => p.name.startsWith('consensus-')).at(-1)!;
  await open('#/storers');
  await pollUntil(async () => (await page.locator('p.live').textContent()) ?? '', { what: 'the storers page to go live', deadlineMs: 15_000, until: (s) => s.startsWith('Live') });
  t.is(await page.locator('tr', { hasText: 'not answering' }).count(), 0, 'every storer answers before');
  process.kill(storerDown.pid, 'SIGKILL');
  process.kill(validatorDown.pid, 'SIGKILL');
  await pollUntil(async () => page.locator('tr', { hasText: 'not answering' }).allTextContents(), {
    what: `the open storers page to show ${storerDown.name} as not answering, without a reload`,
    deadlineMs: 20_000,
    until: (rows) => rows.length > 0,
  });
  t.is(await page.locator('tr', { hasText: 'not answering' }).count(), 1, 'exactly one storer is not answering');
  t.is(await page.locator('tr', { hasText: 'not answering' }).filter({ hasText: storerDown.grpc }).count(), 1, `it is ${storerDown.name} (${storerDown.grpc})`);
  t.is(await page.getByText('live', { exact: true }).count(), storerIds.length - 1, 'the others answer');
  await page.screenshot({ path: join(shots, 'storer-down.png'), fullPage: true });
  await page.goto(`${gateway}/console/#/network`);
  await page.locator('main[aria-busy=false] [data-testid=tip-round]').waitFor();
  const downRow = page.locator('tr', { hasText: validatorDown.grpc });
  t.is(await downRow.count(), 1, `${validatorDown.name} (${validatorDown.grpc}) is listed by its endpoint`);
  const downText = (await downRow.textContent()) ?? '';
  t.regex(downText, /down\s*(not answering|no answer within)/, `${validatorDown.name} is shown as down, saying why in words: ${downText}`);
  t.is(await page.locator('tr', { has: page.getByText('live', { exact: true }) }).count(), validatorIds.length - 1, 'the other validators are live');
  await page.screenshot({ path: join(shots, 'validator-down.png'), fullPage: true });

  t.deepEqual(problems.errors, [], `the console logged no errors; it logged:\n${problems.errors.join('\n')}`);

  // The gateway goes away under an open page: the page says so and keeps what it showed, marked as
  // stale; a page opened then shows a readable error, not a blank screen.
  await page.goto(`${gateway}/console/#/network`);
  await page.locator('main[aria-busy=false] [data-testid=tip-round]').waitFor();
  const liveLine = page.locator('p.live');
  await pollUntil(async () => (await liveLine.textContent()) ?? '', { what: 'live updates to connect', deadlineMs: 15_000, until: (s) => s.startsWith('Live') });
  const gatewayProcess = devnet.processes().find((p) => p.name === 'gateway-0');
  t.truthy(gatewayProcess, 'the devnet has a gateway-0 process');
  process.kill(gatewayProcess!.pid, 'SIGKILL');
  const lost = await pollUntil(async () => (await liveLine.textContent()) ?? '', { what: 'the network page to notice the gateway is gone', deadlineMs: 15_000, until: (s) => s.includes('stopped answering') });
  t.regex(lost, /The gateway stopped answering at .*: the figures below are as of round [\d,]+ and may be out of date/);
  t.is(await page.locator('[data-testid=tip-round]').count(), 1, 'the last figures stay on the page');
  await page.screenshot({ path: join(shots, 'gateway-down-network.png'), fullPage: true });
  await page.locator('nav.tabs a', { hasText: 'Storers' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: 15_000 });
  t.regex((await alert.textContent()) ?? '', /the gateway did not answer/);
  await page.screenshot({ path: join(shots, 'gateway-down-storers.png'), fullPage: true });
  // What the browser logs now is its own report of the refused connections (net::ERR_CONNECTION_REFUSED
  // and "Failed to load resource"), which is the condition under test, not an error of the console's.
  const theirs = problems.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|net::ERR_/.test(e));
  t.deepEqual(theirs, [], `with the gateway down the console logged only connection failures:\n${problems.errors.join('\n')}`);
  finished = true;
});
