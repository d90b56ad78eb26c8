// Entry point of the rewards: `npm run dev:rewards` (source) or `npm run serve:rewards` (built).
import { runService } from '../../lib/service/runtime.js';
import { createRewardsNode } from './node.js';
import { readOptions } from './options.js';

await runService('rewards', readOptions, createRewardsNode);
