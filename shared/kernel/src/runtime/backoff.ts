/**
 * Exponential backoff with full jitter: attempt 1 waits about minMs, each further attempt doubles,
 * capped at maxMs. Jitter keeps redeliveries of many failed messages from arriving together.
 */
export function backoffDelay(
  attempt: number,
  backoff: { minMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
