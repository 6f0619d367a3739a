/**
 * The catalogue of platform errors. Every error has a stable code a user can search for, a message
 * they can act on, an optional cause, and a class that decides what the transport does with it:
 *
 * - `permanent`: bad input, schema violations, not-found. Retrying cannot help, so the message is
 *   dead-lettered with its reason and acknowledged.
 * - `transient`: network, timeouts, a busy engine. The error is thrown so the transport retries it
 *   with backoff, until the subscription's attempt limit dead-letters it.
 */
export type ErrorClass = 'permanent' | 'transient';

/** Base of every error the platform raises on purpose. */
export class PlatformError extends Error {
  /** Stable machine-readable code, `<AREA>.<WHAT>`. */
  readonly code: string;
  /** Whether retrying may help. */
  readonly errorClass: ErrorClass;
  /** Small structured facts for logs and dead letters (never payloads or PII). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { errorClass?: ErrorClass; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.errorClass = options.errorClass ?? 'permanent';
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** An error that retrying cannot fix: the message is dead-lettered and acknowledged. */
export class PermanentError extends PlatformError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { ...options, errorClass: 'permanent' });
  }
}

/** An error that may pass: the transport redelivers with backoff. */
export class TransientError extends PlatformError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { ...options, errorClass: 'transient' });
  }
}

/** A configuration setting is missing or invalid; start-up stops with exit code 1. */
export class ConfigError extends PermanentError {
  /** The environment variable at fault. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super('CONFIG.INVALID_SETTING', `${setting}: ${message}`, { details: { setting } });
    this.setting = setting;
  }
}

/**
 * Classify anything thrown. Platform errors carry their own class; a few well-known low-level
 * failures (connection resets, timeouts, gRPC UNAVAILABLE/DEADLINE_EXCEEDED/ABORTED/RESOURCE_EXHAUSTED)
 * are transient; every other unexpected error is treated as transient too, so a bug in a handler
 * is retried a bounded number of times and then dead-lettered rather than lost.
 */
export function classifyError(error: unknown): ErrorClass {
  if (error instanceof PlatformError) return error.errorClass;
  return 'transient';
}

/** The stable code of any thrown value (`INTERNAL.UNEXPECTED` when it has none). */
export function errorCode(error: unknown): string {
  if (error instanceof PlatformError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? `SYSTEM.${code}` : 'INTERNAL.UNEXPECTED';
}

/** A one-line human description of any thrown value, without stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Codes raised by the shared library itself. */
export const SharedErrors = {
  invalidJson: (reason: string) =>
    new PermanentError('EVENT.INVALID_JSON', `message data is not valid JSON: ${reason}`),
  unknownType: (type: string, known: readonly string[]) =>
    new PermanentError('EVENT.UNKNOWN_TYPE', `unknown event type "${type}"; known types: ${known.join(', ')}`, {
      details: { type },
    }),
  schemaViolation: (type: string, problems: string) =>
    new PermanentError('EVENT.SCHEMA_VIOLATION', `event ${type} does not match its schema: ${problems}`, {
      details: { type },
    }),
  envelopeInvalid: (problems: string) =>
    new PermanentError('EVENT.ENVELOPE_INVALID', `CloudEvents envelope is invalid: ${problems}`),
  tooLarge: (bytes: number, limit: number) =>
    new PermanentError('EVENT.TOO_LARGE', `message is ${bytes} bytes; the limit is ${limit} bytes`, {
      details: { bytes, limit },
    }),
  wrongTopic: (type: string, topic: string, expected: string) =>
    new PermanentError('EVENT.WRONG_TOPIC', `event ${type} belongs on topic ${expected}, not ${topic}`),
  notFound: (what: string) => new PermanentError('STORE.NOT_FOUND', `${what} was not found`),
  sourceConditionMissing: (entry: string, library: string) =>
    new PermanentError(
      'BUILD.SOURCE_CONDITION_MISSING',
      `${entry} is TypeScript but imported the compiled @mlops/kernel (${library}): run it with ` +
        '`tsx --conditions=@mlops/source` (or `node --conditions=@mlops/source --import tsx`), or run the built dist/*.js',
    ),
} as const;

/** Codes of warehouse access (read and write sessions). */
export const WarehouseErrors = {
  /** A session waited for its bound; the transport retries the event later. */
  busy: (kind: 'read' | 'write', purpose: string, waitedMs: number, blockers: string) =>
    new TransientError(
      'WAREHOUSE.BUSY',
      `${purpose || 'a'} ${kind} session waited ${Math.round(waitedMs / 1000)} s for the warehouse, held by ${blockers}; try again later or raise MLOPS_WAREHOUSE_WAIT_MS`,
      { details: { kind, waitedMs } },
    ),
  /** Nothing has been built yet: there is no warehouse to read. */
  missing: (path: string) =>
    new PermanentError('WAREHOUSE.MISSING', `the warehouse ${path} does not exist yet; run the transformer first`, {
      details: { path },
    }),
  /** A session asked for after the access was closed (the process is stopping). */
  closed: () =>
    new TransientError('WAREHOUSE.CLOSED', 'the warehouse access is closed; the process is stopping, try again'),
  /** A session asked for inside another one of the same access (it could wait for itself). */
  nested: (kind: 'read' | 'write', purpose: string) =>
    new PermanentError(
      'WAREHOUSE.SESSION_NESTED',
      `${purpose || 'a'} ${kind} session was asked for inside another session of the same warehouse; finish the first session before starting the next`,
    ),
} as const;
