// Entry point of the indexer: `npm run dev:indexer` (source) or `npm run serve:indexer` (built).
import { runService } from '../../lib/service/runtime.js';
import { createIndexerNode } from './node.js';
import { readOptions } from './options.js';

await runService('indexer', readOptions, createIndexerNode);
