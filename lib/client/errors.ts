// A gateway's refusal as the client sees it: the HTTP status and its problem+json (RFC 9457), one
// class for every call of lib/client (a PUT, a resumable upload, a read).
import { text, type GatewayResponse } from './transport.js';

export class WolkHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Record<string, unknown>,
  ) {
    super(`${status} ${String(problem['title'] ?? '')}: ${String(problem['detail'] ?? '')}`);
    this.name = 'WolkHttpError';
  }
}

/** Reads a refusal's body into a WolkHttpError (a body that is not JSON becomes its detail). */
export async function problemOf(res: GatewayResponse): Promise<WolkHttpError> {
  const body = await text(res);
  try {
    return new WolkHttpError(res.status, JSON.parse(body) as Record<string, unknown>);
  } catch {
    return new WolkHttpError(res.status, { title: res.body.statusMessage ?? '', detail: body });
  }
}
