import { describe, expect, it } from 'vitest';
import { computeGradients } from '../src/kernels/gradient.kernel.js';
import {
  HIST_SLICE,
  HIST_WORD_SIZE,
  accumulateHistogram,
  addHistogram,
  clearHistogram,
  subtractHistogram,
  unpackHistograms,
} from '../src/kernels/histogram.kernel.js';
import { closeLeaf, partitionRows, splitIntoLeaves } from '../src/kernels/partition.kernel.js';
import { planPacking } from '../src/histogram.packing.js';
import { LANE_SCRATCH, laneKernels } from '../src/lanes/lane.kernels.js';
import { computeCuts, distinctCuts, fillBins, sortFloat64, transposeBins } from '../src/kernels/binning.kernel.js';
import { EXP_CONSTANTS, EXP_POW2_FRAC, EXP_POW2_INT } from '../src/fast-math.js';
import { WasmArena } from '../src/wasm/wasm.arena.js';
import { instantiateWasmKernels } from '../src/wasm/wasm.module.js';
import { createRandom } from '../src/index.js';

describe('WebAssembly kernels', () => {
  it.each([
    { name: 'every row, every word', nRows: 1000, words: 5, every: 1, wordFrom: 0, wordTo: 5, lastBytes: 4 },
    { name: 'the last word partial', nRows: 1001, words: 7, every: 1, wordFrom: 0, wordTo: 7, lastBytes: 3 },
    {
      name: 'a scattered subset, a middle range of words, one byte of the last',
      nRows: 3001,
      words: 7,
      every: 3,
      wordFrom: 2,
      wordTo: 6,
      lastBytes: 1,
    },
    { name: 'fewer rows than one pass of four', nRows: 3, words: 2, every: 1, wordFrom: 1, wordTo: 2, lastBytes: 2 },
    { name: 'no words', nRows: 50, words: 3, every: 1, wordFrom: 2, wordTo: 2, lastBytes: 3 },
  ])('adds the same sums as the JavaScript kernel ($name)', ({ nRows, words, every, wordFrom, wordTo, lastBytes }) => {
    const random = createRandom(nRows);
    const arena = new WasmArena(0);
    const bins = arena.uint8(nRows * words * 4);
    for (let i = 0; i < bins.length; i++) bins[i] = random.nextFloat() < 0.5 ? 0 : Math.floor(random.nextFloat() * 256);
    const packed = arena.float64(nRows);
    for (let r = 0; r < nRows; r++)
      packed[r] =
        Math.floor(random.nextFloat() * 2 ** 20) * 2 ** 26 - 2 ** 40 + Math.floor(random.nextFloat() * 2 ** 20);
    const all = Uint32Array.from({ length: nRows }, (_, r) => r).filter((r) => r % every === 0);
    const rows = arena.uint32(all.length + 8);
    rows.set(all, 5);
    const hist = arena.float64(words * HIST_WORD_SIZE).fill(1);
    const expected = new Float64Array(words * HIST_WORD_SIZE).fill(1);
    const bins32 = new Uint32Array(bins.buffer, bins.byteOffset, bins.length / 4);
    accumulateHistogram(bins32, words, packed, rows, 5, 5 + all.length, expected, wordFrom, wordTo, lastBytes);
    instantiateWasmKernels(arena.memory).accumulate(
      bins.byteOffset,
      words,
      packed.byteOffset,
      rows.byteOffset,
      5,
      5 + all.length,
      hist.byteOffset,
      wordFrom,
      wordTo,
      lastBytes,
    );
    expect([...hist]).toEqual([...expected]);
    // The bytes past lastBytes of the last word added nothing (their cells keep the fill).
    for (let q = lastBytes; q < 4 && wordTo > wordFrom; q++)
      expect(
        hist
          .subarray(
            (wordTo - 1) * HIST_WORD_SIZE + q * HIST_SLICE,
            (wordTo - 1) * HIST_WORD_SIZE + (q + 1) * HIST_SLICE,
          )
          .every((v) => v === 1),
      ).toBe(true);
  });

  it.each([
    { name: 'a middle range of a scattered row list', nRows: 5000, every: 3, start: 100, end: 1500, bin: 40 },
    { name: 'everything left (the last bin)', nRows: 300, every: 1, start: 0, end: 300, bin: 255 },
    { name: 'nothing left', nRows: 300, every: 1, start: 0, end: 300, bin: -1 },
    { name: 'an empty range', nRows: 300, every: 1, start: 7, end: 7, bin: 3 },
  ])('partitions rows like the JavaScript kernel ($name)', ({ nRows, every, start, end, bin }) => {
    const random = createRandom(nRows + start);
    const arena = new WasmArena(0);
    const nFeatures = 3;
    const feature = 2;
    const cols = arena.uint8(nRows * nFeatures);
    for (let i = 0; i < cols.length; i++) cols[i] = Math.floor(random.nextFloat() * 256);
    const rows = arena.uint32(nRows);
    rows.set(Uint32Array.from({ length: nRows }, (_, r) => r).filter((r) => r % every === 0));
    const [left, right, jsLeft, jsRight] = [0, 1, 2, 3].map(() => arena.uint32(nRows).fill(0xdead));
    const expected = partitionRows(cols, nRows, rows, jsLeft!, jsRight!, start, end, feature, bin);
    const count = instantiateWasmKernels(arena.memory).partition(
      cols.byteOffset + feature * nRows,
      rows.byteOffset,
      left!.byteOffset,
      right!.byteOffset,
      start,
      end,
      bin,
    );
    expect(count).toBe(expected);
    expect([...left!.subarray(0, start + count)]).toEqual([...jsLeft!.subarray(0, start + count)]);
    expect([...right!.subarray(0, end - count)]).toEqual([...jsRight!.subarray(0, end - count)]);
  });

  // Odd and even starts and counts: the kernel takes rows two at a time, then an odd one alone.
  it.each([
    [100, 20_000 - 7],
    [101, 20_000],
    [7, 8],
  ])(
    'computes the same gradients, margins and packed values, bit for bit, as the JavaScript kernel (margins beyond the clamp included; rows %i to %i)',
    (from, to) => {
      const n = 20_000;
      const arena = new WasmArena(0);
      const margin = arena.float64(n);
      const labels = arena.uint8(n);
      const leafOf = arena.uint16(n);
      const leafValue = arena.float64(128);
      for (let r = 0; r < n; r++) {
        margin[r] = r % 13 === 0 ? 800 * Math.sin(r) : 8 * Math.sin(r * 1.7);
        labels[r] = r % 3 === 0 ? 1 : 0;
        leafOf[r] = r % 100;
      }
      for (let i = 0; i < 128; i++) leafValue[i] = Math.cos(i) * 0.3;
      const [rows, gh, packed] = [arena.uint32(n), arena.float64(2 * n), arena.float64(n)];
      const [jsMargin, jsRows, jsGh, jsPacked] = [
        margin.slice(),
        new Uint32Array(n),
        new Float64Array(2 * n),
        new Float64Array(n),
      ];
      const pow2Int = arena.float64(EXP_POW2_INT.length);
      pow2Int.set(EXP_POW2_INT);
      const pow2Frac = arena.float64(EXP_POW2_FRAC.length);
      pow2Frac.set(EXP_POW2_FRAC);
      const q = Float64Array.of(63, 252, 2 ** 26, -123456789);
      const expected = computeGradients(
        jsMargin,
        labels,
        new Float64Array(0),
        jsRows,
        from,
        to,
        1,
        leafOf,
        leafValue,
        jsGh,
        jsPacked,
        q,
        EXP_CONSTANTS,
        EXP_POW2_INT,
        EXP_POW2_FRAC,
      );
      const total = instantiateWasmKernels(arena.memory).gradients(
        margin.byteOffset,
        labels.byteOffset,
        rows.byteOffset,
        from,
        to,
        leafOf.byteOffset,
        leafValue.byteOffset,
        gh.byteOffset,
        packed.byteOffset,
        pow2Int.byteOffset,
        pow2Frac.byteOffset,
        q[3]! | 0,
        EXP_CONSTANTS[0]!,
        EXP_CONSTANTS[1]!,
        EXP_CONSTANTS[2]!,
        q[0]!,
        q[1]!,
        q[2]!,
      );
      expect(total).toBe(expected);
      expect(
        Buffer.from(margin.buffer, margin.byteOffset, margin.byteLength).equals(Buffer.from(jsMargin.buffer)),
      ).toBe(true);
      expect(Buffer.from(gh.buffer, gh.byteOffset, gh.byteLength).equals(Buffer.from(jsGh.buffer))).toBe(true);
      expect(
        Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).equals(Buffer.from(jsPacked.buffer)),
      ).toBe(true);
      expect([...rows]).toEqual([...jsRows]);
    },
  );

  it('records leaves and sums exact gradients like the JavaScript kernels, bit for bit', () => {
    const nRows = 7000;
    const random = createRandom(17);
    const arena = new WasmArena(0);
    const cols = arena.uint8(2 * nRows);
    for (let i = 0; i < cols.length; i++) cols[i] = Math.floor(random.nextFloat() * 256);
    const gh = arena.float64(2 * nRows);
    for (let i = 0; i < gh.length; i++) gh[i] = i % 2 === 0 ? random.nextFloat() - 0.7 : random.nextFloat() * 0.25;
    const rows = arena.uint32(nRows);
    rows.set(Uint32Array.from({ length: nRows }, (_, r) => r).filter((r) => r % 2 === 1));
    const [leafOf, jsLeafOf] = [arena.uint16(nRows), new Uint16Array(nRows)];
    const out = arena.float64(4);
    const expected = new Float64Array(4);
    const kernels = instantiateWasmKernels(arena.memory);
    splitIntoLeaves(cols, nRows, rows, 10, 3000, 1, 100, 5, 6, jsLeafOf, gh, expected, 0);
    kernels.leaves(
      cols.byteOffset + nRows,
      rows.byteOffset,
      10,
      3000,
      100,
      5,
      6,
      leafOf.byteOffset,
      gh.byteOffset,
      out.byteOffset,
    );
    expect([...out]).toEqual([...expected]);
    closeLeaf(rows, 3000, 3400, 9, jsLeafOf, gh, expected, 0);
    kernels.close(rows.byteOffset, 3000, 3400, 9, leafOf.byteOffset, gh.byteOffset, out.byteOffset);
    expect([...out.subarray(0, 2)]).toEqual([...expected.subarray(0, 2)]);
    expect([...leafOf]).toEqual([...jsLeafOf]);
    expect([...new Set(leafOf)].sort((a, b) => a - b)).toEqual([0, 5, 6, 9]);
  });

  it('clears, subtracts and adds histogram words like the JavaScript kernels, bit for bit', () => {
    const words = 5;
    const random = createRandom(3);
    const arena = new WasmArena(0);
    const [parent, child] = [arena.float64(words * HIST_WORD_SIZE), arena.float64(words * HIST_WORD_SIZE)];
    const word = 8 * HIST_WORD_SIZE;
    for (let i = 0; i < parent.length; i++) {
      child[i] = Math.floor(random.nextFloat() * 2 ** 40) - 2 ** 39;
      parent[i] = child[i]! + Math.floor(random.nextFloat() * 2 ** 40);
    }
    const [jsParent, jsChild] = [parent.slice(), child.slice()];
    const kernels = instantiateWasmKernels(arena.memory);
    subtractHistogram(jsParent, jsChild, 1, 4);
    kernels.subtract(parent.byteOffset + word, child.byteOffset + word, 3 * word);
    expect([...parent]).toEqual([...jsParent]);
    clearHistogram(jsChild, 2, 5);
    kernels.zero(child.byteOffset + 2 * word, 3 * word);
    expect([...child]).toEqual([...jsChild]);
    expect(child[2 * HIST_WORD_SIZE - 1]).not.toBe(0);
    // A lane's partial histogram into the node's: parent minus child plus child is the parent again.
    const before = parent.slice();
    addHistogram(jsParent, jsChild, 0, 3);
    kernels.add(parent.byteOffset, child.byteOffset, 3 * word);
    expect([...parent]).toEqual([...jsParent]);
    expect(parent[2 * HIST_WORD_SIZE + 5]).toBe(before[2 * HIST_WORD_SIZE + 5]! + child[2 * HIST_WORD_SIZE + 5]!);
    expect(parent[4 * HIST_WORD_SIZE + 5]).toBe(before[4 * HIST_WORD_SIZE + 5]);
  });

  it.each([
    { name: 'every feature', from: 0, to: 18 },
    { name: 'a middle range of a shuffled feature list', from: 4, to: 15 },
  ])('unpacks packed slots like the JavaScript kernel, bit for bit ($name)', ({ from, to }) => {
    // Lowest digits (m = 1), odd and even multipliers with and without a leftover pair, eight
    // booleans in one slot, a feature alone in its slot; a feature with one bin is never active.
    const nBins = Int32Array.from([200, 2, 2, 2, 2, 2, 2, 2, 2, 36, 7, 51, 5, 17, 3, 5, 6, 37, 1]);
    const plan = planPacking(nBins);
    const random = createRandom(11);
    const arena = new WasmArena(0);
    const hist = arena.float64(plan.histLength);
    for (let i = 0; i < plan.words * HIST_WORD_SIZE; i++)
      hist[i] = random.nextFloat() < 0.3 ? 0 : Math.floor(random.nextFloat() * 2 ** 41) - 2 ** 40;
    for (let i = plan.words * HIST_WORD_SIZE; i < hist.length; i++) hist[i] = 12345;
    const features = Int32Array.from({ length: nBins.length - 1 }, (_, f) => f);
    for (let i = features.length - 1; i > 0; i--) {
      const j = Math.floor(random.nextFloat() * (i + 1));
      [features[i], features[j]] = [features[j]!, features[i]!];
    }
    const expected = hist.slice();
    unpackHistograms(expected, features, from, to, plan.slotOf, plan.mult, plan.span, nBins, plan.histAt);
    const kernels = laneKernels(instantiateWasmKernels(arena.memory), arena.float64(8), 0);
    kernels.unpack(hist, features, from, to, plan.slotOf, plan.mult, plan.span, nBins, plan.histAt);
    expect([...hist]).toEqual([...expected]);
    expect(new Set([...plan.mult]).size).toBeGreaterThan(8);
    expect(expected.subarray(plan.words * HIST_WORD_SIZE).some((v) => v !== 12345)).toBe(true);
  });

  it.each([
    { name: 'doubles of both signs with ties and zeros of both signs', n: 5000, kind: 'mixed' },
    { name: 'fewer than 256 (the JavaScript kernel sorts these natively)', n: 200, kind: 'mixed' },
    { name: 'float32-derived values (low bytes equal: passes skipped)', n: 3000, kind: 'float32' },
    { name: 'one value repeated (every pass skipped)', n: 1000, kind: 'constant' },
    { name: 'no values', n: 0, kind: 'mixed' },
  ])('sorts like the JavaScript kernel, bit for bit ($name)', ({ n, kind }) => {
    const random = createRandom(n + kind.length);
    const arena = new WasmArena(0);
    const column = arena.float64(n);
    for (let i = 0; i < n; i++) {
      const u = random.nextFloat();
      column[i] =
        kind === 'constant'
          ? 2.5
          : kind === 'float32'
            ? Math.fround((u - 0.3) * 1000)
            : u < 0.1
              ? 0
              : u < 0.2
                ? -0
                : u < 0.4
                  ? Math.floor(u * 20) - 5
                  : (u - 0.7) * 10 ** Math.floor(random.nextFloat() * 12 - 6);
    }
    const kernels = laneKernels(instantiateWasmKernels(arena.memory), arena.float64(LANE_SCRATCH), 0);
    const [a, b, counts] = [arena.float64(n), arena.float64(n), arena.uint32(2048)];
    const got = kernels.sort(column, n, a, b, counts);
    expect(got === a || got === b).toBe(true);
    const expected = sortFloat64(column, n, new Float64Array(n), new Float64Array(n), new Uint32Array(2048));
    const bits = (v: Float64Array) => [...new BigUint64Array(v.slice(0, n).buffer)];
    expect(bits(got)).toEqual(bits(expected));
    for (let i = 1; i < n; i++) expect(got[i]! >= got[i - 1]!).toBe(true);
    expect(got.subarray(0, n).some((v) => Object.is(v, -0))).toBe(false);
  });

  it.each([
    { name: 'many distinct values (equal-frequency cuts)', n: 5000, distinct: 4000, maxBins: 256, spike: 0 },
    { name: 'a heavy smallest and largest value', n: 6000, distinct: 3000, maxBins: 256, spike: 0.4 },
    { name: 'few bins', n: 3000, distinct: 900, maxBins: 7, spike: 0.1 },
    { name: 'exactly maxBins distinct values', n: 2000, distinct: 256, maxBins: 256, spike: 0 },
    { name: 'maxBins + 1 distinct values', n: 2000, distinct: 257, maxBins: 256, spike: 0 },
    { name: 'maxBins + 2 distinct values', n: 2000, distinct: 258, maxBins: 256, spike: 0 },
    { name: 'one value', n: 100, distinct: 1, maxBins: 256, spike: 0 },
    { name: 'no values', n: 0, distinct: 1, maxBins: 256, spike: 0 },
  ])('cuts like the JavaScript kernel, bit for bit ($name)', ({ n, distinct, maxBins, spike }) => {
    const random = createRandom(n + distinct + maxBins);
    const arena = new WasmArena(0);
    const values = Array.from({ length: distinct }, (_, i) => (i - distinct / 3) * 0.37 + random.nextFloat() * 0.01);
    const column = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = random.nextFloat();
      // Every value at least once, then random ones, a spike at both ends.
      column[i] =
        i < distinct
          ? values[i]!
          : u < spike / 2
            ? values[0]!
            : u < spike
              ? values[distinct - 1]!
              : values[Math.floor(random.nextFloat() * distinct)]!;
    }
    const sorted = arena.float64(n);
    sorted.set(sortFloat64(column, n, new Float64Array(n), new Float64Array(n), new Uint32Array(2048)).subarray(0, n));
    const expected = new Float64Array(300).fill(-7);
    const expectedCount = computeCuts(sorted, n, maxBins, expected, 20);
    const got = new Float64Array(300).fill(-7);
    const kernels = laneKernels(instantiateWasmKernels(arena.memory), arena.float64(LANE_SCRATCH), 0);
    expect(kernels.cuts(sorted, n, maxBins, got, 20)).toBe(expectedCount);
    expect([...got]).toEqual([...expected]);
    // The reference itself: every distinct value but the last (one or two) up to maxBins + 1 of them,
    // else at most maxBins - 1 equal-frequency cuts.
    if (n === 0) expect(expectedCount).toBe(0);
    else if (distinct <= maxBins + 1) expect(expectedCount).toBe(Math.min(distinct - 1, maxBins - 1));
    else expect(expectedCount > maxBins / 2 && expectedCount <= maxBins - 1).toBe(true);
  });

  it.each([0, 1, 2, 5, 127, 128, 200, 255])('bins values like the JavaScript kernel (%i cuts)', (nCuts) => {
    const random = createRandom(nCuts + 1);
    const arena = new WasmArena(0);
    const n = 4001;
    const cuts = new Float64Array(512).fill(-1);
    const sorted = Array.from({ length: nCuts }, () => Math.floor(random.nextFloat() * 1e6) / 100).sort(
      (x, y) => x - y,
    );
    cuts.set(sorted, 100);
    const column = arena.float64(n);
    for (let i = 0; i < n; i++)
      column[i] =
        random.nextFloat() < 0.3 && nCuts > 0
          ? sorted[Math.floor(random.nextFloat() * nCuts)]!
          : Math.floor(random.nextFloat() * 1.2e6) / 100 - 1000;
    column[0] = Number.POSITIVE_INFINITY;
    column[1] = Number.NEGATIVE_INFINITY;
    const out = arena.uint8(n + 20).fill(77);
    const expected = new Uint8Array(n + 20).fill(77);
    fillBins(column, n, cuts, 100, nCuts, expected, 10);
    laneKernels(instantiateWasmKernels(arena.memory), arena.float64(2 * LANE_SCRATCH), 1).fill(
      column,
      n,
      cuts,
      100,
      nCuts,
      out,
      10,
    );
    expect([...out]).toEqual([...expected]);
  });

  it('transposes packed bins like the JavaScript kernel, a middle range of rows', () => {
    const nBins = Int32Array.from([256, 2, 2, 2, 3, 7, 51, 1, 17, 200]);
    const plan = planPacking(nBins);
    const nRows = 777;
    const nFeatures = nBins.length;
    const stride = 4 * plan.words + 4;
    const random = createRandom(5);
    const arena = new WasmArena(0);
    const cols = arena.uint8(nRows * nFeatures);
    for (let f = 0; f < nFeatures; f++)
      for (let r = 0; r < nRows; r++) cols[f * nRows + r] = Math.floor(random.nextFloat() * nBins[f]!);
    const bins = arena.uint8(nRows * stride).fill(99);
    const expected = new Uint8Array(nRows * stride).fill(99);
    transposeBins(cols, nRows, nFeatures, expected, stride, plan.byteOffset, plan.mult, 100, 701);
    laneKernels(instantiateWasmKernels(arena.memory), arena.float64(LANE_SCRATCH), 0).transpose(
      cols,
      nRows,
      nFeatures,
      bins,
      stride,
      plan.byteOffset,
      plan.mult,
      100,
      701,
    );
    expect([...bins]).toEqual([...expected]);
    expect(expected.subarray(100 * stride, 701 * stride).some((v) => v > 127)).toBe(true);
  });

  it.each([
    { name: 'a few values, zeros of both signs, runs of ties', n: 5000, distinct: 7, maxBins: 256 },
    { name: 'exactly maxBins distinct values', n: 3000, distinct: 256, maxBins: 256 },
    { name: 'one more than maxBins (no cuts: -1)', n: 3000, distinct: 257, maxBins: 256 },
    { name: 'more distinct values than the table would hold at once', n: 20000, distinct: 5000, maxBins: 256 },
    { name: 'one value', n: 100, distinct: 1, maxBins: 256 },
    { name: 'no values', n: 0, distinct: 1, maxBins: 256 },
  ])('finds the distinct-value cuts of the JavaScript kernel ($name)', ({ n, distinct, maxBins }) => {
    const random = createRandom(n + distinct);
    const arena = new WasmArena(0);
    const pool = Array.from({ length: distinct }, (_, i) =>
      i === 0 ? -0 : (random.nextFloat() - 0.5) * 10 ** (i % 7),
    );
    const column = arena.float64(n);
    for (let i = 0; i < n; i++)
      column[i] = i < distinct ? pool[i]! : i % 5 === 0 ? 0 : pool[Math.floor(random.nextFloat() * distinct)]!;
    const out = new Float64Array(300).fill(-7);
    const expected = new Float64Array(300).fill(-7);
    const want = distinctCuts(column, n, maxBins, expected, 20);
    const kernels = laneKernels(instantiateWasmKernels(arena.memory), arena.float64(2 * LANE_SCRATCH), 1);
    expect(kernels.distinct(column, n, maxBins, out, 20)).toBe(want);
    expect([...out]).toEqual([...expected]);
    // A second feature on the same table: no value of the first is left behind.
    expect(kernels.distinct(column, Math.min(n, 1), maxBins, out, 20)).toBe(0);
  });

  it('keeps earlier arrays when the arena grows', () => {
    const arena = new WasmArena(0);
    const first = arena.float64(1000).fill(3);
    const big = arena.uint8(5 * 65536);
    big[big.length - 1] = 7;
    const later = arena.uint32(10).fill(9);
    expect(first.every((v) => v === 3)).toBe(true);
    expect(later.byteOffset).toBeGreaterThanOrEqual(big.byteOffset + big.length);
    expect(arena.memory.buffer.byteLength).toBeGreaterThanOrEqual(later.byteOffset + later.byteLength);
    expect(new Uint8Array(arena.memory.buffer)[big.byteOffset + big.length - 1]).toBe(7);
  });

  it('gives back what was taken after a mark', () => {
    const arena = new WasmArena(0);
    const kept = arena.float64(10);
    const mark = arena.mark();
    const scratch = arena.uint8(100_000);
    arena.release(mark);
    const next = arena.float64(10);
    expect(next.byteOffset).toBe(scratch.byteOffset);
    expect(next.byteOffset).toBeGreaterThanOrEqual(kept.byteOffset + kept.byteLength);
    expect(() => arena.release(arena.mark() + 64)).toThrow(/above its top/);
  });
});
