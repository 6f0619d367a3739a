import { PermanentError } from '@mlops/kernel';

/** A command line that cannot be run as given; printed with the usage hint, exit code 2. */
export class UsageError extends PermanentError {
  constructor(message: string) {
    super('CLI.USAGE', message);
  }
}

/** Codes of the CLI's own failures. */
export const CliErrors = {
  badDate: (flag: string, value: string) => new UsageError(`${flag} "${value}" is not a date (YYYY-MM-DD)`),
  badRange: (from: string, to: string) => new UsageError(`--from ${from} is after --to ${to}`),
  runDateOutOfRange: (flag: string, reason: string) => new UsageError(`${flag}: ${reason}`),
  badTime: (flag: string, value: string) =>
    new UsageError(`${flag} "${value}" is not a time (ISO 8601, e.g. 2026-03-01T00:00:00Z, or a duration like 2h)`),
  badNumber: (flag: string, value: string, range: string) => new UsageError(`${flag} "${value}" must be ${range}`),
  badTopic: (value: string, topics: readonly string[]) =>
    new UsageError(`--topic "${value}" is not a topic; topics: ${topics.join(', ')}`),
  runFailed: (runId: string, reason: string) => new PermanentError('CLI.RUN_FAILED', `run ${runId} failed: ${reason}`),
  runTimedOut: (runId: string, seconds: number) =>
    new PermanentError('CLI.RUN_TIMEOUT', `run ${runId} did not finish within ${seconds} s; see \`mlops status\``),
  workerFailed: (services: string, reason: string) =>
    new PermanentError('CLI.WORKER_FAILED', `the worker thread hosting ${services} failed: ${reason}`),
} as const;
