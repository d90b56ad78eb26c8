// The test runner's configuration (`npm test`, `.ci/run`; the Ceph tier has test/ceph/ava.config.mjs).
// Test files run two at a time. The simulator sweeps (one process, ~6.5 min of CPU on one core) start
// first, beside the unit files, which need little CPU; the end-to-end files (each a devnet of 13
// processes that wants both cores) follow two at a time, longest first, so the short ones end the run.
// Measured in clean-clone CI runs on this 2-core machine: the sims last, alone at the end, 24.9 min
// (2026-12-07 05:26); the sims first beside the longest e2e files, 27.1 min (05:52: both starved).
const ORDER = [
  'test/sim/',
  'test/unit/',
  'test/spec/',
  'test/cluster/',
  'test/e2e/porep-attackers.test.ts',
  'test/e2e/console.test.ts',
  'test/e2e/rewards-devnet.test.ts',
  'test/e2e/gateway-devnet.test.ts',
  'test/e2e/indexer-restart.test.ts',
  'test/e2e/',
];

/** Position of a test file in ORDER (the first entry it falls under), then by path. */
const rank = (file) => {
  const path = file.replace(/\\/g, '/');
  const i = ORDER.findIndex((p) => path.includes(`/${p}`) || path.startsWith(p));
  return i < 0 ? ORDER.length : i;
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
