import { describe, expect, it } from 'vitest';
import { createDataset, createFeatureMatrix, createModel, createRandom, loadModel } from '../src/ml/index.js';
import { columnScorer, predictMatrix } from '../src/scoring/compiled-forest.js';
import { compileSimdForest } from '../src/scoring/forest-simd.js';
import { SplitChooser } from '../src/scoring/scoring-pool.js';

/**
 * Rows with signal in some features, noise in others, a few ties and a constant feature; with
 * `missing`, that share of the values of `a` and `c` is NaN and some of `b` are -0.
 */
function data(rows: number, seed: number, missing = 0) {
  const random = createRandom(seed);
  const featureNames = ['a', 'b', 'c', 'constant', 'noise'];
  const values = new Float64Array(rows * featureNames.length);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = random.nextFloat();
    const b = Math.floor(random.nextFloat() * 5);
    const c = random.nextFloat() * 100;
    values.set([a, b, c, 7, random.nextFloat()], r * 5);
    if (random.nextFloat() < missing) values[r * 5] = Number.NaN;
    if (random.nextFloat() < missing) values[r * 5 + 2] = Number.NaN;
    if (missing > 0 && b === 0 && random.nextFloat() < 0.5) values[r * 5 + 1] = -0;
    labels[r] = random.nextFloat() < 0.2 + 0.5 * a + 0.05 * b - (c > 80 ? 0.2 : 0) ? 1 : 0;
  }
  return { featureNames, values, labels };
}

function columnsOf(values: Float64Array, width: number, names: readonly string[], wanted: readonly string[]) {
  const rows = values.length / width;
  return wanted.map((name) => {
    const f = names.indexOf(name);
    return Float64Array.from({ length: rows }, (_, r) => values[r * width + f]!);
  });
}

