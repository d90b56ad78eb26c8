// Server reflection fed from the descriptor set `buf build` writes (gen/wolk.binpb) plus the health
// proto's: proto-loader's own descriptors drop imports, which makes `buf curl` fail (TOOLCHAIN.md).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Server } from '@grpc/grpc-js';

const DESCRIPTOR_SET = join('gen', 'wolk.binpb');

/** Finds gen/wolk.binpb from this module upward (works from the source tree and from dist/). */
export function descriptorSetPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, DESCRIPTOR_SET);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`descriptor set ${DESCRIPTOR_SET} not found above ${fileURLToPath(import.meta.url)}; run npm run gen`);
}

/** The FileDescriptorProto bytes inside a FileDescriptorSet (field 1, repeated). */
export function splitDescriptorSet(set: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(set);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wire);
  }
  return files;
}

let cached: ReflectionService | undefined;

function reflectionService(): ReflectionService {
  if (cached) return cached;
  const wolkFiles = splitDescriptorSet(readFileSync(descriptorSetPath())).map((b) => Buffer.from(b));
  const health = loadSync(healthProtoPath, { keepCase: true });
  // ReflectionService reads only `fileDescriptorProtos` of each entry; it indexes every service in them.
  const pkg = { ...health, 'wolk.descriptors': { fileDescriptorProtos: wolkFiles } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
  cached = new ReflectionService(pkg);
  return cached;
}

/** Adds reflection v1 and v1alpha for every Wolk service and grpc.health.v1. */
export function addReflection(server: Server): void {
  reflectionService().addToServer(server);
}
