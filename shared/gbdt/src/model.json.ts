import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';

/** Small checkers for reading model JSON that came from storage and may be damaged or foreign. */

export function invalidJson(what: string): TrainerError {
  return new TrainerError(CODES.INVALID_MODEL_JSON, `model JSON is invalid: ${what}`, { what });
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidJson(`${what} is not an object`);
  return value as Record<string, unknown>;
}

export function asFiniteArray(value: unknown, what: string, length?: number): number[] {
  if (!Array.isArray(value)) throw invalidJson(`${what} is not an array`);
  if (length !== undefined && value.length !== length)
    throw invalidJson(`${what} has ${value.length} entries, expected ${length}`);
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw invalidJson(`${what} holds a non-finite or non-numeric entry`);
  }
  return value as number[];
}

export function asFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidJson(`${what} is not a finite number`);
  return value;
}

export function asFeatureNames(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw invalidJson('featureNames is not a non-empty array of names');
  }
  return value as string[];
}

export function asParams(value: unknown): Record<string, number> {
  const record = asRecord(value, 'params');
  for (const [key, v] of Object.entries(record)) asFinite(v, `params.${key}`);
  return record as Record<string, number>;
}

/** Probability from a margin (log-odds), stable at both ends. */
export function sigmoid(margin: number): number {
  return margin >= 0 ? 1 / (1 + Math.exp(-margin)) : Math.exp(margin) / (1 + Math.exp(margin));
}
