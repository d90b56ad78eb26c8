// The web console (docs/console.md) in a real headless Chromium (Debian's, installed by
// scripts/chromium/install.sh, driven by playwright-core) against the devnet: every page renders the
// devnet's real data, a key imported into the page claims a name and uploads a file that then shows
// in the file view and on the storers page, Verify turns green for it and red for a tampered proof,
// the page logs no errors, axe-core finds no serious or critical violation at desktop and phone
// width, the pages can be reached by keyboard, and a screenshot of each page is saved (path printed).
import test from 'ava';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { ROOT } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

const seeded = testRandom('e2e/console.test.ts');
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
  t.timeout(240_000);
  t.log(`screenshots: ${shots}`);
  const page = await context.newPage();
  const problems = watch(page);
  // An assertion that fails half-way still shows what the browser said until then.
  t.teardown(() => {
    if (problems.errors.length > 0) console.error(`the console logged:\n${problems.errors.join('\n')}\nrequests that failed or answered 4xx/5xx:\n${problems.requests.join('\n') || '(none)'}`);
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

  // Storers: every storer of the genesis, live.
  await page.goto(`${gateway}/console/#/storers`);
  for (const id of storerIds) await page.locator(`[data-storer="${id}"]`).waitFor({ timeout: 15_000 });
  t.is(await page.getByText('live', { exact: true }).count(), storerIds.length, 'every storer answers');

  // Upload from the browser: an imported (seeded) key claims a name and puts a file.
  const owner = `console-${seeded.hex(4)}`;
  const body = seeded.bytes(100_000);
  await page.goto(`${gateway}/console/#/upload`);
  await page.locator('#key-import').fill(seeded.hex(32));
  await page.getByRole('button', { name: 'Import key' }).click();
  await page.locator('#owner-name').fill(owner);
  await page.getByRole('button', { name: 'Claim' }).click();
  const claimed = await pollUntil(async () => (await page.getByTestId('name-status').textContent()) ?? '', { what: 'the claim to end', deadlineMs: 90_000, until: (s) => /is yours|Could not|belongs/.test(s) });
  t.true(claimed.includes(`${owner} is yours`), `the page claimed the name: ${claimed}`);
  await page.locator('#up-key').fill('notes/hello.bin');
  await page.locator('#up-file').setInputFiles({ name: 'hello.bin', mimeType: 'application/octet-stream', buffer: body });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const stored = await pollUntil(async () => (await page.getByTestId('upload-result').textContent()) ?? '', { what: 'the upload to end', deadlineMs: 120_000, until: (s) => s !== '' });
  t.true(stored.includes('Stored'), `the page uploaded the file: ${stored}`);
  t.is(await page.locator('#up-progress').getAttribute('value'), '100');
  await page.screenshot({ path: join(shots, 'upload.png'), fullPage: true });
  const uri = `wolk://${owner}/uploads/notes/hello.bin`;

  // Files: the upload's record with its N storers, and Verify in the browser.
  const file = (await (await fetch(`${gateway}/console/api/file?uri=${encodeURIComponent(uri)}`)).json()) as { storers: { id: string }[]; round: string; txid: string; size: string };
  t.is(file.size, String(body.length));
  t.is(file.storers.length, 3, 'N = 3 storers committed');
  await page.goto(`${gateway}/console/#/files?uri=${encodeURIComponent(uri)}`);
  // The page renders after its own request: wait for it before counting.
  await page.getByRole('button', { name: 'Verify' }).waitFor({ timeout: 15_000 });
  for (const s of file.storers) t.true((await page.locator(`[title="${s.id}"]`).count()) >= 1, `storer ${s.id} is in the file view`);
  await page.getByRole('button', { name: 'Verify' }).click();
  const verdict = page.getByTestId('verify-result');
  await verdict.getByText('✔ Verified').waitFor({ timeout: 20_000 });
  t.regex((await verdict.getAttribute('class')) ?? '', /\bok\b/);
  t.true(((await verdict.textContent()) ?? '').includes(`${uri} is file`), 'the verdict says what was proven');
  await page.screenshot({ path: join(shots, 'files-verified.png'), fullPage: true });

  // The same check on a proof whose header was changed on the way: red, and says why.
  await page.route((u) => u.search === '?proof', async (route) => {
    const res = await route.fetch();
    const j = (await res.json()) as { proof: string };
    const p = GetStateProofResponse.decode(Buffer.from(j.proof, 'base64'));
    p.header!.timestampMs += 1n;
    await route.fulfill({ response: res, json: { ...j, proof: Buffer.from(GetStateProofResponse.encode(p).finish()).toString('base64') } });
  });
  await page.getByRole('button', { name: 'Verify' }).click();
  await verdict.getByText('✘ Not verified').waitFor({ timeout: 20_000 });
  t.regex((await verdict.getAttribute('class')) ?? '', /\bbad\b/);
  t.regex((await verdict.textContent()) ?? '', /does not hash to the certified block/);
  await page.screenshot({ path: join(shots, 'files-tampered.png'), fullPage: true });
  await page.unroute((u) => u.search === '?proof');

  // Blocks: the upload's block lists its transaction; a search by tx id finds it.
  await page.goto(`${gateway}/console/#/blocks/search/${file.txid}`);
  await page.locator(`[data-txid="${file.txid}"]`).waitFor({ timeout: 15_000 });
  t.is(await page.getByTestId('block-round').textContent(), `Round ${Number(file.round).toLocaleString('en-US')}`);
  await page.screenshot({ path: join(shots, 'blocks.png'), fullPage: true });

  // Storers: the file is counted for each of its storers.
  await pollUntil(
    async () => {
      await page.goto(`${gateway}/console/#/storers`);
      await page.locator(`[data-files="${file.storers[0]!.id}"]`).waitFor();
      return Promise.all(file.storers.map(async (s) => Number(await page.locator(`[data-files="${s.id}"]`).textContent())));
    },
    { what: 'the storers page to count the uploaded file', deadlineMs: 20_000, until: (counts) => counts.every((c) => c >= 1) },
  );
  await page.screenshot({ path: join(shots, 'storers.png'), fullPage: true });

  // Accessibility (axe-core) on every page, at desktop and at phone width.
  const pages = ['#/network', '#/blocks/2', '#/storers', `#/files?uri=${encodeURIComponent(uri)}`, '#/upload'];
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 844 });
    for (const hash of pages) {
      await page.goto(`${gateway}/console/${hash}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const serious = (await axe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
      t.deepEqual(serious, [], `axe at ${width} px on ${hash}`);
      if (width === 390) await page.screenshot({ path: join(shots, `phone-${hash.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}.png`), fullPage: true });
      if (width === 390) {
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        t.true(Number(overflow) <= 0, `no sideways scrolling at 390 px on ${hash} (${overflow} px too wide)`);
      }
    }
  }

  // Keyboard: the skip link comes first, then the pages; Enter opens one.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${gateway}/console/#/network`);
  await page.locator('main h1').waitFor();
  await page.keyboard.press('Tab');
  t.is(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  t.is(await page.evaluate('document.activeElement.textContent'), 'Storers');
  await page.keyboard.press('Enter');
  await page.locator('main h1', { hasText: 'Storers' }).waitFor();

  t.deepEqual(problems.errors, [], `the console logged no errors; it logged:\n${problems.errors.join('\n')}`);
});
