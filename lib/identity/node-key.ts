// A node's identity: an Ed25519 signing key (its id is the public key) and an RFC 9381 VRF key, made
// on first start and kept in WOLK_DATA_DIR/node-key.json with mode 0600. Both are 32-byte seeds.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fromHex, toHex } from '../crypto/hash.js';
import { signKeyFromSeed, type SignKeyPair } from '../crypto/sign.js';
import { vrfKeyFromSeed } from '../crypto/vrf.js';

export const NODE_KEY_FILE = 'node-key.json';

export interface NodeKey {
  /** Hex of the Ed25519 public key: how the chain and logs name this node. */
  readonly id: string;
  readonly signPublicKey: Uint8Array;
  readonly signSecretKey: Uint8Array;
  readonly vrfPublicKey: Uint8Array;
  readonly vrfSecretKey: Uint8Array;
}

interface NodeKeyFile {
  version: 1;
  signSeed: string;
  vrfSeed: string;
}

/** The node's Ed25519 key pair, as request signers take it (lib/chain/write-request.ts). */
export function signerOf(key: NodeKey): SignKeyPair {
  return { publicKey: key.signPublicKey, secretKey: key.signSecretKey };
}

export function nodeKeyFromSeeds(signSeed: Uint8Array, vrfSeed: Uint8Array): NodeKey {
  const s = signKeyFromSeed(signSeed);
  const v = vrfKeyFromSeed(vrfSeed);
  return { id: toHex(s.publicKey), signPublicKey: s.publicKey, signSecretKey: s.secretKey, vrfPublicKey: v.publicKey, vrfSecretKey: v.secretKey };
}

function parseKeyFile(path: string): NodeKey {
  let parsed: Partial<NodeKeyFile>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<NodeKeyFile>;
  } catch (err) {
    throw new Error(`${path}: not a readable node key file (${(err as Error).message})`);
  }
  if (parsed.version !== 1 || typeof parsed.signSeed !== 'string' || typeof parsed.vrfSeed !== 'string') {
    throw new Error(`${path}: expected {"version":1,"signSeed":hex,"vrfSeed":hex}`);
  }
  return nodeKeyFromSeeds(fromHex(parsed.signSeed), fromHex(parsed.vrfSeed));
}

/** Loads the node's key from its data directory, creating it (durably, mode 0600) on first start. */
export function loadOrCreateNodeKey(dataDir: string): { key: NodeKey; created: boolean } {
  const path = join(dataDir, NODE_KEY_FILE);
  if (existsSync(path)) return { key: parseKeyFile(path), created: false };
  const file: NodeKeyFile = { version: 1, signSeed: toHex(randomBytes(32)), vrfSeed: toHex(randomBytes(32)) };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(file) + '\n', { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  chmodSync(path, 0o600);
  const dirFd = openSync(dataDir, 'r');
  fsyncSync(dirFd);
  closeSync(dirFd);
  return { key: parseKeyFile(path), created: true };
}
