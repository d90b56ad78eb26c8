// Entry point of the storer: `npm run dev:storer` (source) or `npm run serve:storer` (built).
import { runService } from '../../lib/service/runtime.js';
import { createStorerNode } from './node.js';
import { readOptions } from './options.js';

await runService('storer', readOptions, createStorerNode);