describe('compiled forest', () => {
  it.each([
    ['shallow trees', { nTrees: 30, maxDepth: 3 }],
    ['deep, uneven trees', { nTrees: 20, maxDepth: 6, minChildWeight: 20 }],
    ['single leaves', { nTrees: 3, maxDepth: 1, gamma: 1e9 }],
    ['many trees (several generated functions)', { nTrees: 150, maxDepth: 5 }],
  ])('scores %s exactly as the model does, reading only the features it splits on', (_name, params) => {
    const train = data(3000, 1);
    const model = createModel('gbdt', { threads: 1, seed: 0, ...params }).fit(createDataset(train));
    const test = data(2500, 2);
    const expected = model.predictProba(createFeatureMatrix({ featureNames: test.featureNames, values: test.values }));
    const scorer = columnScorer(model);
    expect(scorer.features).not.toContain('constant');
    const scores = scorer.score(columnsOf(test.values, 5, test.featureNames, scorer.features), 2500);
    expect(scores).toEqual(expected);
    // The same rows row-major, after two key columns, into the middle of an output array.
    const width = scorer.features.length + 2;
    const columns = columnsOf(test.values, 5, test.featureNames, scorer.features);
    const rows = new Float64Array(2500 * width);
    for (let r = 0; r < 2500; r++) columns.forEach((column, f) => (rows[r * width + 2 + f] = column[r]!));
    const out = new Float64Array(2510).fill(-1);
    scorer.scoreRows(rows, 2500, width, 2, out, 5);
    expect(out.subarray(5, 2505)).toEqual(expected);
    expect([...out.subarray(0, 5), ...out.subarray(2505)]).toEqual(new Array(10).fill(-1));
  });

  it('sends a NULL feature (NaN) right and reads -0 as 0, as the model does row by row', () => {
    const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 40, maxDepth: 4 }).fit(
      createDataset(data(3000, 1)),
    );
    // 2,500 rows: several blocks and a partial one.
    const test = data(2500, 4, 0.2);
    const expected = Float64Array.from({ length: 2500 }, (_, r) =>
      model.predictRow(test.values.subarray(r * 5, r * 5 + 5)),
    );
    const scorer = columnScorer(model);
    const scores = scorer.score(columnsOf(test.values, 5, test.featureNames, scorer.features), 2500);
    expect(test.values.some(Number.isNaN)).toBe(true);
    expect(scores).toEqual(expected);
  });

  it.each([
    [16, 'depth 4 (ranks and leaves in bytes)', 4],
    [8, 'depth 6 (in 16 bits)', 6],
  ])(
    'scores %i rows a pass of %s by the branch-free SIMD forest to the same bits: values at, just below and above every threshold, NaN, -0',
    (lanes, _name, maxDepth) => {
      const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 60, maxDepth }).fit(
        createDataset(data(3000, 1)),
      );
      const json = model.toJSON();
      if (json.kind !== 'gbdt') throw new Error('a GBDT was fitted');
      const scorer = columnScorer(model);
      const slots = scorer.features.map((name) => json.featureNames.indexOf(name));
      expect(compileSimdForest(json, slots)?.lanes).toBe(lanes);
      // Each row sets one split feature to a threshold or its neighbouring doubles; the rest from data.
      const base = data(600, 5, 0.1);
      const values = new Float64Array(base.values);
      let row = 0;
      for (const tree of json.trees)
        tree.feature.forEach((feature, node) => {
          if (feature < 0 || row >= 600) return;
          const t = tree.threshold[node]!;
          const near = [t, t - Math.abs(t) * Number.EPSILON - Number.MIN_VALUE, t + Math.abs(t) * Number.EPSILON];
          values[row * 5 + feature] = near[row % 3]!;
          row += 1;
        });
      // 2,053 rows: a full chunk of 2,048 and a pass of 5 rows (not a multiple of 8).
      const rows = 2053;
      const test = new Float64Array(rows * 5);
      for (let r = 0; r < rows; r++) test.set(values.subarray((r % 600) * 5, (r % 600) * 5 + 5), r * 5);
      const expected = Float64Array.from({ length: rows }, (_, r) => model.predictRow(test.subarray(r * 5, r * 5 + 5)));
      const columns = columnsOf(test, 5, base.featureNames, scorer.features);
      expect(scorer.score(columns, rows)).toEqual(expected);
      expect(columnScorer(model, { simd: false }).score(columns, rows)).toEqual(expected);
    },
  );

  it.each([
    ['one signed compare', 100],
    ['the unsigned compare', 200],
  ])(
    'scores a feature of many thresholds by %s of its rank to the same bits (%i thresholds, 16 rows a pass)',
    (_name, thresholds) => {
      // Stumps on `a` (one threshold each, every one distinct) with a second split on `b`: ranks of
      // `a` up to `thresholds`, past a byte's sign bit in the second case.
      const trees = Array.from({ length: thresholds }, (_, k) => ({
        feature: [0, -1, 1, -1, -1],
        threshold: [k * 0.5 - 7, 0, (k % 7) - 0.5, 0, 0],
        left: [1, -1, 3, -1, -1],
        right: [2, -1, 4, -1, -1],
        value: [0, (k % 5) * 0.01 - 0.02, 0, 0.003 * k, -0.001 * k],
        gain: [1, 0, 1, 0, 0],
        cover: [1, 1, 1, 1, 1],
      }));
      const model = loadModel({
        format: 'mlops.gbdt.v1',
        kind: 'gbdt',
        featureNames: ['a', 'b'],
        params: {},
        baseScore: -0.25,
        trees,
      });
      const json = model.toJSON();
      if (json.kind !== 'gbdt') throw new Error('a GBDT was loaded');
      const scorer = columnScorer(model);
      expect(
        compileSimdForest(
          json,
          scorer.features.map((name) => json.featureNames.indexOf(name)),
        )?.lanes,
      ).toBe(16);
      // Every threshold of `a`, just below and just above it, NaN and -0; `b` around its thresholds.
      const values: number[] = [];
      for (let k = -2; k < thresholds + 2; k++)
        for (const a of [k * 0.5 - 7, k * 0.5 - 7 - 1e-9, k * 0.5 - 7 + 1e-9]) values.push(a, (k % 9) - 1.5);
      values.push(Number.NaN, 3, -0, Number.NaN, 7, -0);
      const rows = values.length / 2;
      const test = Float64Array.from(values);
      const expected = Float64Array.from({ length: rows }, (_, r) => model.predictRow(test.subarray(r * 2, r * 2 + 2)));
      const columns = columnsOf(test, 2, ['a', 'b'], scorer.features);
      expect(scorer.score(columns, rows)).toEqual(expected);
    },
  );

  it('scores chunks split over the scoring threads to the same bits, models switching between chunks', () => {
    const models = [1, 7, 8, 9, 10, 11].map((seed) =>
      createModel('gbdt', { threads: 1, seed: 0, nTrees: 20, maxDepth: 4 }).fit(createDataset(data(1000, seed))),
    );
    const test = data(5000, 12, 0.1);
    // Six forests take turns, more than a worker keeps, so some are handed over again.
    for (const round of [0, 1])
      for (const [m, model] of models.entries()) {
        const expected = Float64Array.from({ length: 5000 }, (_, r) =>
          model.predictRow(test.values.subarray(r * 5, r * 5 + 5)),
        );
        const scorer = columnScorer(model);
        const columns = columnsOf(test.values, 5, test.featureNames, scorer.features);
        // A full chunk, a partial block, too few rows to split, more than a chunk (scored alone).
        for (const rows of [2048, 1000 + 37 * m + round, 300, 5000]) {
          const out = new Float64Array(rows + 3).fill(-1);
          scorer.scoreInto(columns, rows, out, 'always');
          expect(out.subarray(0, rows)).toEqual(expected.subarray(0, rows));
          expect([...out.subarray(rows)]).toEqual([-1, -1, -1]);
        }
      }
  });

  it('scores to the same bits whichever way the chooser takes, chunk after chunk (when-faster)', () => {
    const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 20, maxDepth: 4 }).fit(
      createDataset(data(1000, 21)),
    );
    const test = data(2048, 22, 0.1);
    const expected = Float64Array.from({ length: 2048 }, (_, r) =>
      model.predictRow(test.values.subarray(r * 5, r * 5 + 5)),
    );
    // The generated JavaScript: a forest scored by SIMD is never split under `when-faster`.
    const scorer = columnScorer(model, { simd: false });
    const columns = columnsOf(test.values, 5, test.featureNames, scorer.features);
    for (let chunk = 0; chunk < 20; chunk++) {
      const rows = chunk % 3 === 0 ? 2048 : 600 + chunk;
      const out = new Float64Array(rows).fill(-1);
      scorer.scoreInto(columns, rows, out, 'when-faster');
      expect(out).toEqual(expected.subarray(0, rows));
    }
  });

  it('chooses alone or split by the time per row each took, trying the slower again every 8 chunks', () => {
    const chooser = new SplitChooser();
    expect(chooser.next()).toBe(false); // alone is measured first
    chooser.record(false, 2, 1000);
    expect(chooser.next()).toBe(true); // then the split
    chooser.record(true, 1, 1000);
    const ways: boolean[] = [];
    for (let chunk = 0; chunk < 16; chunk++) {
      const split = chooser.next();
      ways.push(split);
      chooser.record(split, split ? 1 : 2, 1000);
    }
    // Split is faster: every chunk but each 8th, which tries alone again.
    expect(ways.map((split) => (split ? 's' : 'a')).join('')).toBe('sssssssasssssssa');
    // The split becomes slow (a loaded machine): its mean passes alone's and alone takes over.
    for (let chunk = 0; chunk < 3; chunk++) chooser.record(true, 10, 1000);
    expect(chooser.means().split).toBeGreaterThan(chooser.means().alone);
    const after: boolean[] = [];
    for (let chunk = 0; chunk < 8; chunk++) {
      const split = chooser.next();
      after.push(split);
      chooser.record(split, split ? 10 : 2, 1000);
    }
    expect(after.filter(Boolean)).toHaveLength(1);
    // Nonsense timings are ignored.
    chooser.record(false, Number.NaN, 1000);
    chooser.record(false, 1, 0);
    expect(chooser.means().alone).toBeCloseTo(0.002, 12);
  });

  it('predicts a row-major matrix as the model does, a GBDT by its compiled forest, others by themselves', () => {
    const train = createDataset(data(2000, 13));
    const test = data(4500, 14);
    const matrix = createFeatureMatrix({ featureNames: test.featureNames, values: test.values });
    for (const model of [
      createModel('gbdt', { threads: 1, seed: 0, nTrees: 30, maxDepth: 4 }).fit(train),
      createModel('logreg', {}).fit(train),
    ])
      expect(predictMatrix(model, matrix)).toEqual(model.predictProba(matrix));
    const other = createFeatureMatrix({ featureNames: ['a', 'b', 'c', 'constant', 'other'], values: test.values });
    const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 3, maxDepth: 2 }).fit(train);
    expect(() => predictMatrix(model, other)).toThrow(/other|noise/);
  });

  it('refuses columns that do not match its features', () => {
    const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 5, maxDepth: 2 }).fit(createDataset(data(500, 1)));
    const scorer = columnScorer(model);
    const columns = scorer.features.map(() => new Float64Array(10));
    expect(() => scorer.score(columns.slice(1), 10)).toThrow(/needs \d+ columns of at least 10 rows/);
    expect(() => scorer.score(columns, 11)).toThrow(/at least 11 rows/);
  });

  it('reuses the compiled trees of a model scored lately, and compiles a different model anew', () => {
    const first = createModel('gbdt', { threads: 1, seed: 0, nTrees: 10, maxDepth: 3 }).fit(
      createDataset(data(800, 1)),
    );
    const other = createModel('gbdt', { threads: 1, seed: 0, nTrees: 10, maxDepth: 3 }).fit(
      createDataset(data(800, 5)),
    );
    const scorer = columnScorer(first);
    // The same model loaded again (a new object from the same JSON) gets the same compiled scorer.
    expect(columnScorer(loadModel(JSON.parse(JSON.stringify(first.toJSON()))))).toBe(scorer);
    const otherScorer = columnScorer(other);
    expect(otherScorer).not.toBe(scorer);
    const test = data(600, 6);
    for (const [model, compiled] of [
      [first, scorer],
      [other, otherScorer],
    ] as const)
      expect(compiled.score(columnsOf(test.values, 5, test.featureNames, compiled.features), 600)).toEqual(
        model.predictProba(createFeatureMatrix({ featureNames: test.featureNames, values: test.values })),
      );
    // Only the last few models are kept: after five others, the first is compiled anew.
    for (let seed = 10; seed < 15; seed++)
      columnScorer(
        createModel('gbdt', { threads: 1, seed: 0, nTrees: 3, maxDepth: 2 }).fit(createDataset(data(300, seed))),
      );
    expect(columnScorer(first)).not.toBe(scorer);
  });

  it('falls back to the model itself for a logistic regression', () => {
    const train = data(1000, 3);
    const model = createModel('logreg', {}).fit(createDataset(train));
    const scorer = columnScorer(model);
    expect(scorer.features).toEqual(train.featureNames);
    const scores = scorer.score(columnsOf(train.values, 5, train.featureNames, scorer.features), 1000);
    expect(scores).toEqual(
      model.predictProba(createFeatureMatrix({ featureNames: train.featureNames, values: train.values })),
    );
  });
});
