import { TRAINER_ERROR_CODES as CODES, TrainerError, describeNumber } from './errors.js';

/** Dense feature values, row-major: value of feature `f` in row `r` is `values[r * nFeatures + f]`. */
export type FeatureValues = Float64Array | Float32Array;

/**
 * A dense, validated matrix of feature values (no labels): what a model predicts on.
 * Row-major because rows arrive from the warehouse as rows and a tree walks one row at a time.
 */
export interface FeatureMatrix {
  readonly nRows: number;
  readonly nFeatures: number;
  readonly featureNames: readonly string[];
  readonly values: FeatureValues;
}

/** A validated training set: features, 0/1 labels and optional non-negative row weights. */
export interface Dataset extends FeatureMatrix {
  readonly labels: Uint8Array;
  /** Row weights; absent means every row weighs 1. */
  readonly weights?: Float64Array;
}

/** Values as a typed row-major array or as an array of rows. */
export type FeatureInput = FeatureValues | readonly (readonly number[])[];

export interface FeatureMatrixInput {
  featureNames: readonly string[];
  values: FeatureInput;
}

export interface DatasetInput extends FeatureMatrixInput {
  labels: ArrayLike<number>;
  weights?: ArrayLike<number>;
}

/**
 * Validate and wrap feature values. Missing values are filled upstream in the warehouse, so a NaN
 * or ±Infinity here is a defect in the feature pipeline and is rejected, naming feature and row.
 */
export function createFeatureMatrix(input: FeatureMatrixInput): FeatureMatrix {
  const featureNames = validateFeatureNames(input.featureNames);
  const nFeatures = featureNames.length;
  const values = toTypedValues(input.values, nFeatures);
  if (values.length % nFeatures !== 0) {
    throw new TrainerError(
      CODES.SHAPE_MISMATCH,
      `feature values have ${values.length} entries, which is not a multiple of the ${nFeatures} feature names`,
      { values: values.length, nFeatures },
    );
  }
  const nRows = values.length / nFeatures;
  assertFiniteValues(values, nFeatures, featureNames);
  return { nRows, nFeatures, featureNames, values };
}

/**
 * Validate and wrap a training set. Throws `TRAINER.EMPTY_TRAINING_SET`, `TRAINER.SHAPE_MISMATCH`,
 * `TRAINER.NON_FINITE_FEATURE`, `TRAINER.INVALID_LABEL` or `TRAINER.INVALID_WEIGHT`.
 */
export function createDataset(input: DatasetInput): Dataset {
  const matrix = createFeatureMatrix(input);
  const { nRows } = matrix;
  if (nRows === 0) {
    throw new TrainerError(
      CODES.EMPTY_TRAINING_SET,
      'the training set has no rows; check the snapshot date range of the feature query',
    );
  }
  if (input.labels.length !== nRows) {
    throw new TrainerError(CODES.SHAPE_MISMATCH, `there are ${input.labels.length} labels for ${nRows} rows`, {
      labels: input.labels.length,
      nRows,
    });
  }
  const labels = new Uint8Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const y = input.labels[r] as number;
    if (y !== 0 && y !== 1) {
      throw new TrainerError(CODES.INVALID_LABEL, `label of row ${r} is ${describeNumber(y)}; labels must be 0 or 1`, {
        row: r,
        label: describeNumber(y),
      });
    }
    labels[r] = y;
  }
  if (input.weights === undefined) return { ...matrix, labels };
  return { ...matrix, labels, weights: validateWeights(input.weights, nRows) };
}

/** A new dataset holding the given rows, in the given order (for train/holdout splits). */
export function selectRows(data: Dataset, rows: ArrayLike<number>): Dataset {
  const { nFeatures } = data;
  const values = new (data.values.constructor as Float64ArrayConstructor | Float32ArrayConstructor)(
    rows.length * nFeatures,
  );
  const labels = new Uint8Array(rows.length);
  const weights = data.weights === undefined ? undefined : new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    if (!Number.isInteger(r) || r < 0 || r >= data.nRows) {
      throw new TrainerError(CODES.SHAPE_MISMATCH, `row index ${r} is outside the dataset of ${data.nRows} rows`, {
        row: r,
      });
    }
    values.set(data.values.subarray(r * nFeatures, (r + 1) * nFeatures), i * nFeatures);
    labels[i] = data.labels[r] as number;
    if (weights !== undefined) weights[i] = (data.weights as Float64Array)[r] as number;
  }
  const base = { nRows: rows.length, nFeatures, featureNames: data.featureNames, values, labels };
  return weights === undefined ? base : { ...base, weights };
}

