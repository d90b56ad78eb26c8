// Server reflection fed from the descriptor sets `buf build` writes (gen/wolk.binpb and the health
// proto's gen/health.binpb): proto-loader's own descriptors make `buf curl` fail (TOOLCHAIN.md).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { ReflectionService } from '@grpc/reflection';
import type { Server } from '@grpc/grpc-js';

/** Finds gen/<file> from this module upward (works from the source tree and from dist/). */
export function descriptorSetPath(file = 'wolk.binpb'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'gen', file);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`descriptor set gen/${file} not found above ${fileURLToPath(import.meta.url)}; run npm run gen`);
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

let cachedPackage: ConstructorParameters<typeof ReflectionService>[0] | undefined;

function descriptorPackage(): ConstructorParameters<typeof ReflectionService>[0] {
  if (cachedPackage) return cachedPackage;
  const files = ['wolk.binpb', 'health.binpb'].flatMap((f) => splitDescriptorSet(readFileSync(descriptorSetPath(f))).map((b) => Buffer.from(b)));
  // ReflectionService reads only `fileDescriptorProtos` of each entry; it indexes every service in them.
  cachedPackage = { descriptors: { fileDescriptorProtos: files } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
  return cachedPackage;
}

export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** Adds reflection v1 and v1alpha listing exactly the services this server serves (plus health). */
export function addReflection(server: Server, services: readonly string[]): void {
  new ReflectionService(descriptorPackage(), { services: [...services, HEALTH_SERVICE] }).addToServer(server);
}
