// The user's key in this browser only (localStorage): a 32-byte Ed25519 seed, created here with the
// browser's CSPRNG or imported (the hex seed, or the JSON of `wolk keygen`'s key file). It never leaves
// the page: requests and transactions are signed here.
import { keyFromSeed } from './wolk.js';

const KEY = 'wolk.console.key';

export interface BrowserKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly publicHex: string;
}

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));

function fromSeed(seed: Uint8Array): BrowserKey {
  const k = keyFromSeed(seed);
  return { secretKey: k.secretKey, publicKey: k.publicKey, publicHex: toHex(k.publicKey) };
}

export function loadKey(): BrowserKey | undefined {
  const s = localStorage.getItem(KEY);
  return s && /^[0-9a-f]{64}$/.test(s) ? fromSeed(fromHex(s)) : undefined;
}

export function createKey(): BrowserKey {
  const seed = new Uint8Array(32);
  crypto.getRandomValues(seed);
  localStorage.setItem(KEY, toHex(seed));
  return fromSeed(seed);
}

/** A 64-hex seed, or the key file `wolk keygen` writes ({"version":1,"secretKey":"…"}). */
export function importKey(text: string): BrowserKey {
  let t = text.trim();
  if (t.startsWith('{')) {
    const j = JSON.parse(t) as { secretKey?: unknown };
    t = typeof j.secretKey === 'string' ? j.secretKey : '';
  }
  t = t.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(t)) throw new Error('expected the 64 hex characters of a secret key, or the JSON of a wolk key file');
  localStorage.setItem(KEY, t);
  return fromSeed(fromHex(t));
}

export function forgetKey(): void {
  localStorage.removeItem(KEY);
}

export function exportKey(k: BrowserKey): string {
  return JSON.stringify({ version: 1, secretKey: toHex(k.secretKey), publicKey: k.publicHex }, null, 2);
}
