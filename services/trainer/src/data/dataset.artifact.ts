/**
 * The training-set artifact the `features` component writes and `train`, `evaluate`, `refit` and
 * `register` read: a JSON header (feature names, snapshots and their split, segments) followed by
 * the row-major Float64 feature values, the 0/1 labels, and per row the days since the last order
 * (the population and recency slices), the segment and a customer number (the bootstrap's
 * cluster), little-endian. Binary because a JSON array of half a million numbers is slow to write
 * and parse; deterministic, so its SHA-256 is the fingerprint of the exact training rows.
 */
import { createHash } from 'node:crypto';
import { TrainerErrors } from '../errors.js';
import { createDataset, selectRows, type Dataset } from '../ml/index.js';

const MAGIC = 'MLOPSDS2';
const FORMAT = 'mlops.dataset.v2';

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
  /** Segment names; a row's segment is an index into them. */
  segments: string[];
}

/** Per-row facts that are not features: what slices and the bootstrap need. */
export interface RowFacts {
  /** Days from the last order to the snapshot (active: at most the horizon). */
  daysSinceLastOrder: Uint16Array;
  /** Index into `DatasetHeader.segments`. */
  segment: Uint8Array;
  /** The same number for every row of one customer (rows of a customer are not independent). */
  customer: Uint32Array;
}

/** The rows of one part of the set with their facts. */
export interface DatasetPart {
  data: Dataset;
  facts: RowFacts;
}

/** A decoded training set with its train and holdout parts (every row; see {@link activePart}). */
export interface TrainingSet {
  header: DatasetHeader;
  all: Dataset;
  train: Dataset;
  holdout: Dataset;
  facts: RowFacts;
  /** Row numbers (in `all`) of each part. */
  trainRows: number[];
  holdoutRows: number[];
}

/** What `encodeDataset` is given: values row-major, labels 0/1, facts per row, rows in snapshot order. */
export interface DatasetContent {
  featureNames: string[];
  snapshots: DatasetSnapshot[];
  horizonDays: number;
  segments: string[];
  values: Float64Array;
  labels: Uint8Array;
  facts: RowFacts;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** Encode a training set. */
export function encodeDataset(content: DatasetContent): Buffer {
  const nRows = content.labels.length;
  const header: DatasetHeader = {
    format: FORMAT,
    featureNames: content.featureNames,
    snapshots: content.snapshots,
    nRows,
    horizonDays: content.horizonDays,
    segments: content.segments,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad the header so the Float64 block starts on an 8-byte boundary.
  const padding = pad8(12 + json.length);
  const blocks = [
    content.values,
    content.labels,
    content.facts.daysSinceLastOrder,
    content.facts.segment,
    content.facts.customer,
  ].map((array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength));
  const out = Buffer.alloc(12 + json.length + padding + blocks.reduce((sum, block) => sum + block.length, 0));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length + padding, 8);
  json.copy(out, 12);
  out.fill(0x20, 12 + json.length, 12 + json.length + padding);
  let offset = 12 + json.length + padding;
  for (const block of blocks) {
    block.copy(out, offset);
    offset += block.length;
  }
  return out;
}

/** Header bytes set aside by {@link DatasetBuilder} beyond those known before the rows are read. */
const HEADER_RESERVE = 64 * 1024;

/**
 * Builds the bytes `encodeDataset` would, with the feature values written in place: the rows
 * are read into `values`, a view of the artifact's own buffer, so a set is held once rather than
 * once as read and once encoded. The header (its segments are known only after the rows) goes in
 * front by `finish`, which moves the values block down to where the header ends.
 */
export class DatasetBuilder {
  /** Row-major feature values of the `nRows` rows, to be filled in. */
  readonly values: Float64Array;
  readonly labels: Uint8Array;
  readonly facts: RowFacts;
  private readonly buffer: Buffer;
  private readonly base: number;

