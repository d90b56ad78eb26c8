// A fault-injecting TCP proxy for soaks (issue #20.3): one listener per link, forwarding to a real
// process, with faults switched on and off while connections are open. Between real processes on
// one machine it stands in for the network the simulator models: a partition (connections hang
// silently, as packets to a cut-off host would: nothing is forwarded and nothing is refused, so
// clients see their deadlines expire; on heal the held connections are reset), added delay (every
// piece of data in either direction waits), and dropped connections (every open connection is reset
// at once; new ones go through). Pure node:net, no privileges, no network namespaces.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type LinkFault = { readonly kind: 'partition' } | { readonly kind: 'delay'; readonly ms: number };

export interface LinkStats {
  connections: number;
  bytes: number;
  resets: number;
}

/** One proxied link: `listenPort` on 127.0.0.1 forwards to `target` (HOST:PORT). */
export interface FaultLink {
  readonly name: string;
  readonly listenPort: number;
  readonly target: string;
  readonly stats: LinkStats;
  /** The fault now in force, or null. */
  fault(): LinkFault | null;
  /** Sets (or clears, with null) the fault; clearing a partition resets the connections it held. */
  setFault(f: LinkFault | null): void;
  /** Resets every open connection now (a dropped-connections fault). */
  dropConnections(): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
}

function splitHostPort(target: string): { host: string; port: number } {
  const i = target.lastIndexOf(':');
  const port = Number(target.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`fault proxy: expected HOST:PORT, got "${target}"`);
  return { host: target.slice(0, i), port };
}

/**
 * Resets a connection (RST, as a dropped link looks to its ends). A socket still connecting, or whose
 * writing side has ended, is destroyed instead: resetAndDestroy() on the first waits for a 'connect'
 * that may never come, and on the second libuv refuses the reset (EINVAL while shutting down) and
 * Node never closes the handle. Either leaves a handle open that Node's exit then waits for forever,
 * spinning in its handle cleanup: a test worker that had finished never ended and CI hung.
 */
function abort(s: Socket): void {
  if (s.connecting || s.pending || s.writableEnded) s.destroy();
  else s.resetAndDestroy();
}

/** Starts a link on `listenPort` (0: any free port) forwarding to `target`. */
export async function startFaultLink(name: string, target: string, listenPort = 0): Promise<FaultLink> {
  const { host, port } = splitHostPort(target);
  const pairs = new Set<Pair>();
  const stats: LinkStats = { connections: 0, bytes: 0, resets: 0 };
  let current: LinkFault | null = null;

  const reset = (p: Pair) => {
    abort(p.client);
    if (p.upstream) abort(p.upstream);
    pairs.delete(p);
  };

  /** Forwards `from` to `to`, each piece delayed by the fault in force when it arrived. */
  const pipe = (from: Socket, to: Socket) => {
    let queue = Promise.resolve();
    from.on('data', (d: Buffer) => {
      stats.bytes += d.length;
      const f = current;
      if (f?.kind === 'delay') {
        from.pause();
        queue = queue.then(
          () =>
            new Promise<void>((res) =>
              setTimeout(() => {
                if (!to.destroyed) to.write(d);
                from.resume();
                res();
              }, f.ms),
            ),
        );
      } else if (!to.destroyed && !to.write(d)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => void queue.then(() => to.end()));
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    const p: Pair = { client, upstream: null };
    pairs.add(p);
    client.on('error', () => reset(p));
    client.on('close', () => {
      p.upstream?.destroy();
      pairs.delete(p);
    });
    const open = () => {
      if (client.destroyed) return;
      const up = connect({ host, port });
      p.upstream = up;
      up.on('error', () => reset(p));
      up.on('close', () => {
        client.destroy();
        pairs.delete(p);
      });
      up.on('connect', () => {
        pipe(client, up);
        pipe(up, client);
        client.resume();
      });
    };
    client.pause();
    // Partitioned: the connection is held silently until the partition heals (then reset by setFault).
    if (current?.kind !== 'partition') open();
  });
  server.on('error', () => undefined);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(listenPort, '127.0.0.1', () => res());
  });
  const actualPort = (server.address() as { port: number }).port;

  return {
    name,
    listenPort: actualPort,
    target,
    stats,
    fault: () => current,
    setFault(f) {
      const was = current;
      current = f;
      if (f?.kind === 'partition') {
        // Established connections stop carrying data too: pause both directions (silent, not refused).
        for (const p of pairs) {
          p.client.pause();
          p.upstream?.pause();
        }
      } else if (was?.kind === 'partition') {
        // Heal: what was held or frozen is reset; clients reconnect.
        for (const p of [...pairs]) {
          stats.resets++;
          reset(p);
        }
      }
    },
    dropConnections() {
      const n = pairs.size;
      for (const p of [...pairs]) {
        stats.resets++;
        reset(p);
      }
      return n;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const p of [...pairs]) reset(p);
        server.close(() => res());
      }),
  };
}
