import { ConfigError, PermanentError } from '@mlops/kernel';

/** The lander's errors, each with a stable code. */
export const LanderErrors = {
  /** The document store holds no order of the run date: nothing to land (no empty file is written). */
  sourceEmpty: (collection: string, runDate: string) =>
    new PermanentError(
      'LANDER.SOURCE_EMPTY',
      `collection "${collection}" holds no sales documents with run_date ${runDate}; run sales-gen for ${runDate} (mlops run --date ${runDate}) and land again`,
      {
        details: { collection, runDate },
      },
    ),
  /** The event's run date is not a calendar date. */
  badRunDate: (runDate: unknown) =>
    new PermanentError(
      'LANDER.BAD_RUN_DATE',
      `run date ${JSON.stringify(runDate)} is not a calendar date (YYYY-MM-DD)`,
    ),
  /** A setting handed to the factory is unusable: start-up stops. */
  badSetting: (name: string, message: string) => new ConfigError(name, message),
} as const;
