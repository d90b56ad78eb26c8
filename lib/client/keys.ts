// The user's key file (default ~/.wolk/key.json; the CLI's WOLK_KEY names another): a 32-byte Ed25519 seed and its public key,
// hex, written with mode 0600 and never overwritten.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ed25519PublicKey } from '../http/signatures.js';
import type { ClientKey } from './signing.js';

/** Where a key lives when the user names none: ~/.wolk/key.json. */
export function defaultKeyPath(): string {
  return join(homedir(), '.wolk', 'key.json');
}

export function keyFromSeed(seed: Uint8Array): ClientKey {
  return { secretKey: seed, publicKey: ed25519PublicKey(seed) };
}

export function readKey(path: string): ClientKey {
  let parsed: { version?: number; secretKey?: string };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new Error(`${path}: no readable key file (${(err as Error).message}); run \`wolk keygen\` first`);
  }
  if (parsed.version !== 1 || typeof parsed.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.secretKey)) {
    throw new Error(`${path}: expected {"version":1,"secretKey":"<64 hex>","publicKey":"<64 hex>"}`);
  }
  return keyFromSeed(new Uint8Array(Buffer.from(parsed.secretKey, 'hex')));
}

/** Creates the key file; refuses to overwrite an existing one (a lost key is a lost name). */
export function createKey(path: string): ClientKey {
  if (existsSync(path)) throw new Error(`${path} already exists; remove it yourself or set WOLK_KEY to another file`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = keyFromSeed(new Uint8Array(randomBytes(32)));
  const body = { version: 1, secretKey: Buffer.from(key.secretKey).toString('hex'), publicKey: Buffer.from(key.publicKey).toString('hex') };
  writeFileSync(path, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}
