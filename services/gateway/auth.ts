// Authentication of a write (docs/http-api.md "Signing"): the RFC 9421 request signature within the
// time window, the signing key's rate limit (rate-limit.ts), a fresh (keyid, nonce) in the replay cache,
// and the user's signature on the transaction the request carries. Failures are 401 / 429 / 409 / 503
// through problems.ts.
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { verifyUserSignature } from '../../lib/client/tx.js';
import { WOLK_COVERED, verifyRequest, type VerifiedSignature } from '../../lib/http/signatures.js';
import { bodyOptions, hex, type ApiContext, type Routed } from './context.js';
import { HttpProblem, problem } from './problems.js';
import { contentDigest, header, readSmallBody } from './request.js';

const nowSeconds = (ctx: ApiContext) => Math.floor(ctx.clock.now() / 1000);

/** RFC 9421 verification, the key's rate limit, replay check: 401 / 429 / 409 (503 when the replay cache is full). */
export async function authenticate(ctx: ApiContext, req: IncomingMessage, rawPath: string): Promise<VerifiedSignature> {
  const now = nowSeconds(ctx);
  // A SignatureError becomes 401 in problems.ts.
  const sig = verifyRequest({ method: req.method ?? '', path: rawPath, header: (n) => header(req, n) }, { required: WOLK_COVERED, now, windowSeconds: ctx.signatureWindowSeconds });
  // Charged once the key is proven, before the nonce is spent: a refused request can be sent again as it is.
  ctx.rates?.key.take(hex(sig.publicKey));
  const verdict = await ctx.replay.check(sig.publicKey, sig.nonce, sig.created, now);
  if (verdict === 'replay') throw problem(409, 'replayed-nonce', 'Conflict', 'this nonce was already used with this key: sign every request with a fresh nonce');
  if (verdict === 'full') throw problem(503, 'busy', 'Service Unavailable', 'too many signed requests within the signature window; retry shortly');
  return sig;
}

/** 401 unless the transaction carries its sender's valid signature. */
export function requireUserSignature(stx: SignedTransaction, challenge = false): void {
  if (verifyUserSignature(stx)) return;
  throw new HttpProblem(
    { type: '/problems/bad-signature', title: 'Unauthorized', status: 401, detail: 'the transaction signature does not verify' },
    challenge ? { 'www-authenticate': 'Signature' } : {},
  );
}

/** A signed request whose body is a user-signed SignedTransaction (application/x-protobuf, at most 64 KiB). */
export async function readSignedTransaction(ctx: ApiContext, r: Routed, holding: string): Promise<{ sig: VerifiedSignature; stx: SignedTransaction }> {
  const req = r.req;
  const sig = await authenticate(ctx, req, r.rawPath);
  const body = await readSmallBody(req, 64 * 1024, bodyOptions(ctx, r));
  const declared = contentDigest(req);
  if (!declared || !createHash('sha256').update(body).digest().equals(Buffer.from(declared))) {
    throw problem(422, 'digest-mismatch', 'Unprocessable Content', 'the body does not match its Content-Digest (RFC 9530)');
  }
  try {
    return { sig, stx: SignedTransaction.decode(body) };
  } catch {
    throw problem(400, 'malformed-transaction', 'Bad Request', `the body must be a SignedTransaction (application/x-protobuf) holding a ${holding}`);
  }
}
