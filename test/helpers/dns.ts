// A real DNS server on loopback for tests of SRV discovery (lib/net/endpoints.ts): UDP on 127.0.0.1,
// the wire format of RFC 1035 §4 with SRV answers (RFC 2782, type 33). node's Resolver talks to it
// through setServers(['127.0.0.1:PORT']) (WOLK_DNS_SERVERS for a service). Records can be changed or
// the server told to fail (SERVFAIL) or stay silent (a timeout) while a test runs.
//
// Only what a resolver asks is answered: one question per query, SRV (or ANY) for a known name; a
// name not served is NXDOMAIN, another type NOERROR with no answers. EDNS and other additional
// records in a query are ignored (an answer without an OPT record is valid for an EDNS query).
import { createSocket, type Socket } from 'node:dgram';

export interface SrvTarget {
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export type DnsMode = 'answer' | 'servfail' | 'silent';

export interface TestDnsServer {
  /** "127.0.0.1:PORT", for Resolver.setServers and WOLK_DNS_SERVERS. */
  readonly address: string;
  /** Serves `targets` for `name` from now on (an empty list: the name exists with no records). */
  set(name: string, targets: readonly SrvTarget[]): void;
  /** Stops serving `name` (NXDOMAIN from now on). */
  remove(name: string): void;
  /** answer (default), servfail (every query), silent (no reply: the resolver times out). */
  mode(m: DnsMode): void;
  /** Queries received so far. */
  readonly queries: () => number;
  close(): Promise<void>;
}

const TYPE_SRV = 33;
const TYPE_ANY = 255;
const CLASS_IN = 1;

/** A name as labels (no compression). */
function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const bufs = parts.map((l) => {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new Error(`DNS label longer than 63 bytes: ${l}`);
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

/** The question's name (lower-cased), and the offset just past its type and class; undefined: malformed. */
function readQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  let off = 12;
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63) return undefined; // no compression in a question
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('ascii'));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(off), end: off + 4 };
}

function reply(query: Buffer, q: { end: number } | undefined, rcode: number, answers: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  const rd = query[2]! & 0x01;
  header[2] = 0x80 | 0x04 | rd; // QR, AA, RD copied
  header[3] = 0x80 | rcode; // RA
  header.writeUInt16BE(q ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const question = q ? query.subarray(12, q.end) : Buffer.alloc(0);
  return Buffer.concat([header, question, ...answers]);
}

function srvAnswer(t: SrvTarget, ttl: number): Buffer {
  const target = encodeName(t.target);
  const rdata = Buffer.alloc(6);
  rdata.writeUInt16BE(t.priority ?? 0, 0);
  rdata.writeUInt16BE(t.weight ?? 10, 2);
  rdata.writeUInt16BE(t.port, 4);
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0); // the owner name: a pointer to the question's
  fixed.writeUInt16BE(TYPE_SRV, 2);
  fixed.writeUInt16BE(CLASS_IN, 4);
  fixed.writeUInt32BE(ttl, 6);
  fixed.writeUInt16BE(rdata.length + target.length, 10);
  return Buffer.concat([fixed, rdata, target]);
}

/** Starts the server on 127.0.0.1 (a port the OS picks: the server binds it itself, so nothing can take it first). */
export async function startDnsServer(records: Readonly<Record<string, readonly SrvTarget[]>> = {}, o: { ttl?: number } = {}): Promise<TestDnsServer> {
  const zone = new Map<string, readonly SrvTarget[]>(Object.entries(records).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  // TTL 0: resolvers must not cache (c-ares does not cache unless asked; 0 keeps any cache out of the tests).
  const ttl = o.ttl ?? 0;
  let mode: DnsMode = 'answer';
  let queries = 0;
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    queries++;
    if (mode === 'silent' || msg.length < 12) return;
    const q = readQuestion(msg);
    let out: Buffer;
    if (!q) out = reply(msg, undefined, 1, []); // FORMERR
    else if (mode === 'servfail') out = reply(msg, q, 2, []);
    else {
      const targets = zone.get(q.name);
      if (targets === undefined) out = reply(msg, q, 3, []); // NXDOMAIN
      else out = reply(msg, q, 0, q.type === TYPE_SRV || q.type === TYPE_ANY ? targets.map((t) => srvAnswer(t, ttl)) : []);
    }
    socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = socket.address().port;
  return {
    address: `127.0.0.1:${port}`,
    set: (name, targets) => void zone.set(name.toLowerCase().replace(/\.$/, ''), [...targets]),
    remove: (name) => void zone.delete(name.toLowerCase().replace(/\.$/, '')),
    mode: (m) => void (mode = m),
    queries: () => queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
