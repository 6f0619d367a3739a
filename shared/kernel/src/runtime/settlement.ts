import { classifyError, errorCode, errorMessage } from '../errors.js';
import { backoffDelay } from './backoff.js';

/** How a subscription retries: attempts before giving up, and the backoff between them. */
export interface RetryPolicy {
  /** Deliveries before a transiently failing message is dead-lettered (unset: never). */
  maxAttempts?: number;
  /** Exponential backoff between redeliveries (unset: redeliver at once). */
  backoff?: { minMs: number; maxMs: number };
}

/** What became of one delivery: handled, or failed with what was thrown. */
export type DeliveryOutcome = { ok: true } | { ok: false; error: unknown };

/** The decision on one delivery, which every transport carries out in its own way. */
export type Settlement =
  | { action: 'ack' }
  /** Deliver again after `delayMs`; `code` and `reason` describe the failure. */
  | { action: 'retry'; delayMs: number; code: string; reason: string }
  /**
   * Give up: keep the message as a dead letter with `code` and `reason`. `exhausted` when a
   * transient failure ran out of attempts (`code` is then `BUS.MAX_ATTEMPTS` and `cause` the last
   * error's own code).
   */
  | { action: 'dead-letter'; code: string; reason: string; cause: string; exhausted: boolean };

/** The code of a dead letter whose transient failures ran out of attempts. */
export const MAX_ATTEMPTS_CODE = 'BUS.MAX_ATTEMPTS';

/**
 * The one settlement rule of the platform, for every transport (the SQLite bus, the Pub/Sub bus,
 * the Eventarc push, the service host): success is acknowledged; a permanent error is dead-lettered
 * at once with its own code; a transient one is retried after an exponential backoff, until the
 * attempt that reaches `maxAttempts`, which dead-letters it with `BUS.MAX_ATTEMPTS`.
 */
export function settle(
  outcome: DeliveryOutcome,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Settlement {
  if (outcome.ok) return { action: 'ack' };
  const { error } = outcome;
  const code = errorCode(error);
  if (classifyError(error) === 'permanent')
    return { action: 'dead-letter', code, reason: errorMessage(error), cause: code, exhausted: false };
  if (policy.maxAttempts !== undefined && attempt >= policy.maxAttempts) {
    return {
      action: 'dead-letter',
      code: MAX_ATTEMPTS_CODE,
      reason: `gave up after ${attempt} attempts: [${code}] ${errorMessage(error)}`,
      cause: code,
      exhausted: true,
    };
  }
  const delayMs = policy.backoff ? backoffDelay(attempt, policy.backoff, random) : 0;
  return { action: 'retry', delayMs, code, reason: errorMessage(error) };
}
