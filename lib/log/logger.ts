// Structured logs: one JSON object per line on stderr, with time, level, service and module, then msg,
// then the fields (scripts and tests match `"msg":"…"` followed by fields on the same line). Errors in
// fields, at any depth, are written with name, message, stack and cause.
// Passed down as an interface (STYLE: `logger.child({module})`), never imported as a global.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; default stderr. */
  readonly write?: (line: string) => void;
  readonly fields?: LogFields;
}

const MAX_DEPTH = 6;

/** An error as a log field: name, message and stack, its code and details when present, and its causes. */
function errorRecord(err: Error, depth: number, seen: Set<object>): Record<string, unknown> {
  const e = err as Error & { code?: unknown; details?: unknown; errors?: unknown };
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (typeof e.code === 'string' || typeof e.code === 'number') out['code'] = e.code;
  if (typeof e.details === 'string' && e.details !== err.message) out['details'] = e.details;
  if (err.stack) out['stack'] = err.stack;
  if (err.cause !== undefined) out['cause'] = serializable(err.cause, depth + 1, seen);
  if (Array.isArray(e.errors)) out['errors'] = e.errors.map((x) => serializable(x, depth + 1, seen));
  return out;
}

/** A field value as JSON can carry it: errors with their stacks, bigints as decimal, bytes as hex, at any depth. */
function serializable(value: unknown, depth = 0, seen = new Set<object>()): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return value instanceof Error ? `${value.name}: ${value.message}` : '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return errorRecord(value, depth, seen);
    if (Array.isArray(value)) return value.map((v) => serializable(v, depth + 1, seen));
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), serializable(v, depth + 1, seen)]));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value; // its own toJSON or shape, as JSON.stringify gives it
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = serializable(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < threshold) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, ...base, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serializable(v);
    write(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests that assert on other output). */
export const silentLogger: Logger = createLogger({ write: () => {} });
