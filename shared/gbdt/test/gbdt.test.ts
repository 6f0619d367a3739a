import { describe, expect, it } from 'vitest';
import {
  GbdtModel,
  createDataset,
  createFeatureMatrix,
  fitGbdt,
  fitGbdtProfiled,
  loadModel,
  quantisationFor,
  rocAuc,
  selectRows,
} from '../src/index.js';
import { THREADED_MIN_CELLS, resolveThreads } from '../src/gbdt.trainer.js';
import { bernoulli, syntheticDataset, thrown } from './helpers.js';

describe('GBDT split finding', () => {
  it('splits on the only informative feature, at the value that separates the classes', () => {
    // x1 is noise; the label is 1 exactly when x0 > 3.
    const rows = [
      [1, 7],
      [2, 3],
      [3, 9],
      [4, 1],
      [5, 5],
      [6, 2],
      [1, 4],
      [2, 8],
      [3, 2],
      [4, 6],
      [5, 9],
      [6, 3],
    ];
    const data = createDataset({
      featureNames: ['x0', 'x1'],
      values: rows,
      labels: rows.map((r) => (r[0]! > 3 ? 1 : 0)),
    });
    const model = fitGbdt(data, { nTrees: 1, maxDepth: 1, learningRate: 1, lambda: 0, minChildWeight: 0 });
    const tree = model.toJSON().trees[0]!;
    expect(tree.feature[0]).toBe(0);
    expect(tree.threshold[0]).toBe(3);
    // Leaves move the two sides in opposite directions.
    expect(tree.value[tree.left[0]!]!).toBeLessThan(0);
    expect(tree.value[tree.right[0]!]!).toBeGreaterThan(0);
    expect(model.featureImportance()[0]).toMatchObject({ feature: 'x0', splits: 1 });
    expect(model.featureImportance()[1]).toMatchObject({ feature: 'x1', splits: 0, gain: 0 });
  });

  it('computes the XGBoost gain and leaf values by hand on a two-row split', () => {
    // Base score = logit(0.5) = 0, so every g = p − y = ±0.5 and h = 0.25.
    const data = createDataset({ featureNames: ['x'], values: [[0], [0], [1], [1]], labels: [0, 0, 1, 1] });
    const model = fitGbdt(data, { nTrees: 1, maxDepth: 1, learningRate: 0.3, lambda: 1, minChildWeight: 0 });
    const tree = model.toJSON().trees[0]!;
    // G = 0, H = 1; GL = 1 (two rows of +0.5), HL = 0.5; GR = −1, HR = 0.5. The split search runs
    // on gradients quantised to 16 bits here, so the gain is exact to about 1e-4; leaf values use
    // the exact gradients.
    const gain = 1 / (0.5 + 1) + 1 / (0.5 + 1) - 0;
    expect(tree.gain[0]).toBeCloseTo(gain, 3);
    expect(tree.value[tree.left[0]!]).toBeCloseTo((-1 / 1.5) * 0.3, 12);
    expect(tree.value[tree.right[0]!]).toBeCloseTo((1 / 1.5) * 0.3, 12);
    expect(model.baseScore).toBe(0);
  });

  it('does not split when gamma exceeds every gain, or a child would be lighter than minChildWeight', () => {
    const data = createDataset({ featureNames: ['x'], values: [[0], [0], [1], [1]], labels: [0, 0, 1, 1] });
    expect(fitGbdt(data, { nTrees: 1, maxDepth: 3, gamma: 10 }).toJSON().trees[0]!.feature).toEqual([-1]);
    expect(fitGbdt(data, { nTrees: 1, maxDepth: 3, minChildWeight: 0.6 }).toJSON().trees[0]!.feature).toEqual([-1]);
  });

  it('starts from the prior log-odds of the labels', () => {
    const data = createDataset({ featureNames: ['x'], values: [[0], [1], [2], [3]], labels: [0, 0, 0, 1] });
    expect(fitGbdt(data, { nTrees: 1 }).baseScore).toBeCloseTo(Math.log(0.25 / 0.75), 12);
  });

  it('learns an interaction (XOR) that no single split can', () => {
    const data = syntheticDataset(2000, 4, (x) => (x[0]! > 0.5 !== x[1]! > 0.5 ? 1 : 0));
    const model = fitGbdt(data, { nTrees: 20, maxDepth: 3, learningRate: 0.3 });
    const probabilities = model.predictProba(data);
    expect(rocAuc(data.labels, probabilities)).toBeGreaterThan(0.99);
  });
});

