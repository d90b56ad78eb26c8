// The Ceph integration tier (scripts/ceph/test.sh, `npm run test:ceph`): same tsx setup as the root
// ava.config.mjs, only test/ceph, one file at a time (a file may restart the OSD or remount an image).
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  files: ['test/ceph/**/*.test.ts'],
  timeout: '180s',
  concurrency: 1,
};
