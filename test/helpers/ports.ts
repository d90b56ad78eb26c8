// A free loopback TCP port, for a server whose address must be known before it starts (a genesis or a
// peer list names it). The OS picks it; the small window before the server binds it is accepted.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** HOST:PORT on loopback where nothing listens (a port just freed): a peer that is down. */
export async function deadEndpoint(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