  constructor(
    private readonly featureNames: string[],
    readonly nRows: number,
  ) {
    const known = Buffer.byteLength(
      JSON.stringify({ format: FORMAT, featureNames, snapshots: [], nRows, horizonDays: 0, segments: [] }),
    );
    this.base = 12 + known + HEADER_RESERVE;
    this.base += pad8(this.base);
    const size = this.base + nRows * featureNames.length * 8 + 8 * nRows;
    this.buffer = Buffer.alloc(size);
    this.values = new Float64Array(this.buffer.buffer, this.buffer.byteOffset + this.base, nRows * featureNames.length);
    this.labels = new Uint8Array(nRows);
    this.facts = {
      daysSinceLastOrder: new Uint16Array(nRows),
      segment: new Uint8Array(nRows),
      customer: new Uint32Array(nRows),
    };
  }

  /** The encoded set (byte for byte `encodeDataset` of the same content); the builder is spent. */
  finish(content: Pick<DatasetContent, 'snapshots' | 'horizonDays' | 'segments'>): Buffer {
    const full: DatasetContent = {
      featureNames: this.featureNames,
      ...content,
      values: this.values,
      labels: this.labels,
      facts: this.facts,
    };
    const header: DatasetHeader = {
      format: FORMAT,
      featureNames: this.featureNames,
      snapshots: content.snapshots,
      nRows: this.nRows,
      horizonDays: content.horizonDays,
      segments: content.segments,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const padding = pad8(12 + json.length);
    const start = 12 + json.length + padding;
    // A header longer than the room set aside (hundreds of long segment names): encode anew.
    if (start > this.base) return encodeDataset(full);
    const out = this.buffer;
    out.copyWithin(start, this.base, this.base + this.values.byteLength);
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32LE(json.length + padding, 8);
    json.copy(out, 12);
    out.fill(0x20, 12 + json.length, start);
    let offset = start + this.values.byteLength;
    for (const block of [this.labels, this.facts.daysSinceLastOrder, this.facts.segment, this.facts.customer]) {
      out.set(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), offset);
      offset += block.byteLength;
    }
    return out.subarray(0, offset);
  }
}

/** SHA-256 of an encoded training set: the data fingerprint. */
export function fingerprintOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A typed array over `bytes` from `offset`: a view where the offset is aligned for the element
 * size (the artifact's blocks are laid out so), a copy otherwise. Views share the artifact's
 * memory, so a set of a million rows is not held twice; nothing writes into a decoded set.
 */
function arrayAt<T extends Float64Array | Uint8Array | Uint16Array | Uint32Array>(
  bytes: Buffer,
  offset: number,
  length: number,
  kind: {
    new (buffer: ArrayBufferLike, offset: number, length: number): T;
    new (length: number): T;
    BYTES_PER_ELEMENT: number;
  },
): T {
  const at = bytes.byteOffset + offset;
  if (at % kind.BYTES_PER_ELEMENT === 0) return new kind(bytes.buffer, at, length);
  const target = new kind(length);
  Buffer.from(target.buffer, target.byteOffset, target.byteLength).set(
    bytes.subarray(offset, offset + target.byteLength),
  );
  return target;
}

/** Rows `rows` of `all`: a view when they are consecutive (a part's snapshots are), a copy otherwise. */
function rowsOf(all: Dataset, rows: readonly number[]): Dataset {
  const first = rows[0] ?? 0;
  if (rows.every((row, i) => row === first + i)) {
    const { nFeatures } = all;
    return {
      nRows: rows.length,
      nFeatures,
      featureNames: all.featureNames,
      values: all.values.subarray(first * nFeatures, (first + rows.length) * nFeatures),
      labels: all.labels.subarray(first, first + rows.length),
    };
  }
  return selectRows(all, rows);
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
  if (
    header.format !== FORMAT ||
    !Array.isArray(header.featureNames) ||
    !Array.isArray(header.snapshots) ||
    !Array.isArray(header.segments)
  ) {
    throw TrainerErrors.invalidArtifact(uri, 'its header lacks format, featureNames, snapshots or segments');
  }
  const n = header.nRows;
  const nFeatures = header.featureNames.length;
  const start = 12 + length;
  const size = n * nFeatures * 8 + n + 2 * n + n + 4 * n;
  if (bytes.length !== start + size || header.snapshots.reduce((sum, s) => sum + s.rows, 0) !== n) {
    throw TrainerErrors.invalidArtifact(uri, `its size does not match ${n} rows of ${nFeatures} features`);
  }
  let offset = start;
  const values = arrayAt(bytes, offset, n * nFeatures, Float64Array);
  offset += values.byteLength;
  const labels = arrayAt(bytes, offset, n, Uint8Array);
  offset += n;
  const daysSinceLastOrder = arrayAt(bytes, offset, n, Uint16Array);
  offset += 2 * n;
  const segment = arrayAt(bytes, offset, n, Uint8Array);
  offset += n;
  const customer = arrayAt(bytes, offset, n, Uint32Array);
  if (segment.some((index) => index >= header.segments.length))
    throw TrainerErrors.invalidArtifact(uri, 'a row names a segment the header does not list');
  const all = createDataset({ featureNames: header.featureNames, values, labels });
  const trainRows: number[] = [];
  const holdoutRows: number[] = [];
  let row = 0;
  for (const snapshot of header.snapshots) {
    const target = snapshot.split === 'train' ? trainRows : holdoutRows;
    for (let i = 0; i < snapshot.rows; i++) target.push(row++);
  }
  return {
    header,
    all,
    train: rowsOf(all, trainRows),
    holdout: rowsOf(all, holdoutRows),
    facts: { daysSinceLastOrder, segment, customer },
    trainRows,
    holdoutRows,
  };
}

/** The facts of some rows of the set. */
export function factsOf(facts: RowFacts, rows: ArrayLike<number>): RowFacts {
  const n = rows.length;
  const out = { daysSinceLastOrder: new Uint16Array(n), segment: new Uint8Array(n), customer: new Uint32Array(n) };
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    out.daysSinceLastOrder[i] = facts.daysSinceLastOrder[r]!;
    out.segment[i] = facts.segment[r]!;
    out.customer[i] = facts.customer[r]!;
  }
  return out;
}

/**
 * The scored population of a part: customers still active at the snapshot (an order within the
 * horizon). `parts` picks train, holdout or both (the refit).
 */
export function activePart(set: TrainingSet, parts: readonly ('train' | 'holdout')[]): DatasetPart {
  const horizon = set.header.horizonDays;
  const { all, facts } = set;
  // Rows in ascending order, as typed arrays and plain loops: a million rows of JavaScript arrays,
  // a comparator sort and a view per copied row cost seconds.
  const wanted = new Uint8Array(all.nRows);
  if (parts.includes('train')) for (const r of set.trainRows) wanted[r] = 1;
  if (parts.includes('holdout')) for (const r of set.holdoutRows) wanted[r] = 1;
  let count = 0;
  for (let r = 0; r < all.nRows; r++) {
    if (wanted[r] !== 1 || facts.daysSinceLastOrder[r]! > horizon) continue;
    wanted[r] = 2;
    count++;
  }
  const rows = new Uint32Array(count);
  for (let r = 0, i = 0; r < all.nRows; r++) if (wanted[r] === 2) rows[i++] = r;
  return { data: copyRows(all, rows), facts: factsOf(facts, rows) };
}

/** Rows of a dataset (ascending, in range), copied: `selectRows` without a view per row. */
function copyRows(data: Dataset, rows: Uint32Array): Dataset {
  const { nFeatures } = data;
  const from = data.values;
  const values = new (from.constructor as Float64ArrayConstructor | Float32ArrayConstructor)(rows.length * nFeatures);
  const labels = new Uint8Array(rows.length);
  const weights = data.weights === undefined ? undefined : new Float64Array(rows.length);
  // Runs of consecutive rows (most rows of a part are active) are copied by one `set` each.
  for (let i = 0; i < rows.length; ) {
    const first = rows[i]!;
    let end = i + 1;
    while (end < rows.length && rows[end] === first + (end - i)) end++;
    const count = end - i;
    values.set(from.subarray(first * nFeatures, (first + count) * nFeatures), i * nFeatures);
    labels.set(data.labels.subarray(first, first + count), i);
    if (weights !== undefined) weights.set(data.weights!.subarray(first, first + count), i);
    i = end;
  }
  const base = { nRows: rows.length, nFeatures, featureNames: data.featureNames, values, labels };
  return weights === undefined ? base : { ...base, weights };
}

/** Every row of the holdout, with its facts. */
export function holdoutPart(set: TrainingSet): DatasetPart {
  return { data: set.holdout, facts: factsOf(set.facts, set.holdoutRows) };
}
