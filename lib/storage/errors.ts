// Storage errors carry the operation and the location, so a log line or gRPC status says what failed where.

export class StorageError extends Error {
  readonly op: string;
  readonly location: string;
  /** True when the device is out of space: callers answer RESOURCE_EXHAUSTED rather than INTERNAL. */
  readonly noSpace: boolean;

  constructor(op: string, location: string, cause: Error) {
    super(`storage ${op} failed at ${location}: ${cause.message}`, { cause });
    this.name = 'StorageError';
    this.op = op;
    this.location = location;
    this.noSpace = /ENOSPC|No space left|NoSpace/i.test(cause.message) || (cause as NodeJS.ErrnoException).code === 'ENOSPC';
  }
}