describe('GBDT determinism', () => {
  const data = syntheticDataset(
    3000,
    9,
    (x, u) => bernoulli(3 * (x[0]! - 0.5) + 2 * Math.sin(6 * x[1]!) - 2 * x[2]! * x[3]!, u),
    5,
  );
  const params = { nTrees: 15, maxDepth: 4, subsample: 0.8, colsampleByTree: 0.6, seed: 11 };

  it('gives identical JSON for two fits with the same data, parameters and seed', () => {
    expect(JSON.stringify(fitGbdt(data, params))).toBe(JSON.stringify(fitGbdt(data, params)));
  });

  /** The model JSON of a fit on `threads` lanes, checking that it really ran on that many (workers started). */
  const onLanes = (given: Record<string, number>, threads: number): string => {
    const { model, profile } = fitGbdtProfiled(data, { ...given, threads }, { awaitLanes: true });
    expect(profile.threads).toBe(threads);
    // Awaited workers join the first command; one lane has none to wait for.
    if (threads === 1) expect(profile.lanesJoined).toBe(0);
    else expect(profile.lanesJoined).toBeGreaterThan(0);
    expect(profile.lanesJoined).toBeLessThanOrEqual(profile.binning);
    return JSON.stringify(model);
  };

  it('gives identical JSON on one, two and three threads', () => {
    const one = onLanes(params, 1);
    expect(onLanes(params, 2)).toBe(one);
    expect(onLanes(params, 3)).toBe(one);
  });

  it('gives identical JSON on one, two and three threads for deep trees on every row (no subsample: the fused gradient pass)', () => {
    const deep = { nTrees: 8, maxDepth: 6, seed: 11 };
    const one = onLanes(deep, 1);
    expect(onLanes(deep, 2)).toBe(one);
    expect(onLanes(deep, 3)).toBe(one);
  });

  it('gives identical JSON on one, two and three threads when lanes share the rows of large nodes', () => {
    // 20,000 rows: the root's and the first levels' smaller children are split between lanes,
    // each building a partial histogram of its rows, summed after a barrier.
    const large = syntheticDataset(
      20_000,
      6,
      (x, u) => bernoulli(3 * (x[0]! - 0.5) + 2 * Math.sin(6 * x[1]!) - 2 * x[2]! * x[3]!, u),
      7,
    );
    const fit = (given: Record<string, number>, threads: number): string => {
      const { model, profile } = fitGbdtProfiled(large, { ...given, threads }, { awaitLanes: true });
      expect(profile.threads).toBe(threads);
      return JSON.stringify(model);
    };
    // Every row (the fused gradient pass), and a subsample (rows given, margins updated apart).
    const cases: Record<string, number>[] = [
      { nTrees: 4, maxDepth: 6, seed: 3 },
      { nTrees: 3, maxDepth: 5, subsample: 0.7, seed: 5 },
    ];
    for (const given of cases) {
      const one = fit(given, 1);
      expect(fit(given, 2)).toBe(one);
      expect(fit(given, 3)).toBe(one);
    }
  });

  it('gives the model of one lane when a worker joins part-way through the fit (lanes not awaited)', () => {
    const many = { nTrees: 40, maxDepth: 6, seed: 11 };
    expect(JSON.stringify(fitGbdtProfiled(data, { ...many, threads: 2 }, { exactThreads: true }).model)).toBe(
      onLanes(many, 1),
    );
  });

  it('gives the model of one lane when binning runs in rounds of features while a worker starts', () => {
    // 30 features: three rounds of binning, the first (at least) on the calling thread alone.
    const wide = syntheticDataset(3000, 30, (x, u) => bernoulli(3 * (x[0]! - x[17]!) + 2 * x[29]!, u), 5);
    const shallow = { nTrees: 3, maxDepth: 3, seed: 2 };
    const one = JSON.stringify(fitGbdtProfiled(wide, { ...shallow, threads: 1 }).model);
    expect(JSON.stringify(fitGbdtProfiled(wide, { ...shallow, threads: 2 }, { exactThreads: true }).model)).toBe(one);
    expect(JSON.stringify(fitGbdtProfiled(wide, { ...shallow, threads: 2 }, { awaitLanes: true }).model)).toBe(one);
  });

  it('gives the same model with unit weights as without weights (the unweighted gradient loop matches the general one)', () => {
    const unit = createDataset({
      featureNames: data.featureNames,
      values: data.values,
      labels: data.labels,
      weights: new Float64Array(data.nRows).fill(1),
    });
    const deep = { nTrees: 8, maxDepth: 6, seed: 11 };
    expect(JSON.stringify(fitGbdt(unit, deep))).toBe(JSON.stringify(fitGbdt(data, deep)));
  });

  it('gives a different model for a different seed when sampling', () => {
    expect(JSON.stringify(fitGbdt(data, { ...params, seed: 12 }))).not.toBe(JSON.stringify(fitGbdt(data, params)));
  });

  it('records parameters without the thread count, which does not change the model', () => {
    const json = fitGbdt(data, { ...params, threads: 2 }).toJSON();
    expect(json.params).not.toHaveProperty('threads');
    expect(json.params).toMatchObject({ nTrees: 15, maxDepth: 4, subsample: 0.8, colsampleByTree: 0.6, seed: 11 });
  });
});

