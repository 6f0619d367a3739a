import { describe, expect, it } from 'vitest';
import { transposeBins } from '../src/kernels/binning.kernel.js';
import { HIST_SLICE, HIST_WORD_SIZE, accumulateHistogram, unpackHistograms } from '../src/kernels/histogram.kernel.js';
import { planPacking } from '../src/histogram.packing.js';
import { binMatrix, createDataset, createFeatureMatrix, createRandom, fitGbdtProfiled } from '../src/index.js';
import { bernoulli } from './helpers.js';

/** Rows of features with the given numbers of distinct values (0, 1, … k-1, skewed towards 0 like counts), plus one continuous feature. */
function mixedValues(
  nRows: number,
  cardinalities: readonly number[],
  seed: number,
): { values: Float64Array; nFeatures: number } {
  const random = createRandom(seed);
  const nFeatures = cardinalities.length + 1;
  const values = new Float64Array(nRows * nFeatures);
  for (let r = 0; r < nRows; r++) {
    cardinalities.forEach((k, f) => {
      const u = random.nextFloat();
      values[r * nFeatures + f] = u < 0.6 ? 0 : Math.floor(random.nextFloat() * k);
    });
    values[r * nFeatures + cardinalities.length] = random.nextFloat();
  }
  return { values, nFeatures };
}

