// The signed bytes of every write a storer admits (docs/storer.md "Write admission"; docs/contracts.md
// "Signatures"): one home for what writers sign and storers verify, so the gateway, the repairer, the
// proposers and the storer build the same bytes.
//
//   SetShare / SetShares   domain wolk/share-write/v1      ShareWriteIntent {storer id, chunk ids}
//   SetFile                domain wolk/file-write/v1       FileWriteIntent {storer id, info}
//   Solicit                domain wolk/store-request/v1    the SolicitRequest with `signature` cleared
//   CommitChunks           domain wolk/chunk-commit-request/v1  (lib/chain/commitment.ts commitChunksMessage)
//
// Share and file writes name the receiving storer, so a signed write cannot be replayed to another one.
import type { FileInfo } from '../../gen/wolk/common/v1/storage.js';
import { FileWriteIntent, ShareWriteIntent, SolicitRequest, type SetFileRequest } from '../../gen/wolk/storer/v1/storer.js';
import { SignDomain, sign, type SignKeyPair } from '../crypto/sign.js';

/** A key that signs requests: a node's Ed25519 key pair (its public key is the requester id). */
export type RequestSigner = Readonly<SignKeyPair>;

const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The bytes a SetShare(s) writer signs: a ShareWriteIntent for `storerId` and the chunk ids in order. */
export function shareWriteMessage(storerId: Uint8Array, chunkIds: readonly Uint8Array[]): Uint8Array {
  return ShareWriteIntent.encode({ storerId: buf(storerId), chunkIds: chunkIds.map(buf) }).finish();
}

/** The bytes a SetFile writer signs: a FileWriteIntent for `storerId` and the stream's FileInfo. */
export function fileWriteMessage(storerId: Uint8Array, info: FileInfo): Uint8Array {
  return FileWriteIntent.encode({ storerId: buf(storerId), info }).finish();
}

/** The bytes a Solicit requester signs: the request with `signature` cleared. */
export function solicitMessage(req: SolicitRequest): Uint8Array {
  return SolicitRequest.encode({ ...req, signature: Buffer.alloc(0) }).finish();
}

/** `requester_id` and `signature` of a SetShare(s) to `storerId`. */
export function signShareWrite(signer: RequestSigner, storerId: Uint8Array, chunkIds: readonly Uint8Array[]): { requesterId: Buffer; signature: Buffer } {
  return { requesterId: Buffer.from(signer.publicKey), signature: Buffer.from(sign(SignDomain.ShareWrite, signer.secretKey, shareWriteMessage(storerId, chunkIds))) };
}

/** `requester_id` and `signature` of a SetFile's first message to `storerId`. */
export function signFileWrite(signer: RequestSigner, storerId: Uint8Array, info: FileInfo): { requesterId: Buffer; signature: Buffer } {
  return { requesterId: Buffer.from(signer.publicKey), signature: Buffer.from(sign(SignDomain.FileWrite, signer.secretKey, fileWriteMessage(storerId, info))) };
}

/** The request with `requester_id` set to the signer and `signature` over the rest. */
export function signSolicit(signer: RequestSigner, req: Omit<SolicitRequest, 'requesterId' | 'signature'>): SolicitRequest {
  const unsigned: SolicitRequest = { ...req, requesterId: Buffer.from(signer.publicKey), signature: Buffer.alloc(0) };
  return { ...unsigned, signature: Buffer.from(sign(SignDomain.StoreRequest, signer.secretKey, solicitMessage(unsigned))) };
}

/** The requester fields of a write sent without a signature (accepted only by a storer in open admission). */
export function unsignedWrite(): { requesterId: Buffer; signature: Buffer } {
  return { requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
}

/** A SetFile stream's first message: `info`, signed for the receiving storer when a writer is given. */
export function setFileStart(info: FileInfo, writer?: { readonly signer: RequestSigner; readonly storerId: Uint8Array }): SetFileRequest {
  return { part: { $case: 'info', value: info }, ...(writer ? signFileWrite(writer.signer, writer.storerId, info) : unsignedWrite()) };
}

/** A SetFile stream's later message: the next bytes. */
export function setFileData(value: Buffer): SetFileRequest {
  return { part: { $case: 'data', value }, ...unsignedWrite() };
}
