import { describe, expect, it } from 'vitest';
import {
  DatasetBuilder,
  activePart,
  decodeDataset,
  encodeDataset,
  type DatasetContent,
} from '../src/data/dataset.artifact.js';
import { createDataset, createRandom, selectRows } from '../src/ml/index.js';

/** A set of `n` rows over three snapshots (two train, one holdout) with random features and facts. */
function content(n: number, segments: string[], seed: number): DatasetContent {
  const random = createRandom(seed);
  const featureNames = ['days_since_last_order', 'orders_30d', 'revenue_usd_90d'];
  const values = Float64Array.from({ length: n * featureNames.length }, () => Math.round(random.nextFloat() * 1e6) / 7);
  const third = Math.floor(n / 3);
  return {
    featureNames,
    snapshots: [
      { date: '2026-01-05', rows: third, split: 'train' },
      { date: '2026-01-12', rows: third, split: 'train' },
      { date: '2026-02-16', rows: n - 2 * third, split: 'holdout' },
    ],
    horizonDays: 30,
    segments,
    values,
    labels: Uint8Array.from({ length: n }, () => (random.nextFloat() < 0.3 ? 1 : 0)),
    facts: {
      daysSinceLastOrder: Uint16Array.from({ length: n }, () => Math.floor(random.nextFloat() * 60)),
      segment: Uint8Array.from({ length: n }, () => Math.floor(random.nextFloat() * segments.length)),
      customer: Uint32Array.from({ length: n }, (_, i) => i % Math.max(1, third)),
    },
  };
}

/** What the features step does: rows written into the builder a chunk at a time. */
function built(set: DatasetContent, chunk: number): Buffer {
  const builder = new DatasetBuilder(set.featureNames, set.labels.length);
  const width = set.featureNames.length;
  for (let first = 0; first < set.labels.length; first += chunk) {
    const last = Math.min(set.labels.length, first + chunk);
    for (let r = first; r < last; r++) {
      for (let f = 0; f < width; f++) builder.values[r * width + f] = set.values[r * width + f]!;
      builder.labels[r] = set.labels[r]!;
      builder.facts.daysSinceLastOrder[r] = set.facts.daysSinceLastOrder[r]!;
      builder.facts.segment[r] = set.facts.segment[r]!;
      builder.facts.customer[r] = set.facts.customer[r]!;
    }
  }
  return builder.finish({ snapshots: set.snapshots, horizonDays: set.horizonDays, segments: set.segments });
}

describe('training set artifact', () => {
  it.each([
    ['even rows', 3000],
    ['odd rows (unaligned blocks after the values)', 3001],
  ])('builds in place, chunk by chunk, the bytes encodeDataset writes: %s', (_, n) => {
    const set = content(n, ['consumer', 'enterprise', 'unknown'], 5);
    const bytes = built(set, 1024);
    expect(bytes.equals(encodeDataset(set))).toBe(true);
  });

  it('falls back to encoding anew when the header outgrows the room set aside', () => {
    const segments = Array.from({ length: 200 }, (_, i) => `segment-${i}-${'x'.repeat(400)}`);
    const set = content(500, segments, 9);
    expect(built(set, 100).equals(encodeDataset(set))).toBe(true);
  });

  it('decodes the same matrix, labels, facts and parts as row copies would give', () => {
    const set = content(3001, ['consumer', 'unknown'], 3);
    const decoded = decodeDataset(built(set, 700), 'memory://test');
    expect(Array.from(decoded.all.values)).toEqual(Array.from(set.values));
    expect(Array.from(decoded.all.labels)).toEqual(Array.from(set.labels));
    expect(Array.from(decoded.facts.daysSinceLastOrder)).toEqual(Array.from(set.facts.daysSinceLastOrder));
    expect(Array.from(decoded.facts.segment)).toEqual(Array.from(set.facts.segment));
    expect(Array.from(decoded.facts.customer)).toEqual(Array.from(set.facts.customer));
    const all = createDataset({ featureNames: set.featureNames, values: set.values, labels: set.labels });
    const copies = { train: selectRows(all, decoded.trainRows), holdout: selectRows(all, decoded.holdoutRows) };
    for (const part of ['train', 'holdout'] as const) {
      expect(decoded[part].nRows).toBe(copies[part].nRows);
      expect(Array.from(decoded[part].values)).toEqual(Array.from(copies[part].values));
      expect(Array.from(decoded[part].labels)).toEqual(Array.from(copies[part].labels));
    }
    expect(decoded.trainRows).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    const active = activePart(decoded, ['train', 'holdout']);
    const rows = Array.from({ length: 3001 }, (_, i) => i).filter((r) => set.facts.daysSinceLastOrder[r]! <= 30);
    expect(Array.from(active.data.values)).toEqual(Array.from(selectRows(all, rows).values));
    // Each part alone: the same rows, labels and facts as copies of the filtered row numbers.
    for (const part of ['train', 'holdout'] as const) {
      const partRows = (part === 'train' ? decoded.trainRows : decoded.holdoutRows).filter(
        (r) => set.facts.daysSinceLastOrder[r]! <= 30,
      );
      const one = activePart(decoded, [part]);
      const copy = selectRows(all, partRows);
      expect(one.data.nRows).toBe(partRows.length);
      expect(Array.from(one.data.values)).toEqual(Array.from(copy.values));
      expect(Array.from(one.data.labels)).toEqual(Array.from(copy.labels));
      expect(Array.from(one.facts.customer)).toEqual(partRows.map((r) => set.facts.customer[r]!));
      expect(Array.from(one.facts.segment)).toEqual(partRows.map((r) => set.facts.segment[r]!));
      expect(Array.from(one.facts.daysSinceLastOrder)).toEqual(partRows.map((r) => set.facts.daysSinceLastOrder[r]!));
    }
  });

  it('still names a non-finite feature and a malformed file', () => {
    const set = content(30, ['unknown'], 1);
    set.values[4] = Number.NaN;
    expect(() => decodeDataset(built(set, 7), 'memory://bad')).toThrow(/orders_30d.*NaN.*row 1/);
    expect(() => decodeDataset(Buffer.from('MLOPSDS2 not really'), 'memory://short')).toThrow(/TRAINER|header|size/);
  });
});
