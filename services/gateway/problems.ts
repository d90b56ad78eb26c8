// The one place where the gateway's domain errors become RFC 9457 problem+json answers
// (docs/http-api.md "Errors"). Flows throw what went wrong in their own terms (ChainError, SpoolError,
// NotEnoughStorers, ...); the HTTP front asks `toProblem` for the answer. An error it does not know
// is a bug in the gateway: the front logs it and answers 500.
import type { Problem } from '../../lib/http/problem.js';
import { SignatureError } from '../../lib/http/signatures.js';
import { ChainError } from './chain.js';
import { ListError } from './list.js';
import { RateLimited } from './rate-limit.js';
import { ReadFailed } from './read.js';
import { SpoolError } from './spool.js';
import { NotEnoughStorers } from './upload.js';

/** A refusal decided by a flow: becomes problem+json as it is. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
    this.name = 'HttpProblem';
  }
}

export const problem = (status: number, type: string, title: string, detail: string, ext: Record<string, unknown> = {}, headers: Record<string, string> = {}): HttpProblem =>
  new HttpProblem({ type: `/problems/${type}`, title, status, detail, ...ext }, headers);

/** A request header that is present but cannot be parsed (400, naming the header). */
export class HeaderError extends Error {
  constructor(
    readonly header: string,
    message: string,
  ) {
    super(message);
    this.name = 'HeaderError';
  }
}

/** Consensus refused a user's transaction (at SubmitTx, or later, when a block spent its nonce). */
export class TxRejected extends Error {
  constructor(
    message: string,
    /** Extra problem members (finality.ts: `nonce` when its nonce was the reason). */
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TxRejected';
  }
}

/** The answer for a domain error; null for an error that is not a refusal (a bug: 500). */
export function toProblem(err: unknown): HttpProblem | null {
  if (err instanceof HttpProblem) return err;
  if (err instanceof SignatureError) {
    return new HttpProblem(
      { type: `/problems/${err.code === 'expired' ? 'stale-signature' : 'bad-signature'}`, title: 'Unauthorized', status: 401, detail: err.message },
      { 'www-authenticate': 'Signature' },
    );
  }
  if (err instanceof RateLimited) {
    return problem(
      429,
      'rate-limited',
      'Too Many Requests',
      err.message,
      { limit: err.scope, perSecond: err.limit.perSecond, burst: err.limit.burst, retryAfterSeconds: err.retryAfterSeconds },
      { 'retry-after': String(err.retryAfterSeconds) },
    );
  }
  if (err instanceof HeaderError) return problem(400, 'malformed-header', 'Bad Request', `${err.header}: ${err.message}`, { header: err.header });
  if (err instanceof TxRejected) return problem(409, 'transaction-rejected', 'Conflict', err.message, err.members);
  if (err instanceof ChainError) {
    if (err.kind === 'unavailable') return problem(503, 'chain-unavailable', 'Service Unavailable', err.message);
    return problem(502, 'chain-error', 'Bad Gateway', err.message);
  }
  if (err instanceof SpoolError) {
    if (err.code === 'idle') return problem(408, 'body-timeout', 'Request Timeout', err.message);
    if (err.code === 'too-large') return problem(413, 'too-large', 'Content Too Large', err.message, err.maxBytes !== undefined ? { maxBytes: err.maxBytes } : {});
    return problem(400, 'incomplete-body', 'Bad Request', err.message);
  }
  if (err instanceof NotEnoughStorers) {
    return problem(503, 'not-enough-storers', 'Service Unavailable', `${err.message}; nothing was written to the chain`, { wanted: err.wanted, got: err.got, failures: err.failures });
  }
  if (err instanceof ListError) {
    return err.kind === 'bad-request'
      ? problem(400, 'bad-listing-query', 'Bad Request', err.message)
      : problem(503, 'listing-unavailable', 'Service Unavailable', err.message);
  }
  if (err instanceof ReadFailed) return problem(502, 'storers-failed', 'Bad Gateway', err.message);
  return null;
}
