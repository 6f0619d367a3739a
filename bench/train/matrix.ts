import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The feature-matrix file shared by our trainer and the XGBoost anchor (`xgb_anchor.py`), so both
 * fit exactly the same float32 values:
 *
 *   line 1   JSON header {"format":"mlops-matrix-v1","nRows","nFeatures","featureNames","dtype":"float32"},
 *            space-padded so the line (with its "\n") is a multiple of 8 bytes
 *   values   nRows * nFeatures float32, little-endian, row-major
 *   labels   nRows uint8 (0/1)
 *   split    nRows uint8 (0 = train, 1 = holdout)
 */
export interface MatrixFile {
  featureNames: string[];
  nRows: number;
  nFeatures: number;
  values: Float32Array;
  labels: Uint8Array;
  split: Uint8Array;
}

export const MATRIX_FORMAT = 'mlops-matrix-v1';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function writeMatrix(path: string, matrix: MatrixFile): void {
  const { nRows, nFeatures, featureNames } = matrix;
  if (matrix.values.length !== nRows * nFeatures || matrix.labels.length !== nRows || matrix.split.length !== nRows) {
    throw new Error(`matrix arrays do not match ${nRows} x ${nFeatures}`);
  }
  let header = JSON.stringify({ format: MATRIX_FORMAT, nRows, nFeatures, featureNames, dtype: 'float32' });
  header += ' '.repeat((8 - ((Buffer.byteLength(header) + 1) % 8)) % 8) + '\n';
  const values = Buffer.alloc(nRows * nFeatures * 4);
  if (LITTLE_ENDIAN) values.set(new Uint8Array(matrix.values.buffer, matrix.values.byteOffset, matrix.values.byteLength));
  else for (let i = 0; i < matrix.values.length; i++) values.writeFloatLE(matrix.values[i]!, i * 4);
  writeFileSync(path, Buffer.concat([Buffer.from(header), values, Buffer.from(matrix.labels), Buffer.from(matrix.split)]));
}

export function readMatrix(path: string): MatrixFile {
  const file = readFileSync(path);
  const newline = file.indexOf(0x0a);
  if (newline < 0) throw new Error(`${path} is not a matrix file: no header line`);
  const header = JSON.parse(file.subarray(0, newline).toString('utf8')) as Partial<MatrixFile> & { format?: string; dtype?: string };
  if (header.format !== MATRIX_FORMAT || header.dtype !== 'float32') throw new Error(`${path} is not a ${MATRIX_FORMAT} float32 matrix`);
  const nRows = header.nRows ?? 0;
  const nFeatures = header.nFeatures ?? 0;
  const offset = newline + 1;
  const expected = offset + nRows * nFeatures * 4 + 2 * nRows;
  if (file.length !== expected) throw new Error(`${path} has ${file.length} bytes, expected ${expected}`);
  const values = new Float32Array(nRows * nFeatures);
  if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(file.subarray(offset, offset + values.byteLength));
  else for (let i = 0; i < values.length; i++) values[i] = file.readFloatLE(offset + i * 4);
  const labelsAt = offset + nRows * nFeatures * 4;
  return {
    featureNames: header.featureNames ?? [],
    nRows,
    nFeatures,
    values,
    labels: Uint8Array.from(file.subarray(labelsAt, labelsAt + nRows)),
    split: Uint8Array.from(file.subarray(labelsAt + nRows, labelsAt + 2 * nRows)),
  };
}
