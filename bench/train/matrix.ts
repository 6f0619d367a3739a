import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * The feature-matrix file shared by our trainer and the XGBoost anchor (`xgb_anchor.py`), so both
 * fit exactly the same values:
 *
 *   line 1   JSON header {"format":"mlops-matrix-v1","nRows","nFeatures","featureNames","dtype", ...},
 *            space-padded so the line (with its "\n") is a multiple of 8 bytes; `dtype` is
 *            "float32" or "float64"; any other header fields describe where the matrix came from
 *   values   nRows * nFeatures floats of that dtype, little-endian, row-major
 *   labels   nRows uint8 (0/1)
 *   split    nRows uint8 (0 = train, 1 = holdout)
 *
 * The synthetic matrix is float32; the churn matrix is float64, the values the trainer reads from
 * its dataset artifact (XGBoost converts to float32 itself, as it would in production).
 */
export interface MatrixFile {
  featureNames: string[];
  nRows: number;
  nFeatures: number;
  values: Float32Array | Float64Array;
  labels: Uint8Array;
  split: Uint8Array;
  /** Extra header fields (provenance), written and read back as JSON. */
  meta?: Record<string, unknown>;
}

export const MATRIX_FORMAT = 'mlops-matrix-v1';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Write a matrix file (atomically: a reader never sees a half-written file). */
export function writeMatrix(path: string, matrix: MatrixFile): void {
  const { nRows, nFeatures, featureNames } = matrix;
  if (matrix.values.length !== nRows * nFeatures || matrix.labels.length !== nRows || matrix.split.length !== nRows) {
    throw new Error(`matrix arrays do not match ${nRows} x ${nFeatures}`);
  }
  const dtype = matrix.values instanceof Float64Array ? 'float64' : 'float32';
  let header = JSON.stringify({ format: MATRIX_FORMAT, nRows, nFeatures, featureNames, dtype, ...(matrix.meta ?? {}) });
  header += ' '.repeat((8 - ((Buffer.byteLength(header) + 1) % 8)) % 8) + '\n';
  const bytes = matrix.values.BYTES_PER_ELEMENT;
  const values = Buffer.alloc(nRows * nFeatures * bytes);
  if (LITTLE_ENDIAN)
    values.set(new Uint8Array(matrix.values.buffer, matrix.values.byteOffset, matrix.values.byteLength));
  else if (bytes === 8) for (let i = 0; i < matrix.values.length; i++) values.writeDoubleLE(matrix.values[i]!, i * 8);
  else for (let i = 0; i < matrix.values.length; i++) values.writeFloatLE(matrix.values[i]!, i * 4);
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(
    partial,
    Buffer.concat([Buffer.from(header), values, Buffer.from(matrix.labels), Buffer.from(matrix.split)]),
  );
  renameSync(partial, path);
}

export function readMatrix(path: string): MatrixFile {
  const file = readFileSync(path);
  const newline = file.indexOf(0x0a);
  if (newline < 0) throw new Error(`${path} is not a matrix file: no header line`);
  const {
    format,
    nRows: rows,
    nFeatures: features,
    featureNames,
    dtype,
    ...meta
  } = JSON.parse(file.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  if (format !== MATRIX_FORMAT || (dtype !== 'float32' && dtype !== 'float64'))
    throw new Error(`${path} is not a ${MATRIX_FORMAT} float32/float64 matrix`);
  const nRows = Number(rows ?? 0);
  const nFeatures = Number(features ?? 0);
  const bytes = dtype === 'float64' ? 8 : 4;
  const offset = newline + 1;
  const expected = offset + nRows * nFeatures * bytes + 2 * nRows;
  if (file.length !== expected) throw new Error(`${path} has ${file.length} bytes, expected ${expected}`);
  const values = dtype === 'float64' ? new Float64Array(nRows * nFeatures) : new Float32Array(nRows * nFeatures);
  if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(file.subarray(offset, offset + values.byteLength));
  else
    for (let i = 0; i < values.length; i++)
      values[i] = bytes === 8 ? file.readDoubleLE(offset + i * 8) : file.readFloatLE(offset + i * 4);
  const labelsAt = offset + nRows * nFeatures * bytes;
  return {
    featureNames: (featureNames as string[] | undefined) ?? [],
    nRows,
    nFeatures,
    values,
    labels: Uint8Array.from(file.subarray(labelsAt, labelsAt + nRows)),
    split: Uint8Array.from(file.subarray(labelsAt + nRows, labelsAt + 2 * nRows)),
    meta,
  };
}
