import { ConfigError, PermanentError } from '@mlops/kernel';
import { type GenerationProblem } from '@mlops/synthetic';

const ENV_OF_SETTING: Record<GenerationProblem['setting'], string> = {
  scale: 'MLOPS_SCALE',
  seed: 'MLOPS_SEED',
  dirtyShare: 'MLOPS_DIRTY_SHARE',
};
const CODE_OF_SETTING: Record<GenerationProblem['setting'], string> = {
  scale: 'SALES_GEN.BAD_SCALE',
  seed: 'SALES_GEN.BAD_SEED',
  dirtyShare: 'SALES_GEN.BAD_DIRTY_SHARE',
};

/** The sales generator's errors, each with a stable code. */
export const SalesGenErrors = {
  /** A run's scale, seed or dirty share is out of range (from the start event or the configuration). */
  badGeneration: (problem: GenerationProblem) =>
    new PermanentError(
      CODE_OF_SETTING[problem.setting],
      `${problem.message}; fix the start event's ${problem.setting} or ${ENV_OF_SETTING[problem.setting]}`,
      {
        details: { setting: problem.setting },
      },
    ),
  /** The start event's run date is not a calendar date. */
  badRunDate: (runDate: unknown) =>
    new PermanentError(
      'SALES_GEN.BAD_RUN_DATE',
      `run date ${JSON.stringify(runDate)} is not a calendar date (YYYY-MM-DD)`,
    ),
  /** The start event's run date is after tomorrow or before the earliest run date. */
  runDateOutOfRange: (runDate: string, reason: string) =>
    new PermanentError('SALES_GEN.RUN_DATE_OUT_OF_RANGE', reason, { details: { runDate } }),
  /** The start event names a source that does not exist. */
  unknownSource: (sources: readonly string[]) =>
    new PermanentError(
      'SALES_GEN.UNKNOWN_SOURCE',
      `unknown source(s) ${sources.join(', ')}; the sources are sales, clickstream, startups`,
    ),
  /** A setting handed to the factory is unusable: start-up stops with the setting's name. */
  badSetting: (problem: GenerationProblem) => new ConfigError(ENV_OF_SETTING[problem.setting], problem.message),
  /** The PII key is missing or too short: start-up stops. */
  badPiiKey: () =>
    new ConfigError('MLOPS_PII_HMAC_KEY', 'is required by sales-gen: a secret of at least 16 characters'),
  /** The collection name is empty. */
  badCollection: (collection: string) =>
    new ConfigError('MLOPS_SALES_COLLECTION', `must be a collection name (got ${JSON.stringify(collection)})`),
} as const;
