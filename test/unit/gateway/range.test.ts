// Range parsing as RFC 9110 §14 defines it, for a 1000-byte file.
import test from 'ava';
import { parseRange } from '../../../lib/http/range.js';

test('single ranges, suffixes, open ends; clipped at the end', (t) => {
  t.deepEqual(parseRange('bytes=0-99', 1000), { kind: 'range', start: 0, end: 99 });
  t.deepEqual(parseRange('bytes=900-', 1000), { kind: 'range', start: 900, end: 999 });
  t.deepEqual(parseRange('bytes=-100', 1000), { kind: 'range', start: 900, end: 999 });
  t.deepEqual(parseRange('bytes=-5000', 1000), { kind: 'range', start: 0, end: 999 });
  t.deepEqual(parseRange('bytes=990-5000', 1000), { kind: 'range', start: 990, end: 999 });
});

test('a last-byte-pos beyond the end, however many digits, means "to the end" (RFC 9110 §14.1.1)', (t) => {
  t.deepEqual(parseRange('bytes=0-99999999999999999999', 1024), { kind: 'range', start: 0, end: 1023 });
  t.deepEqual(parseRange('bytes=1000-18446744073709551616', 1024), { kind: 'range', start: 1000, end: 1023 });
  t.deepEqual(parseRange('bytes=99999999999999999999-', 1024), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange('bytes=99999999999999999999-99999999999999999999', 1024), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange('bytes=-99999999999999999999', 1024), { kind: 'range', start: 0, end: 1023 });
});

test('unsatisfiable → 416; invalid or multiple ranges → ignored (whole file)', (t) => {
  t.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  t.deepEqual(parseRange(undefined, 1000), { kind: 'none' });
  t.deepEqual(parseRange('bytes=5-3', 1000), { kind: 'none' });
  t.deepEqual(parseRange('bytes=0-1,5-6', 1000), { kind: 'none' });
  t.deepEqual(parseRange('items=0-1', 1000), { kind: 'none' });
});
