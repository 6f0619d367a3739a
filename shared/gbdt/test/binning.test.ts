import { describe, expect, it } from 'vitest';
import { binMatrix, binOf, computeCuts, createFeatureMatrix, createRandom } from '../src/index.js';
import { computeCuts as cutsKernel, distinctCuts, fillBins } from '../src/kernels/binning.kernel.js';
import { fastExp } from '../src/fast-math.js';
import { sortFloat64 } from '../src/float.sort.js';

describe('quantile binning', () => {
  it('gives every distinct value its own bin when there are few, cutting at the values themselves', () => {
    const cuts = computeCuts(Float64Array.of(0, 0, 1, 1, 1, 5, 9), 256);
    expect([...cuts]).toEqual([0, 1, 5]);
    expect([0, 0.5, 1, 3, 5, 9, 100].map((v) => binOf(cuts, v))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('makes at most maxBins roughly equal-frequency bins of a continuous feature', () => {
    const random = createRandom(3);
    const values = Float64Array.from({ length: 10_000 }, () => random.nextFloat());
    const cuts = computeCuts(sortFloat64(values), 16);
    expect(cuts.length).toBe(15);
    const counts = new Array(16).fill(0);
    for (const v of values) counts[binOf(cuts, v)]++;
    for (const c of counts) expect(Math.abs(c - 625)).toBeLessThan(30);
  });

  it('cuts where XGBoost hist does: ranks spaced above a heavy smallest value, so a spike of zeros wastes no bins', () => {
    // 700 zeros, then 700 .. 999 once each: XGBoost's pruning targets ranks 700 + k * 299 / 8
    // (k = 1 .. 7) and takes the value whose rank range holds each (737 for 737.4, …); it sends
    // x < 737 left, which is x <= 736 here.
    const values = Float64Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i));
    expect([...computeCuts(sortFloat64(values), 8)]).toEqual([736, 773, 811, 848, 885, 923, 960]);
    // One more distinct value than bins: every value but the last two is a cut.
    const few = Float64Array.from({ length: 90 }, (_, i) => i % 9);
    expect([...computeCuts(sortFloat64(few), 8)]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('stores row-major bins (padded to words) and the same bins column-major', () => {
    const matrix = createFeatureMatrix({
      featureNames: ['a', 'b', 'c', 'd', 'e'],
      values: [
        [1, 10, 0, 3, 7],
        [2, 10, 1, 3, 8],
        [3, 20, 0, 4, 9],
      ],
    });
    const binned = binMatrix(matrix, { maxBins: 256 });
    expect(binned.stride).toBe(8);
    expect([...binned.nBins]).toEqual([3, 2, 2, 2, 3]);
    for (let r = 0; r < 3; r++) {
      for (let f = 0; f < 5; f++) expect(binned.bins[r * 8 + binned.byteOffset[f]!]).toBe(binned.cols[f * 3 + r]);
    }
    expect([...binned.cols.subarray(0, 3)]).toEqual([0, 1, 2]);
  });
});

describe('binning kernels', () => {
  const random = createRandom(21);
  const sorted = (values: Float64Array): Float64Array => sortFloat64(values);

  it.each([
    { name: 'booleans', values: Float64Array.from({ length: 3000 }, () => (random.nextFloat() < 0.8 ? 0 : 1)) },
    {
      name: 'counts with a spike of zeros and -0',
      values: Float64Array.from({ length: 3000 }, (_, i) =>
        i % 5 === 0 ? -0 : random.nextFloat() < 0.6 ? 0 : Math.floor(random.nextFloat() * 40) - 3,
      ),
    },
    {
      name: 'exactly 256 distinct values',
      values: Float64Array.from({ length: 3000 }, (_, i) => ((i * 37) % 256) * 0.25 - 10),
    },
    { name: 'one value', values: new Float64Array(50).fill(7) },
  ])('finds the cuts of a feature with few distinct values without sorting, as the sort does ($name)', ({ values }) => {
    const fromSort = new Float64Array(256);
    const fromHash = new Float64Array(256);
    const nCuts = cutsKernel(sorted(values), values.length, 256, fromSort, 0);
    expect(distinctCuts(values, values.length, 256, fromHash, 0)).toBe(nCuts);
    expect([...fromHash.subarray(0, nCuts)]).toEqual([...fromSort.subarray(0, nCuts)]);
  });

  it('gives up (-1) on a feature with more distinct values than bins', () => {
    const values = Float64Array.from({ length: 3000 }, (_, i) => i % 257);
    expect(distinctCuts(values, values.length, 256, new Float64Array(256), 0)).toBe(-1);
    expect(distinctCuts(values, values.length, 300, new Float64Array(300), 0)).toBe(256);
  });

  it.each([0, 1, 2, 3, 7, 8, 100, 127, 128, 200, 255])('bins values like a binary search over %i cuts', (nCuts) => {
    const cuts = Float64Array.from({ length: nCuts }, (_, i) => i * 2 + 0.5);
    const table = new Float64Array(512);
    table.set(cuts, 256);
    const values = Float64Array.from({ length: 2000 }, (_, i) =>
      i % 3 === 0 ? Math.floor(random.nextFloat() * (2 * nCuts + 4)) - 1.5 : random.nextFloat() * (2 * nCuts + 4) - 2,
    );
    const out = new Uint8Array(2100).fill(99);
    fillBins(values, values.length, table, 256, nCuts, out, 100);
    expect([...out.subarray(0, 100)].every((b) => b === 99)).toBe(true);
    for (let r = 0; r < values.length; r++) expect(out[100 + r]).toBe(binOf(cuts, values[r]!));
  });
});

describe('numeric helpers', () => {
  it('radix-sorts doubles exactly like a numeric sort, negatives, zeros and float32 data included', () => {
    const random = createRandom(9);
    const cases = [
      Float64Array.from({ length: 5000 }, () => (random.nextFloat() - 0.5) * 1e6),
      Float64Array.from({ length: 5000 }, () => Math.fround(random.nextFloat())),
      Float64Array.from({ length: 5000 }, (_, i) => (i % 7) - 3),
      Float64Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? -0 : 0) + (i % 3) * Number.MIN_VALUE),
    ];
    for (const values of cases)
      expect([...sortFloat64(values)]).toEqual([...values.slice().sort()].map((v) => (v === 0 ? 0 : v)));
  });

  it('computes exp to within 1e-14 relative error over the range a sigmoid needs', () => {
    for (let x = -700; x <= 700; x += 0.37) {
      const exact = Math.exp(x);
      expect(Math.abs(fastExp(x) - exact) / exact).toBeLessThan(1e-13);
    }
    expect(fastExp(0)).toBe(1);
    expect(fastExp(800)).toBe(Infinity);
    expect(fastExp(-800)).toBe(0);
  });
});
