/**
 * What every BigQuery job of the warehouse carries and how its failures are classified: labels
 * (run, service, purpose) within BigQuery's label rules, and one mapping from BigQuery's error
 * reasons to the platform's permanent and transient errors.
 */
import { PermanentError, PlatformError, TransientError, errorMessage } from '@mlops/kernel';

/** Longest label key or value BigQuery accepts. */
const LABEL_MAX = 63;

/**
 * A label value BigQuery accepts: lowercase, only `a-z 0-9 _ -`, at most 63 characters (anything
 * else becomes `_`; a longer value keeps its start and a short hash of the whole, so two long
 * values stay apart).
 */
export function sanitiseLabelValue(value: string): string {
  const clean = value.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  if (clean.length <= LABEL_MAX) return clean;
  let hash = 2166136261;
  for (let index = 0; index < value.length; index += 1) hash = Math.imul(hash ^ value.charCodeAt(index), 16777619);
  const suffix = (hash >>> 0).toString(16).padStart(8, '0');
  return `${clean.slice(0, LABEL_MAX - suffix.length - 1)}-${suffix}`;
}

/** A label key BigQuery accepts: as a value, and starting with a lowercase letter. */
export function sanitiseLabelKey(key: string): string {
  const clean = sanitiseLabelValue(key);
  return /^[a-z]/.test(clean) ? clean : `k${clean}`.slice(0, LABEL_MAX);
}

/** The labels of a job: each given, non-empty entry, sanitised. */
export function jobLabels(labels: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels))
    if (value !== undefined && value !== '') out[sanitiseLabelKey(key)] = sanitiseLabelValue(value);
  return out;
}

interface ApiErrorShape {
  code?: unknown;
  errors?: { reason?: string; message?: string }[];
  message?: string;
}

const TRANSIENT_REASONS = new Set([
  'backendError',
  'internalError',
  'jobBackendError',
  'jobInternalError',
  'rateLimitExceeded',
  'quotaExceeded',
  'tableUnavailable',
  'timeout',
]);

/** Node's network failures (the request never got an answer). */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * The platform error of a failed BigQuery call, named after `what` (the statement's purpose):
 *
 * - `notFound` → permanent `WAREHOUSE.NOT_FOUND`; `invalidQuery`/`invalid` → permanent
 *   `WAREHOUSE.INVALID_QUERY`; `duplicate` → permanent `WAREHOUSE.DUPLICATE`; `accessDenied` →
 *   permanent `WAREHOUSE.ACCESS_DENIED`;
 * - a transaction aborted by a concurrent update → transient `WAREHOUSE.CONFLICT` (running the
 *   work again is the documented remedy);
 * - `rateLimitExceeded`, `quotaExceeded`, `backendError`, internal errors, HTTP 429 and 5xx,
 *   network failures → transient `WAREHOUSE.UNAVAILABLE`.
 *
 * Anything else keeps the class of an HTTP 4xx (permanent) or is transient.
 */
export function warehouseErrorOf(error: unknown, what: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const shape = (error ?? {}) as ApiErrorShape;
  const reasons = (shape.errors ?? []).map((item) => item.reason ?? '');
  const message = errorMessage(error);
  const status = typeof shape.code === 'number' ? shape.code : undefined;
  const details = { reasons: reasons.join(','), ...(status ? { status } : {}) };
  const text = `${what}: ${message}`;
  if (/concurrent update|could not serialize access/i.test(message))
    return new TransientError('WAREHOUSE.CONFLICT', text, { cause: error, details });
  if (
    reasons.some((reason) => TRANSIENT_REASONS.has(reason)) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (typeof shape.code === 'string' && NETWORK_CODES.has(shape.code))
  )
    return new TransientError('WAREHOUSE.UNAVAILABLE', text, { cause: error, details });
  if (reasons.includes('notFound') || status === 404)
    return new PermanentError('WAREHOUSE.NOT_FOUND', text, { cause: error, details });
  if (reasons.includes('duplicate') || status === 409)
    return new PermanentError('WAREHOUSE.DUPLICATE', text, { cause: error, details });
  if (reasons.includes('accessDenied') || status === 403)
    return new PermanentError('WAREHOUSE.ACCESS_DENIED', text, { cause: error, details });
  if (reasons.includes('invalidQuery') || reasons.includes('invalid') || status === 400)
    return new PermanentError('WAREHOUSE.INVALID_QUERY', text, { cause: error, details });
  if (status !== undefined && status >= 400 && status !== 401)
    return new PermanentError('WAREHOUSE.REJECTED', text, { cause: error, details });
  return new TransientError('WAREHOUSE.UNAVAILABLE', text, { cause: error, details });
}
