// Loopback ports for servers whose address must be known before they start (a genesis or a peer list
// names them: the devnet launcher, the soak cluster, the in-process test clusters). One home for it.
//
// A port the OS hands out for "port 0" comes from the ephemeral range, the same range every outgoing
// connection on the machine takes its local port from: in the window between choosing it and the
// server binding it, any client connection (a test's gRPC calls, another devnet) can take it, and the
// server fails with "port already in use" (a cluster test of the 2026-12-06 CI run failed that way).
// So ports are drawn at random below the ephemeral range, where only listeners that chose them
// explicitly can collide, and checked free by binding them; port 0 is the fallback.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port drawn from (below: well-known and registered services people run locally). */
const LOWEST = 10_000;

/** The first port of the OS's ephemeral range (Linux's file; 32768, its default, elsewhere). */
export function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux, or /proc not mounted
  }
  return 32_768;
}

/** Whether nothing listens on 127.0.0.1:port now (it can be bound). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port the OS picks (port 0): free now, but in the ephemeral range. */
function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A free loopback port below the ephemeral range (random, checked by binding it); else one the OS picks. */
export async function freePort(): Promise<number> {
  const high = ephemeralRangeStart();
  if (high - LOWEST >= 1000) {
    for (let i = 0; i < 64; i++) {
      const port = randomInt(LOWEST, high);
      if (await portIsFree(port)) return port;
    }
  }
  return osPort();
}
