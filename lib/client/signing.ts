// Signing Wolk requests on the client (docs/http-api.md "Signing"): RFC 9421 HTTP Message Signatures
// with Ed25519 over "@method" "@path" "content-digest", plus created, nonce, keyid and alg. Usable from
// Node with no service code; a client in another language follows the same rules.
import { randomBytes } from 'node:crypto';
import { WOLK_COVERED, SIGNATURE_ALG, formatContentDigest, signRequest, type SignedHeaders } from '../http/signatures.js';

export interface ClientKey {
  /** 32-byte Ed25519 seed. */
  readonly secretKey: Uint8Array;
  /** 32-byte Ed25519 public key; its lowercase hex is the keyid and the owner's on-chain identity. */
  readonly publicKey: Uint8Array;
}

export interface SignOptions {
  readonly method: string;
  /** Path as it will be sent on the wire (percent-encoded, no query). */
  readonly path: string;
  /** SHA-256 of the exact body bytes (of the empty string for a request with no body). */
  readonly bodySha256: Uint8Array;
  readonly key: ClientKey;
  /** Unix seconds; default now. */
  readonly created?: number;
  /** Default 16 random bytes, base64url (22 characters). */
  readonly nonce?: string;
}

export interface WolkAuthHeaders extends SignedHeaders {
  readonly 'content-digest': string;
}

export function freshNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** The three headers that authorize a write: Content-Digest, Signature-Input, Signature. */
export function signWolkRequest(o: SignOptions): WolkAuthHeaders {
  const digest = formatContentDigest(o.bodySha256);
  const headers = { 'content-digest': digest };
  const signed = signRequest(
    { method: o.method.toUpperCase(), path: o.path, header: (n) => (headers as Record<string, string>)[n] },
    WOLK_COVERED,
    {
      created: o.created ?? Math.floor(Date.now() / 1000),
      nonce: o.nonce ?? freshNonce(),
      keyid: Buffer.from(o.key.publicKey).toString('hex'),
      alg: SIGNATURE_ALG,
    },
    o.key.secretKey,
  );
  return { 'content-digest': digest, ...signed };
}
