import { ConfigError, PermanentError, type TransformAssertionResult } from '@mlops/kernel';

/** The transformer's errors, each with a stable code. */
export const TransformerErrors = {
  /**
   * Assertions failed: the code of the `stage.failed` the transformer publishes instead of
   * `warehouse.ready` (not thrown: the landed event itself was handled).
   */
  assertionFailed: (failed: readonly TransformAssertionResult[], runDates: readonly string[]) =>
    new PermanentError(
      'TRANSFORMER.ASSERTION_FAILED',
      `${failed.length} assertion(s) failed for ${runDates.join(', ')}: ${failed
        .slice(0, 10)
        .map((assertion) => `${assertion.name} (${assertion.failingRows} row(s))`)
        .join(
          ', ',
        )}${failed.length > 10 ? ', ...' : ''}; the warehouse is not ready, fix the data or the model and re-land the dates`,
      { details: { assertions: failed.map((assertion) => assertion.name) } },
    ),
  /**
   * A date landed again exactly as it was when its build failed its assertions: the code of the
   * `stage.failed` that closes its stage again (not thrown).
   */
  alreadyFailed: (runDate: string) =>
    new PermanentError(
      'TRANSFORMER.ASSERTION_FAILED',
      `${runDate} failed its assertions when built from these same partitions; it is built again when one of them changes`,
    ),
  /**
   * A landed file of a date is missing from the lake or not of its landed size: the date is not
   * built (the code of its `stage.failed`, or of the dead letter of that date's own event).
   */
  badPartition: (runDate: string, key: string, problem: string) =>
    new PermanentError(
      'TRANSFORMER.BAD_PARTITION',
      `${runDate} is not built: ${key} is ${problem}; restore the file, then redrive the dead letter or replay bronze-landed`,
      { details: { runDate, file: key } },
    ),
  /** A setting handed to the factory is unusable: start-up stops. */
  badSetting: (name: string, message: string) => new ConfigError(name, message),
} as const;
