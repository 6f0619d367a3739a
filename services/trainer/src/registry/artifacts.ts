/** Where a registered version's files live in the lake, and its fingerprint. */
import { createHash } from 'node:crypto';

/** Lake prefix of every model file. */
export const MODELS_PREFIX = 'mlops/models';

/** `mlops/models/<name>/<version>/<file>`: the refit that scores, the model the holdout measured, the baseline, the metrics. */
export function modelKey(
  modelName: string,
  version: string,
  file: 'model.json' | 'holdout-model.json' | 'baseline.json' | 'metrics.json',
): string {
  return `${MODELS_PREFIX}/${modelName}/${version}/${file}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Hyper-parameters that change how fast a model trains, never what it learns (left out of the fingerprint). */
export const EXECUTION_ONLY_PARAMS: readonly string[] = ['threads'];

function modelParams(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([key]) => !EXECUTION_ONLY_PARAMS.includes(key)));
}

/**
 * The fingerprint of a version: SHA-256 over the training data's fingerprint, both models'
 * algorithms and parameters, the label horizon and the code version, in canonical JSON. The same
 * data and parameters give the same fingerprint, hence the same registry version.
 */
export function versionFingerprint(input: {
  dataFingerprint: string;
  algorithm: string;
  params: Readonly<Record<string, unknown>>;
  baselineAlgorithm: string;
  baselineParams: Readonly<Record<string, unknown>>;
  horizonDays: number;
  codeVersion: string;
}): string {
  const body = canonical({
    ...input,
    params: modelParams(input.params),
    baselineParams: modelParams(input.baselineParams),
  });
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
