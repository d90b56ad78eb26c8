// Transactions as the client and the gateway build them (docs/contracts.md "Canonical signing"):
// the user's signature over a SetName / SetBucket / SetKey intent and the gateway's co-signature.
// The bytes signed and the transaction id are lib/chain/tx-bytes.ts, the state keys and name
// patterns lib/chain/state-keys.ts: the ledger checks transactions with the same functions.
import { sign, verifySignature, SignDomain } from '../crypto/sign.js';
import { cosignBytes, userSignedBytes } from '../chain/tx-bytes.js';
import type { SignedTransaction, Transaction, SetKey } from '../../gen/wolk/common/v1/tx.js';
import type { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { ClientKey } from './signing.js';

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
