// The byte strings the chain checks on a transaction (tx.proto, docs/contracts.md "Canonical
// signing"): what the sender signs, what the gateway co-signs, and the transaction id. One
// implementation for everyone who signs or checks them (the client library, the gateway, the
// storers and the rewards service, the ledger, the indexer), so the two sides cannot drift.
// Deterministic protobuf encodings come from the generated code (ts-proto emits fields in
// field-number order), re-encoded from decoded messages, never sliced from wire bytes.
import { sha256 } from '../crypto/hash.js';
import { SignedTransaction, Transaction, type SetKey } from '../../gen/wolk/common/v1/tx.js';

/**
 * The bytes the sender signs (domain "wolk/tx/v1"): the deterministic encoding of the Transaction,
 * with a SetKey's gateway fields (commitments, gateway_id, gateway_signature) cleared.
 */
export function userSignedBytes(tx: Transaction): Uint8Array {
  if (tx.body?.$case !== 'setKey') return Transaction.encode(tx).finish();
  const intent: SetKey = { ...tx.body.value, commitments: [], gatewayId: Buffer.alloc(0), gatewaySignature: Buffer.alloc(0) };
  return Transaction.encode({ ...tx, body: { $case: 'setKey', value: intent } }).finish();
}

/**
 * The bytes the gateway co-signs (domain "wolk/gateway-cosign/v1"): the deterministic encoding of
 * the whole Transaction with set_key.gateway_signature cleared. Only a SetKey is co-signed.
 */
export function cosignBytes(tx: Transaction): Uint8Array {
  if (tx.body?.$case !== 'setKey') throw new TypeError(`cosignBytes: only a SetKey is co-signed, got ${tx.body?.$case ?? 'no body'}`);
  return Transaction.encode({ ...tx, body: { $case: 'setKey', value: { ...tx.body.value, gatewaySignature: Buffer.alloc(0) } } }).finish();
}

/** Transaction id: SHA-256 of the deterministic encoding of the SignedTransaction. */
export function txId(stx: SignedTransaction): Uint8Array {
  return sha256(SignedTransaction.encode(stx).finish());
}
