// Builds the optional native Merkle batch hasher (native/merkle → native/merkle/build/Release/wolk_merkle.node)
// and the proof-of-replication labelling loop (native/porep → native/porep/build/Release/wolk_porep.node)
// with the node-gyp that ships with npm, against the headers of the running Node when they are installed
// (offline), else node-gyp's download. Runs before `npm test`, `npm start` and `npm run bench`; skips when the
// addon is newer than its sources. Never fails the caller: without a compiler lib/merkle uses Node's crypto
// (same results, slower at 4 KiB chunks) and this prints one line saying so.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ADDONS = [
  { name: 'merkle', fallback: "lib/merkle hashes with Node's crypto (slower at 4 KiB chunks)" },
  { name: 'porep', fallback: 'lib/porep labels in JS (same labels, several times slower)' },
  { name: 'vrf', fallback: 'lib/crypto/vrf.ts verifies VRF proofs in JS (same answers, about ten times slower)' },
];
const say = (line) => process.stdout.write(`build-native: ${line}\n`);

function newestSource(dir) {
  const files = [join(dir, 'binding.gyp'), ...readdirSync(join(dir, 'src')).map((f) => join(dir, 'src', f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function nodeGyp() {
  const candidates = [
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : null,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

function build({ name, fallback }) {
  const dir = join(root, 'native', name);
  const out = join(dir, 'build', 'Release', `wolk_${name}.node`);
  if (existsSync(out) && statSync(out).mtimeMs >= newestSource(dir)) return;
  const gyp = nodeGyp();
  if (!gyp) {
    say(`node-gyp not found; ${fallback}`);
    return;
  }
  const prefix = resolve(dirname(process.execPath), '..');
  const args = [gyp, 'rebuild', '--release', '-j', '2'];
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(out)) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    say(`could not build native/${name} (${tail || r.error?.message || 'unknown error'}); ${fallback}`);
    return;
  }
  say(`built ${out.slice(root.length + 1)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

for (const addon of ADDONS) build(addon);
