// Injected into the browser bundle (esbuild `inject`): lib/ uses Node's Buffer for hex and base64.
// The `buffer` package predates Node's 'base64url' encoding (lib/client makes request nonces with it),
// so that encoding is added here: base64 with - and _ and no padding (RFC 4648 §5).
import { Buffer } from 'buffer';

type ToString = (this: Buffer, encoding?: string, start?: number, end?: number) => string;
const proto = Buffer.prototype as unknown as { toString: ToString };
const toString = proto.toString;
proto.toString = function (this: Buffer, encoding?: string, start?: number, end?: number): string {
  if (encoding !== 'base64url') return toString.call(this, encoding, start, end);
  return toString.call(this, 'base64', start, end).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const from = Buffer.from.bind(Buffer) as (value: unknown, encodingOrOffset?: unknown, length?: number) => Buffer;
(Buffer as unknown as { from: typeof from }).from = (value: unknown, encodingOrOffset?: unknown, length?: number): Buffer =>
  typeof value === 'string' && encodingOrOffset === 'base64url' ? from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : from(value, encodingOrOffset, length);

export { Buffer };
