// Transactions as the client and the gateway build them (docs/contracts.md "Canonical signing"):
// state keys, the user's signature over a SetName / SetKey intent, the gateway's co-signature and
// the transaction id. Deterministic protobuf encodings come from the generated code (ts-proto emits
// fields in field-number order), re-encoded from decoded messages, never sliced from wire bytes.
import { createHash } from 'node:crypto';
import { sign, verifySignature, SignDomain } from '../crypto/sign.js';
import { SignedTransaction, Transaction, type SetKey } from '../../gen/wolk/common/v1/tx.js';
import type { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { ClientKey } from './signing.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** State key of wolk://OWNER[/COLLECTION[/KEY]] (state.proto): SHA-256 of the path, UTF-8. */
export function pathStateKey(owner: string, collection?: string, key?: string): Uint8Array {
  let path = `wolk://${owner}`;
  if (collection !== undefined) path += `/${collection}`;
  if (key !== undefined) path += `/${key}`;
  return sha256(new TextEncoder().encode(path));
}

/** State key of an account: SHA-256("wolk/account/v1" ‖ 0x00 ‖ P). */
export function accountStateKey(publicKey: Uint8Array): Uint8Array {
  return sha256(Buffer.concat([Buffer.from('wolk/account/v1'), Buffer.of(0), publicKey]));
}

export const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const COLLECTION_RE = /^[a-z0-9._-]{1,63}$/;

export function isValidKey(key: string): boolean {
  const n = Buffer.byteLength(key);
  return n >= 1 && n <= 1024 && !key.includes('\0');
}

/** The bytes the sender signs: the Transaction with a SetKey's gateway fields cleared (tx.proto). */
export function userSignedBytes(tx: Transaction): Uint8Array {
  if (tx.body?.$case !== 'setKey') return Transaction.encode(tx).finish();
  const setKey: SetKey = { ...tx.body.value, commitments: [], gatewayId: Buffer.alloc(0), gatewaySignature: Buffer.alloc(0) };
  return Transaction.encode({ ...tx, body: { $case: 'setKey', value: setKey } }).finish();
}

/** The bytes the gateway co-signs: the whole Transaction with set_key.gateway_signature cleared. */
export function cosignBytes(tx: Transaction): Uint8Array {
  if (tx.body?.$case !== 'setKey') throw new Error('only a SetKey is co-signed');
  return Transaction.encode({ ...tx, body: { $case: 'setKey', value: { ...tx.body.value, gatewaySignature: Buffer.alloc(0) } } }).finish();
}

export function signTransaction(tx: Transaction, key: ClientKey): SignedTransaction {
  return { tx, signature: Buffer.from(sign(SignDomain.Tx, key.secretKey, userSignedBytes(tx))) };
}

export function verifyUserSignature(stx: SignedTransaction): boolean {
  if (!stx.tx) return false;
  return verifySignature(SignDomain.Tx, stx.tx.sender, userSignedBytes(stx.tx), stx.signature);
}

/** Adds the commitments and the gateway's co-signature to a user-signed SetKey. */
export function cosignSetKey(stx: SignedTransaction, commitments: StorageCommitment[], gateway: { publicKey: Uint8Array; secretKey: Uint8Array }): SignedTransaction {
  const tx = stx.tx!;
  if (tx.body?.$case !== 'setKey') throw new Error('not a SetKey');
  const filled: Transaction = {
    ...tx,
    body: { $case: 'setKey', value: { ...tx.body.value, commitments, gatewayId: Buffer.from(gateway.publicKey), gatewaySignature: Buffer.alloc(0) } },
  };
  const sig = sign(SignDomain.GatewayCosign, gateway.secretKey, cosignBytes(filled));
  const body = filled.body as { $case: 'setKey'; value: SetKey };
  return { tx: { ...filled, body: { $case: 'setKey', value: { ...body.value, gatewaySignature: Buffer.from(sig) } } }, signature: stx.signature };
}

/** Transaction id: SHA-256 of the deterministic encoding of the SignedTransaction. */
export function txId(stx: SignedTransaction): Uint8Array {
  return sha256(SignedTransaction.encode(stx).finish());
}

export interface SetKeyIntent {
  readonly owner: string;
  readonly collection: string;
  readonly key: string;
  readonly file: FileInfo;
  readonly contentType: string;
}

export function setKeyTransaction(intent: SetKeyIntent, sender: Uint8Array, nonce: bigint, chainId: string): Transaction {
  return {
    sender: Buffer.from(sender),
    nonce,
    fee: 0n,
    chainId,
    body: {
      $case: 'setKey',
      value: {
        owner: intent.owner,
        collection: intent.collection,
        key: intent.key,
        file: intent.file,
        contentType: intent.contentType,
        commitments: [],
        gatewayId: Buffer.alloc(0),
        gatewaySignature: Buffer.alloc(0),
      },
    },
  };
}

/** A SetBucket: creates OWNER/COLLECTION or changes its settings (0 = the network's default; the chunk size never changes). */
export function setBucketTransaction(
  owner: string,
  collection: string,
  settings: { replication?: number; chunkSize?: number; maxFileSize?: bigint },
  sender: Uint8Array,
  nonce: bigint,
  chainId: string,
): Transaction {
  return {
    sender: Buffer.from(sender),
    nonce,
    fee: 0n,
    chainId,
    body: { $case: 'setBucket', value: { owner, collection, settings: { replication: settings.replication ?? 0, chunkSize: settings.chunkSize ?? 0, maxFileSize: settings.maxFileSize ?? 0n } } },
  };
}

export function setNameTransaction(name: string, owner: Uint8Array, nonce: bigint, chainId: string): Transaction {
  return { sender: Buffer.from(owner), nonce, fee: 0n, chainId, body: { $case: 'setName', value: { name, owner: Buffer.from(owner) } } };
}
