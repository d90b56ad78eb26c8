// Garbage for gRPC servers (issue #20.5): every method of every Wolk service, enumerated from the
// generated service definitions in gen/, called with an empty message, random bytes, an oversized
// message, and structurally valid messages whose fields hold random values (built from the
// descriptor set gen/wolk.binpb, so every field of every nested message gets exercised). Requests
// are sent as raw bytes (identity serializers): the server's own decoder sees exactly what we made.
// Each answer's status code is checked against the codes the service documents (the "Errors:"
// paragraph of its .proto, the list in docs/contracts.md, and UNIMPLEMENTED for what is not built).
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsensusServiceService } from '../../gen/wolk/consensus/v1/consensus.js';
import { IndexerServiceService } from '../../gen/wolk/indexer/v1/indexer.js';
import { RewardsServiceService } from '../../gen/wolk/rewards/v1/rewards.js';
import { StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';
import type { Prng } from '../../test/sim/prng.js';

export interface WolkMethod {
  /** "wolk.storer.v1.StorerService" */
  readonly service: string;
  /** "/wolk.storer.v1.StorerService/SetFile" */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** The request message's full name, e.g. "wolk.storer.v1.SetFileRequest". */
  readonly requestType: string;
}

type Definition = Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
export const WOLK_SERVICES: Record<string, Definition> = {
  'wolk.storer.v1.StorerService': StorerServiceService,
  'wolk.consensus.v1.ConsensusService': ConsensusServiceService,
  'wolk.indexer.v1.IndexerService': IndexerServiceService,
  'wolk.rewards.v1.RewardsService': RewardsServiceService,
};

/** The proto file of each service (for its documented error codes). */
const PROTO_OF: Record<string, string> = {
  'wolk.storer.v1.StorerService': 'proto/wolk/storer/v1/storer.proto',
  'wolk.consensus.v1.ConsensusService': 'proto/wolk/consensus/v1/consensus.proto',
  'wolk.indexer.v1.IndexerService': 'proto/wolk/indexer/v1/indexer.proto',
  'wolk.rewards.v1.RewardsService': 'proto/wolk/rewards/v1/rewards.proto',
};

interface FieldDescriptor {
  readonly name: string;
  readonly number: number;
  readonly label: string;
  readonly type: string;
  readonly typeName: string;
}
interface MessageDescriptor {
  readonly name: string;
  readonly field: readonly FieldDescriptor[];
}

export interface Schema {
  readonly methods: WolkMethod[];
  readonly messages: ReadonlyMap<string, MessageDescriptor>;
  /** Documented status codes per service (names as in grpc-js `status`). */
  readonly documented: ReadonlyMap<string, ReadonlySet<string>>;
}

const CODE_RE = /\b(OK|CANCELLED|UNKNOWN|INVALID_ARGUMENT|DEADLINE_EXCEEDED|NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|RESOURCE_EXHAUSTED|FAILED_PRECONDITION|ABORTED|OUT_OF_RANGE|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS|UNAUTHENTICATED)\b/g;

/** Codes named in the leading "Errors:" paragraph of a proto file. */
function protoErrors(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\/\/\s*Errors:/.test(l));
  if (start < 0) return [];
  const para: string[] = [];
  for (let i = start; i < lines.length && /^\/\/\s*\S/.test(lines[i]!); i++) para.push(lines[i]!);
  return para.join(' ').match(CODE_RE) ?? [];
}

/** Codes docs/contracts.md lists for every service ("Errors are gRPC status codes ..."). */
function contractErrors(text: string): string[] {
  const m = /Errors are gRPC status codes[\s\S]*?\n\n/.exec(text);
  return m ? (m[0].match(CODE_RE) ?? []) : [];
}

export function loadSchema(root: string): Schema {
  const def = loadFileDescriptorSetFromBuffer(readFileSync(join(root, 'gen/wolk.binpb')), {}) as unknown as Record<string, Record<string, { requestType?: { type: MessageDescriptor } }> & { type?: MessageDescriptor }>;
  const messages = new Map<string, MessageDescriptor>();
  for (const [name, v] of Object.entries(def)) {
    const t = (v as { type?: MessageDescriptor; format?: string }).type;
    if ((v as { format?: string }).format === 'Protocol Buffer 3 DescriptorProto' && t) messages.set(name, t);
  }
  const contracts = contractErrors(readFileSync(join(root, 'docs/contracts.md'), 'utf8'));
  const documented = new Map<string, Set<string>>();
  const methods: WolkMethod[] = [];
  for (const [service, definition] of Object.entries(WOLK_SERVICES)) {
    const codes = new Set<string>(['OK', 'UNIMPLEMENTED', ...contracts, ...protoErrors(readFileSync(join(root, PROTO_OF[service]!), 'utf8'))]);
    documented.set(service, codes);
    const svc = def[service] ?? {};
    for (const m of Object.values(definition)) {
      const original = m.path.slice(m.path.lastIndexOf('/') + 1);
      const requestType = (svc as Record<string, { requestType?: { type: MessageDescriptor } }>)[original]?.requestType?.type.name;
      const full = requestType ? [...messages.keys()].find((k) => k.endsWith(`.${requestType}`) && k.startsWith(service.slice(0, service.lastIndexOf('.')))) : undefined;
      if (!full) throw new Error(`garbage: no request type for ${m.path} in gen/wolk.binpb (regenerate with npm run gen)`);
      methods.push({ service, path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, requestType: full });
    }
  }
  return { methods, messages, documented };
}

