// Typed promises over the wolk_rados N-API addon (native/rados): one librados connection and IoCtx per
// handle, every call off the event loop thread. Built on demand by scripts/ceph/build-addon.sh; loading
// fails with that instruction when it is not built (librados is an optional system dependency, so the
// addon is never loaded unless a RADOS store is opened).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The error the addon rejects with: `code` is the errno name (ENOENT, ETIMEDOUT, EMSGSIZE…). */
export interface RadosError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly op: string;
}

export interface RadosObjectStat {
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

export interface RadosConnectOptions {
  /** RADOS namespace inside the pool (objects of different namespaces never see each other). */
  readonly namespace?: string;
  /** Client name, default client.admin. */
  readonly client?: string;
  /** ceph.conf overrides (rados_conf_set), applied after the file; see DEFAULT_RADOS_SETTINGS. */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * Timeouts so a dead cluster fails calls instead of hanging them forever (librados's defaults are 300 s
 * to connect and no limit on operations).
 */
export const DEFAULT_RADOS_SETTINGS: Readonly<Record<string, string>> = {
  client_mount_timeout: '15',
  rados_mon_op_timeout: '30',
  rados_osd_op_timeout: '60',
};

/** The OSD rejects a single write larger than osd_max_write_size (default 90 MB) with EMSGSIZE. */
export const RADOS_MAX_WRITE_BYTES = 90 * 1024 * 1024;

declare const handleBrand: unique symbol;
type NativeHandle = { readonly [handleBrand]: true };

interface Addon {
  connect(confPath: string, pool: string, options: { namespace?: string; client?: string; settings?: Record<string, string> }): Promise<NativeHandle>;
  writeFull(h: NativeHandle, name: string, data: Uint8Array): Promise<void>;
  read(h: NativeHandle, name: string, offset: number, length?: number): Promise<Buffer | null>;
  stat(h: NativeHandle, name: string): Promise<RadosObjectStat | null>;
  remove(h: NativeHandle, name: string): Promise<void>;
  list(h: NativeHandle, prefix: string): Promise<string[]>;
  close(h: NativeHandle): Promise<void>;
  libradosVersion(): string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where build-addon.sh puts the addon, from lib/storage (source) or dist/lib/storage (build). */
const CANDIDATES = [join(here, '..', '..', 'native', 'rados', 'build', 'Release', 'wolk_rados.node'), join(here, '..', '..', '..', 'native', 'rados', 'build', 'Release', 'wolk_rados.node')];

let addon: Addon | undefined;

/** Loads the addon once; throws with the build instruction when it is missing or cannot load. */
export function loadRadosAddon(): Addon {
  if (addon) return addon;
  const path = CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    throw new Error(`the RADOS addon is not built (looked for ${CANDIDATES[0]}): run scripts/ceph/build-addon.sh`);
  }
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    throw new Error(`the RADOS addon at ${path} failed to load (${(err as Error).message}): is librados installed (scripts/ceph/install.sh)? rebuild with scripts/ceph/build-addon.sh`, { cause: err });
  }
  return addon;
}

/** An open IoCtx: one pool (and namespace) of one cluster. */
export interface RadosIoCtx {
  readonly pool: string;
  readonly namespace: string;
  /** Replaces the whole object (rados_write_full): atomic, durable on the OSD when it resolves. */
  writeFull(name: string, data: Uint8Array): Promise<void>;
  /** Reads [offset, offset+length), or to the end when length is omitted; null when the object is missing. */
  read(name: string, offset?: number, length?: number): Promise<Buffer | null>;
  stat(name: string): Promise<RadosObjectStat | null>;
  /** Removes the object; a missing object is not an error. */
  remove(name: string): Promise<void>;
  /** Names in this namespace starting with `prefix`, sorted bytewise (walks the whole namespace). */
  list(prefix: string): Promise<string[]>;
  /** Waits for calls in flight, then destroys the IoCtx and shuts the connection down. Idempotent. */
  close(): Promise<void>;
}

export async function radosConnect(confPath: string, pool: string, options: RadosConnectOptions = {}): Promise<RadosIoCtx> {
  const native = loadRadosAddon();
  const settings = { ...DEFAULT_RADOS_SETTINGS, ...(options.settings ?? {}) };
  const connectOptions: { namespace?: string; client?: string; settings: Record<string, string> } = { settings };
  if (options.namespace !== undefined) connectOptions.namespace = options.namespace;
  if (options.client !== undefined) connectOptions.client = options.client;
  const h = await native.connect(confPath, pool, connectOptions);
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing) throw new Error(`rados: the connection to pool ${pool} is closed`);
  };
  return {
    pool,
    namespace: options.namespace ?? '',
    async writeFull(name, data) {
      open();
      return native.writeFull(h, name, data);
    },
    async read(name, offset = 0, length) {
      open();
      return native.read(h, name, offset, length);
    },
    async stat(name) {
      open();
      return native.stat(h, name);
    },
    async remove(name) {
      open();
      return native.remove(h, name);
    },
    async list(prefix) {
      open();
      return native.list(h, prefix);
    },
    close() {
      closing ??= native.close(h);
      return closing;
    },
  };
}

/** True for the addon's errors (errno-coded). */
export function isRadosError(err: unknown): err is RadosError {
  return err instanceof Error && typeof (err as Partial<RadosError>).code === 'string' && typeof (err as Partial<RadosError>).errno === 'number';
}
