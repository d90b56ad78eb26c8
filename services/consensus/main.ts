// Entry point of the consensus: `npm run dev:consensus` (source) or `npm run serve:consensus` (built).
import { runService } from '../../lib/service/runtime.js';
import { createConsensusNode } from './node.js';
import { readOptions } from './options.js';

await runService('consensus', readOptions, createConsensusNode);