/**
 * Check that a matrix has the features a model was trained on, by name and in order: a reordered
 * column would silently give wrong predictions, so it is an error rather than a guess.
 */
export function assertSameFeatures(expected: readonly string[], matrix: FeatureMatrix): void {
  const got = matrix.featureNames;
  if (got.length !== expected.length || got.some((name, i) => name !== expected[i])) {
    const missing = expected.filter((name) => !got.includes(name));
    const extra = got.filter((name) => !expected.includes(name));
    throw new TrainerError(
      CODES.FEATURE_MISMATCH,
      `the model expects features [${expected.join(', ')}] in that order; got [${got.join(', ')}]` +
        (missing.length > 0 ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length > 0 ? `; unexpected: ${extra.join(', ')}` : ''),
      { missing, extra },
    );
  }
}

function validateFeatureNames(names: readonly string[]): readonly string[] {
  if (names.length === 0) {
    throw new TrainerError(CODES.EMPTY_TRAINING_SET, 'there are no features; the feature list is empty');
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TrainerError(CODES.SHAPE_MISMATCH, 'every feature needs a non-empty name');
    }
    if (seen.has(name))
      throw new TrainerError(CODES.SHAPE_MISMATCH, `feature name "${name}" appears twice`, { feature: name });
    seen.add(name);
  }
  return Object.freeze([...names]);
}

function toTypedValues(values: FeatureInput, nFeatures: number): FeatureValues {
  if (values instanceof Float64Array || values instanceof Float32Array) return values;
  const out = new Float64Array(values.length * nFeatures);
  for (let r = 0; r < values.length; r++) {
    const row = values[r] as readonly number[];
    if (row.length !== nFeatures) {
      throw new TrainerError(CODES.SHAPE_MISMATCH, `row ${r} has ${row.length} values for ${nFeatures} features`, {
        row: r,
        length: row.length,
        nFeatures,
      });
    }
    for (let f = 0; f < nFeatures; f++) {
      const v = row[f];
      // A non-number (null from a warehouse row) would become 0 or NaN in a typed array; name it.
      out[r * nFeatures + f] = typeof v === 'number' ? v : NaN;
    }
  }
  return out;
}

function assertFiniteValues(values: FeatureValues, nFeatures: number, names: readonly string[]): void {
  // Summing is a fast finiteness check: the sum is finite iff every term is (barring overflow,
  // which the slow path below then clears). Only on failure do we look for the culprit.
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  if (Number.isFinite(sum)) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      const row = Math.floor(i / nFeatures);
      const feature = names[i % nFeatures] as string;
      throw new TrainerError(
        CODES.NON_FINITE_FEATURE,
        `feature "${feature}" is ${describeNumber(v)} in row ${row}; fill missing values upstream before training`,
        { feature, row, value: describeNumber(v) },
      );
    }
  }
}

function validateWeights(weights: ArrayLike<number>, nRows: number): Float64Array {
  if (weights.length !== nRows) {
    throw new TrainerError(CODES.SHAPE_MISMATCH, `there are ${weights.length} weights for ${nRows} rows`, {
      weights: weights.length,
      nRows,
    });
  }
  const out = new Float64Array(nRows);
  let total = 0;
  for (let r = 0; r < nRows; r++) {
    const w = weights[r] as number;
    if (!Number.isFinite(w) || w < 0) {
      throw new TrainerError(
        CODES.INVALID_WEIGHT,
        `weight of row ${r} is ${describeNumber(w)}; weights must be finite and >= 0`,
        {
          row: r,
          weight: describeNumber(w),
        },
      );
    }
    out[r] = w;
    total += w;
  }
  if (total <= 0) throw new TrainerError(CODES.INVALID_WEIGHT, 'every row weight is zero; nothing to learn from');
  return out;
}