describe('GBDT serialization and prediction', () => {
  const data = syntheticDataset(2000, 5, (x, u) => bernoulli(4 * (x[0]! - 0.5) * (x[1]! - 0.5) * 4 + x[2]!, u), 9);
  const model = fitGbdt(data, { nTrees: 25, maxDepth: 4 });

  it('round-trips through JSON text with identical predictions', () => {
    const restored = loadModel(JSON.parse(JSON.stringify(model)));
    expect(restored).toBeInstanceOf(GbdtModel);
    expect([...restored.predictProba(data)]).toEqual([...model.predictProba(data)]);
    expect(JSON.stringify(restored)).toBe(JSON.stringify(model));
  });

  it('predicts a single row like the batch', () => {
    const batch = model.predictProba(data);
    for (const r of [0, 17, 1999]) {
      expect(model.predictRow(data.values.subarray(r * 5, r * 5 + 5))).toBe(batch[r]);
    }
  });

  it('applies raw thresholds to values never seen in training (between and beyond cuts)', () => {
    const unseen = createFeatureMatrix({
      featureNames: data.featureNames,
      values: [
        [-5, 0.123456, 7, 0.5, 0.5],
        [2, -1, 0.3333, 9, -9],
      ],
    });
    const p = model.predictProba(unseen);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('agrees with the training-time margins: fitting on a subset and predicting the rest works', () => {
    const trainRows = Array.from({ length: 1500 }, (_, i) => i);
    const holdoutRows = Array.from({ length: 500 }, (_, i) => 1500 + i);
    const fitted = fitGbdt(selectRows(data, trainRows), { nTrees: 25, maxDepth: 4 });
    const holdout = selectRows(data, holdoutRows);
    expect(rocAuc(holdout.labels, fitted.predictProba(holdout))).toBeGreaterThan(0.7);
  });

  it('refuses a matrix whose features are missing or reordered', () => {
    const reordered = createFeatureMatrix({ featureNames: ['x1', 'x0', 'x2', 'x3', 'x4'], values: [[1, 2, 3, 4, 5]] });
    const error = thrown(() => model.predictProba(reordered));
    expect(error.code).toBe('TRAINER.FEATURE_MISMATCH');
  });

  it.each([
    ['a wrong format', (j: Record<string, unknown>) => ({ ...j, format: 'other' })],
    [
      'a child pointing backwards (a cycle)',
      (j: Record<string, unknown>) => {
        const trees = structuredClone(j.trees) as { left: number[]; feature: number[] }[];
        const internal = trees[0]!.feature.findIndex((f) => f >= 0);
        trees[0]!.left[internal] = 0;
        return { ...j, trees };
      },
    ],
    [
      'a split on an unknown feature',
      (j: Record<string, unknown>) => {
        const trees = structuredClone(j.trees) as { feature: number[] }[];
        trees[0]!.feature[0] = 99;
        return { ...j, trees };
      },
    ],
    [
      'a non-finite threshold',
      (j: Record<string, unknown>) => {
        const trees = structuredClone(j.trees) as { threshold: (number | null)[] }[];
        trees[0]!.threshold[0] = null;
        return { ...j, trees };
      },
    ],
  ])('rejects model JSON with %s', (_, damage) => {
    const json = JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
    expect(thrown(() => GbdtModel.fromJSON(damage(json))).code).toBe('TRAINER.INVALID_MODEL_JSON');
  });
});

describe('GBDT parameters and weights', () => {
  const data = syntheticDataset(200, 3, (x) => (x[0]! > 0.5 ? 1 : 0));

  it('runs small data on one lane whatever the threads asked, unless told exactly; large data on at most the threads asked', () => {
    const small = THREADED_MIN_CELLS / 50 - 1;
    expect(resolveThreads(2, small, 50)).toBe(1);
    expect(resolveThreads(0, small, 50)).toBe(1);
    expect(resolveThreads(3, small, 50, true)).toBe(3);
    expect(resolveThreads(2, THREADED_MIN_CELLS / 32, 32)).toBe(2);
    expect(resolveThreads(1, THREADED_MIN_CELLS, 43)).toBe(1);
    expect(resolveThreads(0, THREADED_MIN_CELLS, 43)).toBeGreaterThanOrEqual(1);
    expect(fitGbdtProfiled(data, { nTrees: 2, threads: 2 }).profile.threads).toBe(1);
  });

  it.each([
    ['maxDepth', 0],
    ['maxDepth', 2.5],
    ['learningRate', 0],
    ['maxBins', 300],
    ['subsample', 0],
    ['lambda', -1],
    ['nTrees', Number.NaN],
  ])('rejects %s = %s naming the parameter', (name, value) => {
    const error = thrown(() => fitGbdt(data, { [name]: value }));
    expect(error.code).toBe('TRAINER.INVALID_PARAM');
    expect(error.message).toContain(name);
  });

  it('rejects an unknown parameter (a typo would otherwise train with a default)', () => {
    const error = thrown(() => fitGbdt(data, { max_depth: 3 }));
    expect(error.code).toBe('TRAINER.INVALID_PARAM');
    expect(error.message).toContain('max_depth');
  });

  it('gives zero-weight rows no influence', () => {
    // Duplicate the data with flipped labels but weight 0: the model must not change.
    const n = data.nRows;
    const values = new Float64Array(2 * n * 3);
    values.set(data.values);
    values.set(data.values, n * 3);
    const labels = new Uint8Array(2 * n);
    labels.set(data.labels);
    for (let r = 0; r < n; r++) labels[n + r] = 1 - data.labels[r]!;
    const weights = new Float64Array(2 * n);
    weights.fill(1, 0, n);
    const weighted = createDataset({ featureNames: data.featureNames, values, labels, weights });
    const a = fitGbdt(data, { nTrees: 5, maxDepth: 2 }).predictProba(data);
    const b = fitGbdt(weighted, { nTrees: 5, maxDepth: 2 }).predictProba(data);
    for (let r = 0; r < n; r++) expect(b[r]).toBeCloseTo(a[r]!, 9);
  });

  it('trains on a constant feature and a one-class training set without failing', () => {
    const constant = createDataset({ featureNames: ['c'], values: [[1], [1], [1]], labels: [1, 1, 1] });
    const model = fitGbdt(constant, { nTrees: 3 });
    expect(model.toJSON().trees.every((t) => t.feature.length === 1)).toBe(true);
    expect(model.predictRow([1])).toBeGreaterThan(0.99);
  });
});

describe('GBDT gradient quantisation', () => {
  it('keeps every histogram sum an exact integer below 2^53 for the row count', () => {
    for (const n of [10, 128_297, 1_000_000, 4_000_000]) {
      const q = quantisationFor(n, 1);
      const gLevels = Math.round(1 / q.gScale);
      const hLevels = Math.round(0.25 / q.hScale);
      // The largest |packed sum| over n rows must stay below 2^53, and hessian sums below the shift.
      expect(n * gLevels * q.shift + n * hLevels).toBeLessThan(2 ** 53);
      expect(n * hLevels).toBeLessThan(q.shift);
      expect(q.gradientBits + q.hessianBits).toBeGreaterThanOrEqual(6);
    }
    expect(quantisationFor(128_297, 1)).toMatchObject({ gradientBits: 10, hessianBits: 9 });
  });

  it('refuses more rows than exact integer histograms can hold', () => {
    expect(thrown(() => quantisationFor(2 ** 25, 1)).code).toBe('TRAINER.TRAINING_SET_TOO_LARGE');
  });
});
