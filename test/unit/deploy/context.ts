// What the deploy tests share: the repository root, the rendered overlays and Rook objects, and one
// function that runs every manifest check on a rendered set.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossCheck, validateModels, type Problem } from './checks.js';
import { readDockerfile } from './dockerfile.js';
import { checkEnvironments } from './env-checks.js';
import { checkIstio, readProtoServices } from './istio-checks.js';
import { renderKustomization } from './kustomize.js';
import type { K8sObject } from './yaml-objects.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const OVERLAYS = ['small', 'large'] as const;
export const STORAGE_CLASS = 'rook-ceph-block';
/** The Rook CRDs, outside the repository (../shared/schemas/README.md). */
export const ROOK_CRDS = resolve(ROOT, '../shared/schemas/rook/crds.yaml');
/** ConfigMaps and Secrets the operator creates before applying (docs/deploy.md, deploy/k8s/make-genesis.ts). */
export const EXTERNAL_CONFIGMAPS: ReadonlySet<string> = new Set(['wolk-genesis']);
export const EXTERNAL_SECRETS: ReadonlySet<string> = new Set(['wolk-node-keys']);

export function renderOverlay(name: string): K8sObject[] {
  return renderKustomization(join(ROOT, 'deploy/k8s/overlays', name), ROOT);
}

export function rookObjects(): K8sObject[] {
  return renderKustomization(join(ROOT, 'deploy/rook'), ROOT);
}

export function storageClasses(): Map<string, K8sObject> {
  return new Map(rookObjects().filter((o) => o.kind === 'StorageClass').map((o) => [o.metadata.name, o]));
}

/** The numeric uid the image runs as (USER of the Dockerfile's last stage). */
export function imageUid(): number {
  const stages = readDockerfile(ROOT);
  const user = stages[stages.length - 1]?.user ?? '';
  const uid = Number(user.split(':')[0]);
  if (!Number.isInteger(uid)) throw new Error(`Dockerfile: the last stage's USER must be numeric (runAsNonRoot can only verify a number), got "${user}"`);
  return uid;
}

/** OTLP protocols the installed exporters speak (from package.json dependencies). */
export function otlpProtocols(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const deps = Object.keys(pkg.dependencies ?? {});
  const out: string[] = [];
  if (deps.includes('@opentelemetry/exporter-trace-otlp-proto')) out.push('http/protobuf');
  if (deps.includes('@opentelemetry/exporter-trace-otlp-http')) out.push('http/json');
  if (deps.includes('@opentelemetry/exporter-trace-otlp-grpc')) out.push('grpc');
  return out;
}

let protoCache: ReturnType<typeof readProtoServices> | undefined;
export function protoServices(): ReturnType<typeof readProtoServices> {
  return (protoCache ??= readProtoServices(join(ROOT, 'proto')));
}

/** Every check on a rendered set of Wolk manifests. */
export async function checkManifests(objects: readonly K8sObject[]): Promise<Problem[]> {
  return [
    ...(await validateModels(objects, ROOT)),
    ...crossCheck(objects, { storageClasses: storageClasses(), storageClassName: STORAGE_CLASS, externalConfigMaps: EXTERNAL_CONFIGMAPS, externalSecrets: EXTERNAL_SECRETS, imageUid: imageUid() }),
    ...checkEnvironments(objects, otlpProtocols()),
    ...checkIstio(objects, protoServices()),
  ];
}
