// The log line a user (and scripts/tests that grep logs) reads: compact JSON, msg before the fields,
// and an error logged with its message, its stack and its causes (the old backend dropped the stack).
import test from 'ava';
import { createLogger } from '../../../lib/log/logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l), fields: { service: 'gateway' } }) };
}

function thrower(): never {
  throw new Error('disk full', { cause: Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) });
}

test('an error field keeps message, stack and cause', (t) => {
  const { lines, log } = capture();
  let err: unknown;
  try {
    thrower();
  } catch (e) {
    err = e;
  }
  log.error('upload failed', { uploadId: 'u1', error: err });
  t.is(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as { error: { name: string; message: string; stack: string; cause: { message: string; code: string; stack: string } } };
  t.is(rec.error.name, 'Error');
  t.is(rec.error.message, 'disk full');
  t.regex(rec.error.stack, /thrower/, 'the stack names the function that threw');
  t.is(rec.error.cause.message, 'ENOSPC: no space left on device');
  t.is(rec.error.cause.code, 'ENOSPC');
  t.regex(rec.error.cause.stack, /^Error: ENOSPC/);
});

test('errors nested in objects and arrays, AggregateError members, bigints and bytes', (t) => {
  const { lines, log } = capture();
  const agg = new AggregateError([new Error('a down'), new Error('b down')], 'all storers failed');
  log.warn('round', { round: 2n ** 64n - 1n, hash: new Uint8Array([0xde, 0xad]), peers: [{ endpoint: 'x', error: new RangeError('bad') }], agg });
  const rec = JSON.parse(lines[0]!) as Record<string, unknown> & { peers: { error: { name: string; stack: string } }[]; agg: { errors: { message: string }[] } };
  t.is(rec['round'], '18446744073709551615');
  t.is(rec['hash'], 'dead');
  t.is(rec.peers[0]!.error.name, 'RangeError');
  t.regex(rec.peers[0]!.error.stack, /RangeError: bad/);
  t.deepEqual(rec.agg.errors.map((e) => e.message), ['a down', 'b down']);
});

test('the line shape scripts parse: time, level, bound fields, then msg, then fields; levels filter', (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) }).child({ service: 'indexer' });
  log.debug('hidden');
  log.info('read model opened', { cursor: 12 });
  t.is(lines.length, 1);
  t.regex(lines[0]!, /^\{"time":"[^"]+","level":"info","service":"indexer","msg":"read model opened","cursor":12\}$/);
});

test('a circular field does not throw', (t) => {
  const { lines, log } = capture();
  const a: Record<string, unknown> = { name: 'a' };
  a['self'] = a;
  log.info('cycle', { a });
  t.deepEqual((JSON.parse(lines[0]!) as { a: unknown }).a, { name: 'a', self: '[circular]' });
});
