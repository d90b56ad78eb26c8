// Every Wolk gRPC server opens its HTTP/2 flow-control windows to SERVER_WINDOW_BYTES (lib/grpc/flow-control.ts):
// checked from the wire with a plain HTTP/2 client, as any peer would see it.
import test from 'ava';
import { connect, type ClientHttp2Session } from 'node:http2';
import { once } from 'node:events';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { SERVER_WINDOW_BYTES } from '../../../lib/grpc/flow-control.js';
import { silentLogger } from '../../../lib/log/logger.js';

const DEFAULT_WINDOW = 65_535;

test('a Wolk gRPC server advertises the bulk stream window and widens the connection window', async (t) => {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 1 << 20 });
  const port = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.shutdown(0));
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.destroy());
  await once(session, 'remoteSettings');
  // Per stream: the SETTINGS frame's initial window, what a client may send on a SetFile stream unacknowledged.
  t.is(session.remoteSettings.initialWindowSize, SERVER_WINDOW_BYTES);
  // Per connection: there is no setting; the server sends a WINDOW_UPDATE after the settings exchange.
  const deadline = Date.now() + 5000;
  while ((session.state.remoteWindowSize ?? 0) <= DEFAULT_WINDOW && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.is(session.state.remoteWindowSize, SERVER_WINDOW_BYTES);
});
