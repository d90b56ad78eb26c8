// Entry point of the gateway: `npm run dev:gateway` (source) or `npm run serve:gateway` (built).
import { runService } from '../../lib/service/runtime.js';
import { createGatewayNode } from './node.js';
import { readOptions } from './options.js';

await runService('gateway', readOptions, createGatewayNode);