// ---- a minimal protobuf writer for random, structurally valid messages ----

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const tag = (num: number, wire: number) => varint(BigInt((num << 3) | wire));

function randomBytes(prng: Prng, n: number): number[] {
  return Array.from({ length: n }, () => prng.next() & 0xff);
}

function randomVarint(prng: Prng): bigint {
  switch (prng.next() % 4) {
    case 0:
      return BigInt(prng.next() % 5);
    case 1:
      return BigInt(prng.next() % 100_000);
    case 2:
      return (BigInt(prng.next()) << 32n) | BigInt(prng.next());
    default:
      return -BigInt(1 + (prng.next() % 1000));
  }
}

const STRINGS = ['', 'alice', 'wolk', 'a-b', '127.0.0.1:1', 'localhost:0', '../../etc/passwd', 'x'.repeat(300), '\u0000', '\ud800', 'é漢字', '%2E%2E'];

function randomString(prng: Prng): number[] {
  const s = prng.next() % 3 === 0 ? String.fromCharCode(...randomBytes(prng, prng.next() % 40)) : STRINGS[prng.next() % STRINGS.length]!;
  return [...Buffer.from(s, 'utf8')];
}

function randomBytesField(prng: Prng): number[] {
  const sizes = [0, 1, 32, 32, 64, 80, 33, prng.next() % 200];
  return randomBytes(prng, sizes[prng.next() % sizes.length]!);
}

function resolve(messages: ReadonlyMap<string, MessageDescriptor>, typeName: string): MessageDescriptor | undefined {
  const t = typeName.replace(/^\./, '');
  return messages.get(t) ?? [...messages.entries()].find(([k]) => k.endsWith(`.${t}`))?.[1];
}

/** A random, structurally valid encoding of message `name` (depth-limited). */
export function randomMessage(schema: Schema, name: string, prng: Prng, depth = 0): Buffer {
  const d = schema.messages.get(name) ?? resolve(schema.messages, name);
  if (!d) return Buffer.alloc(0);
  return Buffer.from(encodeRandom(schema, d, prng, depth));
}

function encodeRandom(schema: Schema, d: MessageDescriptor, prng: Prng, depth: number): number[] {
  const out: number[] = [];
  for (const f of d.field) {
    if (prng.next() % 10 < 3) continue; // leave some fields unset
    const count = f.label === 'LABEL_REPEATED' ? prng.next() % 4 : 1;
    for (let i = 0; i < count; i++) {
      switch (f.type) {
        case 'TYPE_BOOL':
          out.push(...tag(f.number, 0), prng.next() % 2);
          break;
        case 'TYPE_INT32':
        case 'TYPE_INT64':
        case 'TYPE_UINT32':
        case 'TYPE_UINT64':
        case 'TYPE_SINT32':
        case 'TYPE_SINT64':
        case 'TYPE_ENUM':
          out.push(...tag(f.number, 0), ...varint(randomVarint(prng)));
          break;
        case 'TYPE_FIXED64':
        case 'TYPE_SFIXED64':
        case 'TYPE_DOUBLE':
          out.push(...tag(f.number, 1), ...randomBytes(prng, 8));
          break;
        case 'TYPE_FIXED32':
        case 'TYPE_SFIXED32':
        case 'TYPE_FLOAT':
          out.push(...tag(f.number, 5), ...randomBytes(prng, 4));
          break;
        case 'TYPE_STRING': {
          const s = randomString(prng);
          out.push(...tag(f.number, 2), ...varint(BigInt(s.length)), ...s);
          break;
        }
        case 'TYPE_BYTES': {
          const b = randomBytesField(prng);
          out.push(...tag(f.number, 2), ...varint(BigInt(b.length)), ...b);
          break;
        }
        case 'TYPE_MESSAGE': {
          const sub = resolve(schema.messages, f.typeName);
          const body = sub && depth < 4 ? encodeRandom(schema, sub, prng, depth + 1) : [];
          out.push(...tag(f.number, 2), ...varint(BigInt(body.length)), ...body);
          break;
        }
        default:
          break;
      }
    }
  }
  return out;
}

