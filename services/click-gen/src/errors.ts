import { ConfigError, PermanentError } from '@mlops/kernel';
import { type GenerationProblem } from '@mlops/synthetic';

const ENV_OF_SETTING: Record<GenerationProblem['setting'], string> = {
  scale: 'MLOPS_SCALE',
  seed: 'MLOPS_SEED',
  dirtyShare: 'MLOPS_DIRTY_SHARE',
};
const CODE_OF_SETTING: Record<GenerationProblem['setting'], string> = {
  scale: 'CLICK_GEN.BAD_SCALE',
  seed: 'CLICK_GEN.BAD_SEED',
  dirtyShare: 'CLICK_GEN.BAD_DIRTY_SHARE',
};

/** The clickstream generator's errors, each with a stable code. */
export const ClickGenErrors = {
  /** A run's scale, seed or dirty share is out of range. */
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
      'CLICK_GEN.BAD_RUN_DATE',
      `run date ${JSON.stringify(runDate)} is not a calendar date (YYYY-MM-DD)`,
    ),
  /** The start event's run date is after tomorrow or before the earliest run date. */
  runDateOutOfRange: (runDate: string, reason: string) =>
    new PermanentError('CLICK_GEN.RUN_DATE_OUT_OF_RANGE', reason, { details: { runDate } }),
  /** The start event names a source that does not exist. */
  unknownSource: (sources: readonly string[]) =>
    new PermanentError(
      'CLICK_GEN.UNKNOWN_SOURCE',
      `unknown source(s) ${sources.join(', ')}; the sources are sales, clickstream, startups`,
    ),
  /** A setting handed to the factory is unusable: start-up stops with the setting's name. */
  badSetting: (problem: GenerationProblem) => new ConfigError(ENV_OF_SETTING[problem.setting], problem.message),
} as const;
