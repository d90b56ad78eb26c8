// The CLI's options (cli/options.ts) and progress display (cli/progress.ts), without a gateway:
// the devnet is found from any directory (issue #25.4) and the "no gateway" message names every
// variable that fixes it; small files are shown in bytes, and the wait after the last byte of an
// upload is said (issue #24.10).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayUrl, genesisPath, readCliOptions } from '../../../cli/options.js';
import { WAITING_TEXT, formatBytes, progressBar } from '../../../cli/progress.js';

const ROOT = '/opt/wolk';

test('the devnet directory is the repository\'s, whatever the current directory', (t) => {
  t.is(readCliOptions({}, ROOT).devnetDir, '/opt/wolk/.wolk/devnet');
  t.is(readCliOptions({ WOLK_DEVNET_DIR: 'nets/a' }, ROOT).devnetDir, '/opt/wolk/nets/a', 'relative: against the repository, as npm start resolves it');
  t.is(readCliOptions({ WOLK_DEVNET_DIR: '/srv/net' }, ROOT).devnetDir, '/srv/net');
  t.is(readCliOptions({ WOLK_KEY: '/k.json' }, ROOT).keyPath, '/k.json');
});

test('the gateway comes from WOLK_GATEWAY, else from the devnet\'s endpoints.json', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-'));
  writeFileSync(join(dir, 'endpoints.json'), JSON.stringify({ gateway: 'http://127.0.0.1:18080' }));
  writeFileSync(join(dir, 'genesis.json'), '{}');
  t.is(gatewayUrl(readCliOptions({ WOLK_DEVNET_DIR: dir }, ROOT)), 'http://127.0.0.1:18080');
  t.is(genesisPath(readCliOptions({ WOLK_DEVNET_DIR: dir }, ROOT)), join(dir, 'genesis.json'));
  t.is(gatewayUrl(readCliOptions({ WOLK_DEVNET_DIR: dir, WOLK_GATEWAY: 'https://gw.example:8443' }, ROOT)), 'https://gw.example:8443');
  t.throws(() => gatewayUrl(readCliOptions({ WOLK_GATEWAY: 'gw.example' }, ROOT)), { message: /^WOLK_GATEWAY: the gateway URL "gw.example" is not a URL/ });
  t.throws(() => gatewayUrl(readCliOptions({ WOLK_GATEWAY: 'ftp://gw.example' }, ROOT)), { message: /^WOLK_GATEWAY: .*must be http:\/\/ or https:\/\// });
});

test('without a gateway the message names WOLK_GATEWAY, WOLK_DEVNET_DIR and npm start', (t) => {
  const err = t.throws(() => gatewayUrl(readCliOptions({ WOLK_DEVNET_DIR: '/nonexistent/devnet' }, ROOT)));
  t.regex(err?.message ?? '', /WOLK_GATEWAY/);
  t.regex(err?.message ?? '', /WOLK_DEVNET_DIR/);
  t.regex(err?.message ?? '', /npm start` in \/opt\/wolk/);
  t.regex(err?.message ?? '', /\/nonexistent\/devnet/);
});

test('sizes in the unit that fits', (t) => {
  t.is(formatBytes(0), '0 B');
  t.is(formatBytes(300), '300 B');
  t.is(formatBytes(1500), '1.50 kB');
  t.is(formatBytes(200_000), '200.0 kB');
  t.is(formatBytes(104_857_600), '104.9 MB');
  t.is(formatBytes(1_073_741_824), '1.07 GB');
});

test('a small upload shows its bytes, then says what it waits for', (t) => {
  const lines: string[] = [];
  const bar = progressBar({ isTTY: false, write: (s: string) => lines.push(s) }, () => 0);
  bar.update(300, 300, 'hashing');
  bar.update(300, 300, 'uploading');
  bar.update(300, 300, 'waiting');
  bar.update(300, 300, 'waiting');
  bar.finish();
  t.deepEqual(lines, ['hashing 100% (300 B of 300 B)\n', 'uploading 100% (300 B of 300 B)\n', `${WAITING_TEXT}\n`]);
  t.regex(WAITING_TEXT, /storers .* commit .* final/);
});