// ---- calling ----

export type PayloadKind = 'empty' | 'random' | 'oversized' | 'structured';

export interface GrpcOutcome {
  readonly target: string;
  readonly path: string;
  readonly kind: PayloadKind;
  /** Status name ("OK", "INVALID_ARGUMENT", ...). */
  readonly code: string;
  readonly details: string;
  readonly documented: boolean;
  /** From the call's start to its status, ms. */
  readonly ms: number;
}

const identity = (b: Buffer) => b;
const CODE_NAMES = Object.fromEntries(Object.entries(status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, string>;

export function payloadOf(schema: Schema, m: WolkMethod, kind: PayloadKind, prng: Prng, oversizeBytes: number): Buffer {
  switch (kind) {
    case 'empty':
      return Buffer.alloc(0);
    case 'random':
      return Buffer.from(randomBytes(prng, 1 + (prng.next() % 2048)));
    case 'oversized':
      return Buffer.alloc(oversizeBytes, prng.next() & 0xff);
    case 'structured':
      return randomMessage(schema, m.requestType, prng);
  }
}

/** One call of `m` on `client` with `payloads` (several for a client stream); resolves with the final status. */
export function callRaw(client: Client, m: WolkMethod, payloads: readonly Buffer[], timeoutMs: number): Promise<{ code: number; details: string }> {
  const deadline = new Date(Date.now() + timeoutMs);
  const done = (err: ServiceError | null) => ({ code: err ? err.code : status.OK, details: err?.details ?? '' });
  return new Promise((res) => {
    if (!m.requestStream && !m.responseStream) {
      client.makeUnaryRequest(m.path, identity, identity, payloads[0]!, new Metadata(), { deadline }, (err) => res(done(err)));
    } else if (m.requestStream && !m.responseStream) {
      const call = client.makeClientStreamRequest(m.path, identity, identity, new Metadata(), { deadline }, (err) => res(done(err)));
      call.on('error', () => undefined);
      for (const p of payloads) call.write(p);
      call.end();
    } else if (!m.requestStream && m.responseStream) {
      // Read a few messages, then cancel: a stream that answers at all has accepted the request.
      const call = client.makeServerStreamRequest(m.path, identity, identity, payloads[0]!, new Metadata(), { deadline });
      let got = 0;
      let settled = false;
      const finish = (v: { code: number; details: string }) => {
        if (!settled) {
          settled = true;
          res(v);
        }
      };
      const timer = setTimeout(() => {
        finish({ code: status.OK, details: `streaming (${got} messages), cancelled by the fuzzer` });
        call.cancel();
      }, Math.min(3000, timeoutMs));
      call.on('data', () => {
        if (++got >= 5) {
          clearTimeout(timer);
          finish({ code: status.OK, details: `${got} messages, cancelled by the fuzzer` });
          call.cancel();
        }
      });
      call.on('error', (err: ServiceError) => {
        clearTimeout(timer);
        finish(done(err));
      });
      call.on('status', (s) => {
        clearTimeout(timer);
        finish({ code: s.code, details: s.details });
      });
    } else {
      res({ code: status.UNIMPLEMENTED, details: 'bidirectional streams are not fuzzed (Wolk has none)' });
    }
  });
}

/** Every method of `services` on `endpoint`, each with the payload kinds given; outcomes in call order. */
export async function fuzzEndpoint(o: {
  readonly schema: Schema;
  readonly target: string;
  readonly endpoint: string;
  readonly services: readonly string[];
  readonly kinds: readonly PayloadKind[];
  readonly prng: Prng;
  readonly timeoutMs: number;
  readonly oversizeBytes: number;
  readonly concurrency?: number;
}): Promise<GrpcOutcome[]> {
  const client = new Client(o.endpoint, credentials.createInsecure(), { 'grpc.max_send_message_length': o.oversizeBytes + 1024, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const jobs: (() => Promise<GrpcOutcome>)[] = [];
  for (const m of o.schema.methods.filter((x) => o.services.includes(x.service))) {
    for (const kind of o.kinds) {
      const payloads = m.requestStream ? Array.from({ length: 1 + (o.prng.next() % 3) }, () => payloadOf(o.schema, m, kind, o.prng, o.oversizeBytes)) : [payloadOf(o.schema, m, kind, o.prng, o.oversizeBytes)];
      jobs.push(async () => {
        const started = Date.now();
        const r = await callRaw(client, m, payloads, o.timeoutMs);
        const code = CODE_NAMES[r.code] ?? String(r.code);
        return { target: o.target, path: m.path, kind, code, details: r.details, documented: o.schema.documented.get(m.service)?.has(code) ?? false, ms: Date.now() - started };
      });
    }
  }
  const out: GrpcOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 4 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        out.push(await job());
      }
    }),
  );
  client.close();
  return out;
}
