// Free loopback ports for tests: lib/net/ports.ts (drawn below the ephemeral range, so no client
// connection takes one between the choice and the bind).
import { freePort } from '../../lib/net/ports.js';

export { freePort };

/** HOST:PORT on loopback where nothing listens (a port just freed): a peer that is down. */
export async function deadEndpoint(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
