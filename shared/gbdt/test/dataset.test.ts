import { describe, expect, it } from 'vitest';
import { TrainerError, createDataset, createFeatureMatrix, selectRows } from '../src/index.js';
import { thrown } from './helpers.js';

const names = ['tenure_days', 'orders_90d'];

describe('createDataset', () => {
  it('accepts rows as arrays or as a typed row-major matrix, with the same result', () => {
    const fromRows = createDataset({
      featureNames: names,
      values: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      labels: [0, 1, 0],
    });
    const fromTyped = createDataset({
      featureNames: names,
      values: Float64Array.of(1, 2, 3, 4, 5, 6),
      labels: Uint8Array.of(0, 1, 0),
    });
    expect(fromRows.nRows).toBe(3);
    expect(fromRows.nFeatures).toBe(2);
    expect([...fromRows.values]).toEqual([...fromTyped.values]);
    expect([...fromRows.labels]).toEqual([0, 1, 0]);
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('rejects a %s feature value, naming the feature and the row', (shown, bad) => {
    const error = thrown(() =>
      createDataset({
        featureNames: names,
        values: [
          [1, 2],
          [3, bad],
          [5, 6],
        ],
        labels: [0, 1, 0],
      }),
    );
    expect(error).toBeInstanceOf(TrainerError);
    expect(error.code).toBe('TRAINER.NON_FINITE_FEATURE');
    expect(error.message).toContain('"orders_90d"');
    expect(error.message).toContain('row 1');
    expect(error.message).toContain(shown);
  });

  it('rejects a non-number in a row (a null from the warehouse) as non-finite', () => {
    const rows = [[1, null as unknown as number]];
    expect(thrown(() => createDataset({ featureNames: names, values: rows, labels: [1] })).code).toBe(
      'TRAINER.NON_FINITE_FEATURE',
    );
  });

  it('rejects an empty training set', () => {
    expect(thrown(() => createDataset({ featureNames: names, values: [], labels: [] })).code).toBe(
      'TRAINER.EMPTY_TRAINING_SET',
    );
    expect(thrown(() => createDataset({ featureNames: [], values: [], labels: [] })).code).toBe(
      'TRAINER.EMPTY_TRAINING_SET',
    );
  });

  it.each([
    ['2', 2],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['0.5', 0.5],
    ['-1', -1],
  ])('rejects the label %s, naming the row', (shown, bad) => {
    const error = thrown(() =>
      createDataset({
        featureNames: names,
        values: [
          [1, 2],
          [3, 4],
        ],
        labels: [0, bad],
      }),
    );
    expect(error.code).toBe('TRAINER.INVALID_LABEL');
    expect(error.message).toContain('row 1');
    expect(error.message).toContain(shown);
  });

  it.each([
    ['labels', { labels: [0, 1, 0] }],
    ['weights', { labels: [0, 1], weights: [1] }],
    ['a ragged row', { values: [[1, 2], [3]] }],
    ['values not a multiple of the features', { values: Float64Array.of(1, 2, 3) }],
  ])('rejects mismatched lengths of %s', (_, override) => {
    const input = {
      featureNames: names,
      values: [
        [1, 2],
        [3, 4],
      ] as number[][] | Float64Array,
      labels: [0, 1],
      ...override,
    };
    expect(thrown(() => createDataset(input)).code).toBe('TRAINER.SHAPE_MISMATCH');
  });

  it('rejects duplicate feature names', () => {
    expect(thrown(() => createFeatureMatrix({ featureNames: ['a', 'a'], values: [[1, 2]] })).code).toBe(
      'TRAINER.SHAPE_MISMATCH',
    );
  });

  it.each([
    ['negative', [1, -1]],
    ['NaN', [1, NaN]],
    ['all zero', [0, 0]],
  ])('rejects %s weights', (_, weights) => {
    expect(
      thrown(() =>
        createDataset({
          featureNames: names,
          values: [
            [1, 2],
            [3, 4],
          ],
          labels: [0, 1],
          weights,
        }),
      ).code,
    ).toBe('TRAINER.INVALID_WEIGHT');
  });

  it('selects rows in the given order, with their labels and weights', () => {
    const data = createDataset({
      featureNames: names,
      values: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      labels: [0, 1, 1],
      weights: [1, 2, 3],
    });
    const picked = selectRows(data, [2, 0]);
    expect([...picked.values]).toEqual([5, 6, 1, 2]);
    expect([...picked.labels]).toEqual([1, 0]);
    expect([...(picked.weights ?? [])]).toEqual([3, 1]);
  });
});
