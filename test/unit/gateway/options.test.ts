// The gateway's upload timing comes from the environment (lib/config/env.ts), with the documented
// defaults, and a bad value stops the gateway with a message naming the variable.
import test from 'ava';
import { readOptions as readGatewayOptions } from '../../../services/gateway/options.js';

test('upload timing: documented defaults', (t) => {
  const o = readGatewayOptions({});
  t.is(o.signatureWindowSeconds, 300);
  t.is(o.commitDeadlineMs, 60_000);
  t.is(o.commitMinBytesPerSecond, 8 * 1024 * 1024);
  t.is(o.finalityTimeoutMs, 60_000);
});

test('upload timing: from the environment', (t) => {
  const o = readGatewayOptions({
    WOLK_SIGNATURE_WINDOW_SECONDS: '30',
    WOLK_COMMIT_DEADLINE_MS: '5000',
    WOLK_COMMIT_MIN_RATE: '1MiB',
    WOLK_FINALITY_TIMEOUT_MS: '0',
  });
  t.is(o.signatureWindowSeconds, 30);
  t.is(o.commitDeadlineMs, 5000);
  t.is(o.commitMinBytesPerSecond, 1024 * 1024);
  t.is(o.finalityTimeoutMs, 0);
});

test('upload timing: a bad value names the variable', (t) => {
  t.throws(() => readGatewayOptions({ WOLK_SIGNATURE_WINDOW_SECONDS: 'soon' }), { message: /WOLK_SIGNATURE_WINDOW_SECONDS/ });
  t.throws(() => readGatewayOptions({ WOLK_COMMIT_MIN_RATE: '10' }), { message: /WOLK_COMMIT_MIN_RATE/ });
  t.throws(() => readGatewayOptions({ WOLK_COMMIT_DEADLINE_MS: '-1' }), { message: /WOLK_COMMIT_DEADLINE_MS/ });
});
