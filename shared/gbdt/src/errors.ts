/**
 * The catalogue of errors raised by the machine-learning core. Each has a stable code a user can
 * search for and a message that names what to fix (the feature, the row, the parameter).
 *
 * The shape (`code`, `errorClass`, `details`) matches the platform's error base in `shared/`, so
 * the trainer's handler can map these onto the dead-letter path unchanged. Every error here is
 * permanent: bad input or a bad parameter, which retrying cannot fix.
 */
import { PermanentError } from '@mlops/kernel';

export const TRAINER_ERROR_CODES = {
  /** The training set has no rows (or no features). */
  EMPTY_TRAINING_SET: 'TRAINER.EMPTY_TRAINING_SET',
  /** A feature value is NaN or ±Infinity; missing values must be filled upstream. */
  NON_FINITE_FEATURE: 'TRAINER.NON_FINITE_FEATURE',
  /** A label is not exactly 0 or 1. */
  INVALID_LABEL: 'TRAINER.INVALID_LABEL',
  /** More rows than the trainer's exact integer histograms can hold (about 8 million). */
  TRAINING_SET_TOO_LARGE: 'TRAINER.TRAINING_SET_TOO_LARGE',
  /** A row weight is negative or not finite, or all weights are zero. */
  INVALID_WEIGHT: 'TRAINER.INVALID_WEIGHT',
  /** Lengths of values, labels, weights and feature names disagree. */
  SHAPE_MISMATCH: 'TRAINER.SHAPE_MISMATCH',
  /** The features given to a model are not the ones it was trained on. */
  FEATURE_MISMATCH: 'TRAINER.FEATURE_MISMATCH',
  /** A hyper-parameter is out of range, of the wrong type, or unknown. */
  INVALID_PARAM: 'TRAINER.INVALID_PARAM',
  /** A model name (or serialized kind) that the factory does not know. */
  UNKNOWN_MODEL: 'TRAINER.UNKNOWN_MODEL',
  /** Serialized model JSON that is malformed or of an unsupported format. */
  INVALID_MODEL_JSON: 'TRAINER.INVALID_MODEL_JSON',
  /** A predicted score or probability is NaN, infinite, or (for probabilities) outside [0, 1]. */
  INVALID_SCORE: 'TRAINER.INVALID_SCORE',
  /** A metric that is undefined for the input (e.g. ROC AUC with a single class). */
  UNDEFINED_METRIC: 'TRAINER.UNDEFINED_METRIC',
} as const;

export type TrainerErrorCode = (typeof TRAINER_ERROR_CODES)[keyof typeof TRAINER_ERROR_CODES];

/** An error of the ML core: permanent (the platform dead-letters it), with a stable code and small structured details. */
export class TrainerError extends PermanentError {
  /** Stable machine-readable code, `TRAINER.<WHAT>`. */
  declare readonly code: TrainerErrorCode;

  constructor(code: TrainerErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, ...(cause === undefined ? {} : { cause }) });
    this.name = 'TrainerError';
  }
}

/** Describe a non-finite number the way a user reads it in a message. */
export function describeNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return String(value);
}
