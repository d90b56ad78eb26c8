import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../lib/log/logger.js';
import { readCommonOptions } from '../../../lib/service/options.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { codeOf, infoOf, pattern, setFile, storerClient } from '../../../test/unit/storer/client.js';

test('repro', async (t) => {
  const lines: string[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-h8-'));
  const env = { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_SHUTDOWN_GRACE_MS: '500', WOLK_MAX_MESSAGE_BYTES: '256KiB' };
  const node = await createStorerNode({ env, options: readCommonOptions(env, 'storer'), logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
  const client = storerClient(node.endpoints['grpc']!);
  const data = pattern(600_000, 5);
  const { Metadata } = await import('@grpc/grpc-js');
  const codes: unknown[] = [];
  codes.push(await codeOf(setFile(client, infoOf(data), data, 600_000)));
  // variant: info, pause, oversized
  codes.push(await codeOf(new Promise((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 10000 }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ part: { $case: 'info', value: infoOf(data) } });
    setTimeout(() => { call.write({ part: { $case: 'data', value: data } }); call.end(); }, 300);
  })));
  // variant: oversized first
  codes.push(await codeOf(new Promise((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 10000 }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ part: { $case: 'data', value: data } });
    call.end();
  })));
  // variant: small data then oversized
  codes.push(await codeOf(new Promise((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 10000 }, (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ part: { $case: 'info', value: infoOf(data) } });
    call.write({ part: { $case: 'data', value: data.subarray(0, 100000) } });
    call.write({ part: { $case: 'data', value: data.subarray(100000) } });
    call.end();
  })));
  const code = codes;
  await new Promise((r) => setTimeout(r, 500));
  client.close();
  await node.close();
  console.log(code, lines.filter((l) => !l.includes('"debug"') || l.includes('call failed')).join('\n'));
  t.pass();
});
