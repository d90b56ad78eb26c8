// HTTP/2 flow-control windows for bulk gRPC streams (SetFile, GetFile, Solicit's fetch).
//
// HTTP/2 lets a receiver accept only a window of unacknowledged bytes per stream and per connection;
// the default is 65,535 bytes, and grpc-js keeps it on the server side. On loopback a 64 KiB window
// makes a stream wait for a WINDOW_UPDATE round trip every 64 KiB, which capped a bare grpc-js stream
// at ~190 MB/s in and ~160 MB/s out on the reference machine; with 4 MiB windows the same stream
// carried 2-3 times that (`npm run bench -- storer` prints the ceiling with the windows we use).
//
// A window is also what a peer may make the receiver hold per stream before backpressure applies, so
// servers (which take many uploads at once and have a memory goal: a storer under 200 MB during a
// 1 GB SetFile) open 1 MiB, while clients pulling a server stream (the gateway's and a storer's
// GetFile) open 4 MiB: with 1 MiB, SetFile into the storer is as fast as with 4 (its own hashing and
// fsyncs bound it) and its peak RSS stays ~30 MB lower; GetFile gains from the larger client window.
import type { Server } from '@grpc/grpc-js';
import type { Http2Server, Http2Session } from 'node:http2';

/** A server's per-stream and per-connection receive window. */
export const SERVER_WINDOW_BYTES = 1024 * 1024;

/** A client channel's receive window when it pulls bulk server streams. */
export const CLIENT_WINDOW_BYTES = 4 * 1024 * 1024;

/** Client channel options: the receive window of a channel that pulls bulk server streams (GetFile). */
export const bulkChannelOptions = { 'grpc-node.flow_control_window': CLIENT_WINDOW_BYTES } as const;

/** The parts of grpc-js's Server (1.x) the windows are set through; neither is public API. */
interface ServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<Http2Server, unknown>;
}

/**
 * Before bind: every connection the server accepts advertises `bytes` as its per-stream initial
 * window (SETTINGS_INITIAL_WINDOW_SIZE). grpc-js has no option for it on the server side, so this sets
 * the settings object it passes to http2.createServer. Returns false (and changes nothing) if this
 * grpc-js does not have that object; the server then keeps working with the default windows.
 */
export function widenStreamWindows(server: Server, bytes = SERVER_WINDOW_BYTES): boolean {
  const internals = server as unknown as ServerInternals;
  const common = internals.commonServerOptions;
  if (typeof common !== 'object' || common === null) return false;
  common.settings = { ...(common.settings ?? {}), initialWindowSize: bytes };
  return true;
}

const widened = new WeakSet<Http2Server>();

/**
 * After bind: each new connection's connection-level window grows to `bytes` (HTTP/2 has no setting
 * for it: the receiver sends a WINDOW_UPDATE, which Http2Session.setLocalWindowSize does). Returns
 * how many listening HTTP/2 servers it attached to (0: not available in this grpc-js).
 */
export function widenConnectionWindows(server: Server, bytes = SERVER_WINDOW_BYTES): number {
  const servers = (server as unknown as ServerInternals).http2Servers;
  if (!(servers instanceof Map)) return 0;
  let attached = 0;
  for (const h2 of servers.keys()) {
    if (typeof (h2 as Partial<Http2Server>).on !== 'function') continue;
    attached++;
    if (widened.has(h2)) continue;
    widened.add(h2);
    h2.on('session', (session: Http2Session) => {
      const widen = () => {
        try {
          if (!session.destroyed) session.setLocalWindowSize(bytes);
        } catch {
          // a session closing under us: nothing to widen
        }
      };
      // setLocalWindowSize needs the session's settings exchanged; before that it throws.
      session.once('localSettings', widen);
    });
  }
  return attached;
}
