// The test runner's configuration (`npm test`, `.ci/run`; the Ceph tier has test/ceph/ava.config.mjs).
// Test files run two at a time. They start longest first (longest-processing-time scheduling), so the
// many short unit files fill the end of the run instead of one long file running alone while the other
// slot idles: the simulator sweeps (one process, ~6 min of CPU) used to start last and ran on by
// themselves, and the clean-clone CI of 2026-12-07 05:26 took 24.9 of its 25 minutes.
const LONGEST_FIRST = [
  'test/sim/',
  'test/e2e/porep-attackers.test.ts',
  'test/e2e/console.test.ts',
  'test/e2e/rewards-devnet.test.ts',
  'test/e2e/indexer-restart.test.ts',
  'test/e2e/',
  'test/cluster/',
  'test/spec/',
  'test/unit/',
];

/** Position of a test file in LONGEST_FIRST (the first entry it starts with), then by path. */
const rank = (file) => {
  const path = file.replace(/\\/g, '/');
  const i = LONGEST_FIRST.findIndex((p) => path.includes(`/${p}`) || path.startsWith(p));
  return i < 0 ? LONGEST_FIRST.length : i;
};

export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  files: ['test/unit/**/*.test.ts', 'test/cluster/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/spec/**/*.test.ts', 'test/sim/**/*.test.ts'],
  timeout: '120s',
  concurrency: 2,
  sortTestFiles: (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
};
