/**
 * The training-set artifact the `features` component writes and `train`, `evaluate` and `register`
 * read: a JSON header (feature names, snapshots and their split) followed by the row-major Float64
 * feature values and the 0/1 labels, little-endian. Binary because a JSON array of half a million
 * numbers is slow to write and parse; deterministic, so its SHA-256 is the fingerprint of the
 * training data.
 */
import { createHash } from 'node:crypto';
import { TrainerErrors } from '../errors.js';
import { createDataset, selectRows, type Dataset } from '../ml/index.js';

const MAGIC = 'MLOPSDS1';
const FORMAT = 'mlops.dataset.v1';

/** One snapshot date of the set: its rows are contiguous, in snapshot order. */
export interface DatasetSnapshot {
  date: string;
  rows: number;
  split: 'train' | 'holdout';
}

/** The header of a dataset artifact. */
export interface DatasetHeader {
  format: typeof FORMAT;
  featureNames: string[];
  snapshots: DatasetSnapshot[];
  nRows: number;
  /** Days of the label window (no order in this many days after the snapshot = churn). */
  horizonDays: number;
}

/** A decoded training set with its train and holdout parts. */
export interface TrainingSet {
  header: DatasetHeader;
  all: Dataset;
  train: Dataset;
  holdout: Dataset;
}

/** Encode a training set. `values` is row-major, `labels` 0/1; rows follow `snapshots`. */
export function encodeDataset(
  header: Omit<DatasetHeader, 'format' | 'nRows'>,
  values: Float64Array,
  labels: Uint8Array,
): Buffer {
  const nRows = labels.length;
  const full: DatasetHeader = {
    format: FORMAT,
    featureNames: header.featureNames,
    snapshots: header.snapshots,
    nRows,
    horizonDays: header.horizonDays,
  };
  const json = Buffer.from(JSON.stringify(full), 'utf8');
  // Pad the header so the Float64 block starts on an 8-byte boundary (a zero-copy view on decode).
  const headerBytes = 8 + 4 + json.length;
  const padding = (8 - (headerBytes % 8)) % 8;
  const out = Buffer.alloc(headerBytes + padding + values.byteLength + labels.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length + padding, 8);
  json.copy(out, 12);
  out.fill(0x20, 12 + json.length, 12 + json.length + padding);
  Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out, headerBytes + padding);
  Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength).copy(out, headerBytes + padding + values.byteLength);
  return out;
}

/** SHA-256 of an encoded training set: the data fingerprint. */
export function fingerprintOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Decode a training set, validating it as the ML core does (`TRAINER.NON_FINITE_FEATURE`,
 * `TRAINER.EMPTY_TRAINING_SET`, ...). A malformed file is `TRAINER.INVALID_ARTIFACT`.
 */
export function decodeDataset(bytes: Buffer, uri: string): TrainingSet {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC)
    throw TrainerErrors.invalidArtifact(uri, `not a ${FORMAT} file`);
  const length = bytes.readUInt32LE(8);
  let header: DatasetHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + length)) as DatasetHeader;
  } catch (error) {
    throw TrainerErrors.invalidArtifact(uri, `its header is not JSON (${(error as Error).message})`);
  }
  if (header.format !== FORMAT || !Array.isArray(header.featureNames) || !Array.isArray(header.snapshots)) {
    throw TrainerErrors.invalidArtifact(uri, 'its header lacks format, featureNames or snapshots');
  }
  const nFeatures = header.featureNames.length;
  const start = 12 + length;
  const valueBytes = header.nRows * nFeatures * 8;
  if (
    bytes.length !== start + valueBytes + header.nRows ||
    header.snapshots.reduce((sum, s) => sum + s.rows, 0) !== header.nRows
  ) {
    throw TrainerErrors.invalidArtifact(uri, `its size does not match ${header.nRows} rows of ${nFeatures} features`);
  }
  const copy = new Float64Array(header.nRows * nFeatures);
  Buffer.from(copy.buffer).set(bytes.subarray(start, start + valueBytes));
  const labels = new Uint8Array(bytes.subarray(start + valueBytes, start + valueBytes + header.nRows));
  const all = createDataset({ featureNames: header.featureNames, values: copy, labels });
  const trainRows: number[] = [];
  const holdoutRows: number[] = [];
  let row = 0;
  for (const snapshot of header.snapshots) {
    const target = snapshot.split === 'train' ? trainRows : holdoutRows;
    for (let i = 0; i < snapshot.rows; i++) target.push(row++);
  }
  return { header, all, train: selectRows(all, trainRows), holdout: selectRows(all, holdoutRows) };
}