describe('packing features into the bytes of a binned row', () => {
  it.each([
    { name: 'eight booleans share one byte', nBins: [2, 2, 2, 2, 2, 2, 2, 2], slots: 1 },
    { name: 'a 256-bin feature keeps a byte to itself', nBins: [256, 2, 2], slots: 2 },
    { name: 'a 64-bin feature takes two booleans', nBins: [64, 2, 2, 2], slots: 2 },
    { name: 'a 16-bin and a 15-bin feature share a byte', nBins: [16, 15], slots: 1 },
    { name: 'two 17-bin features do not (289 codes)', nBins: [17, 17], slots: 2 },
    { name: 'a one-bin feature gets no byte', nBins: [1, 200], slots: 1 },
  ])('$name', ({ nBins, slots }) => {
    const plan = planPacking(nBins);
    expect(plan.nSlots).toBe(slots);
    expect(plan.words).toBe(Math.ceil(slots / 4));
    for (let s = 0; s < plan.nSlots; s++) {
      // The features of a slot have distinct digits of a code below 256.
      const members = nBins.map((_, f) => f).filter((f) => plan.slotOf[f] === s);
      const multipliers = members.map((f) => plan.mult[f]!).sort((a, b) => a - b);
      let product = 1;
      for (const m of multipliers) {
        const f = members.find((g) => plan.mult[g] === m)!;
        expect(m).toBe(product);
        product *= nBins[f]!;
      }
      expect(product).toBeLessThanOrEqual(256);
      for (const f of members) expect(plan.span[f]).toBe(product);
    }
    nBins.forEach((nb, f) => {
      if (nb <= 1) expect(plan.slotOf[f]).toBe(-1);
    });
  });

  it('lays out one byte per feature, in feature order, when packing is off', () => {
    const plan = planPacking([2, 256, 2, 1, 30], false);
    expect([...plan.slotOf]).toEqual([0, 1, 2, 3, 4]);
    expect([...plan.mult]).toEqual([1, 1, 1, 1, 1]);
    expect([...plan.histAt]).toEqual([0, 1, 2, 3, 4].map((s) => s * HIST_SLICE));
    expect(plan.histLength).toBe(2 * HIST_WORD_SIZE);
  });

  it.each([
    { name: 'most rows, features in feature order', keep: (r: number) => r % 3 !== 1, bySlot: false },
    { name: 'most rows, features by slot', keep: (r: number) => r % 3 !== 1, bySlot: true },
    {
      name: 'few rows (a deep node: few codes used), features by slot',
      keep: (r: number) => r % 97 === 5,
      bySlot: true,
    },
    { name: 'one row, features by slot', keep: (r: number) => r === 17, bySlot: true },
  ])('gives every feature the same histogram packed as unpacked ($name)', ({ keep, bySlot }) => {
    const cardinalities = [2, 3, 2, 7, 12, 2, 2, 40, 5, 2, 2, 2];
    const nRows = 5000;
    const { values, nFeatures } = mixedValues(nRows, cardinalities, 3);
    const binned = binMatrix(
      createFeatureMatrix({ featureNames: Array.from({ length: nFeatures }, (_, f) => `x${f}`), values }),
      { maxBins: 256 },
    );
    const plan = planPacking(binned.nBins);
    expect(plan.nSlots).toBeLessThan(nFeatures);
    const stride = plan.words * 4;
    const bins = new Uint8Array(nRows * stride).fill(255);
    transposeBins(binned.cols, nRows, nFeatures, bins, stride, plan.byteOffset, plan.mult, 0, nRows);
    // Integer "gradients" and a scattered subset of rows, as a node below the root sees them.
    const random = createRandom(4);
    const packed = Float64Array.from({ length: nRows }, () => Math.floor(random.nextFloat() * 1000) - 300);
    const rows = Uint32Array.from({ length: nRows }, (_, r) => r).filter(keep);
    const packedHist = new Float64Array(plan.histLength);
    accumulateHistogram(
      new Uint32Array(bins.buffer),
      plan.words,
      packed,
      rows,
      0,
      rows.length,
      packedHist,
      0,
      plan.words,
      // Only the last word's bytes that hold slots, as the lanes accumulate it.
      1 + Math.max(4 * plan.words - 4, ...plan.byteOffset) - (4 * plan.words - 4),
    );
    const features = Int32Array.from({ length: nFeatures }, (_, f) => f);
    if (bySlot) features.sort((a, b) => plan.slotOf[a]! - plan.slotOf[b]! || a - b);
    unpackHistograms(packedHist, features, 0, nFeatures, plan.slotOf, plan.mult, plan.span, binned.nBins, plan.histAt);
    for (let f = 0; f < nFeatures; f++) {
      const expected = new Float64Array(binned.nBins[f]!);
      for (const r of rows) expected[binned.cols[f * nRows + r]!]! += packed[r]!;
      expect([...packedHist.subarray(plan.histAt[f]!, plan.histAt[f]! + binned.nBins[f]!)]).toEqual([...expected]);
    }
  });

  it('learns the same trees with packed bins as with one byte per feature, on one to three threads', () => {
    const nRows = 6000;
    const cardinalities = [2, 2, 9, 3, 2, 20, 2, 5, 2, 2, 60, 2];
    const { values, nFeatures } = mixedValues(nRows, cardinalities, 8);
    const random = createRandom(9);
    const labels = Array.from({ length: nRows }, (_, r) => {
      const x = values.subarray(r * nFeatures, (r + 1) * nFeatures);
      return bernoulli(
        x[0]! - x[1]! + 0.3 * x[2]! - 0.1 * x[5]! + (x[4]! === x[6]! ? 1 : -1) + 2 * x[nFeatures - 1]!,
        () => random.nextFloat(),
      );
    });
    const data = createDataset({ featureNames: Array.from({ length: nFeatures }, (_, f) => `x${f}`), values, labels });
    const params = { nTrees: 12, maxDepth: 5, learningRate: 0.3, colsampleByTree: 0.8, seed: 2 };
    const unpacked = JSON.stringify(fitGbdtProfiled(data, { ...params, threads: 1 }, { packBins: false }).model);
    for (const threads of [1, 2, 3]) {
      const fit = fitGbdtProfiled(data, { ...params, threads }, { awaitLanes: true });
      expect(fit.profile.threads).toBe(threads);
      expect(JSON.stringify(fit.model)).toBe(unpacked);
    }
    expect(
      JSON.stringify(fitGbdtProfiled(data, { ...params, threads: 2 }, { packBins: false, exactThreads: true }).model),
    ).toBe(unpacked);
  });

  it('gives identical trees on one to three threads when deep trees need more histograms than the arena first holds (it grows)', () => {
    const nRows = 4000;
    const { values, nFeatures } = mixedValues(nRows, [2, 7, 2, 30, 3], 12);
    const random = createRandom(13);
    const labels = Array.from({ length: nRows }, (_, r) =>
      bernoulli(3 * values[r * nFeatures + nFeatures - 1]! - values[r * nFeatures + 1]! * 0.2, () =>
        random.nextFloat(),
      ),
    );
    const data = createDataset({ featureNames: Array.from({ length: nFeatures }, (_, f) => `x${f}`), values, labels });
    // Depth 10: up to 2^10 live histograms, past the 64 the arena reserves at the start.
    const params = { nTrees: 3, maxDepth: 10, minChildWeight: 0, learningRate: 0.5 };
    const one = fitGbdtProfiled(data, { ...params, threads: 1 }).model;
    expect(Math.max(...one.toJSON().trees.map((t) => t.feature.length))).toBeGreaterThan(300);
    for (const threads of [2, 3]) {
      const fit = fitGbdtProfiled(data, { ...params, threads }, { awaitLanes: true });
      expect(fit.profile.threads).toBe(threads);
      expect(JSON.stringify(fit.model)).toBe(JSON.stringify(one));
    }
  });
});
