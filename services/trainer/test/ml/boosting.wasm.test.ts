import { describe, expect, it } from 'vitest';
import { accumulateHistogram, partitionRows } from '../../src/ml/boosting.kernels.js';
import { WasmArena, instantiateWasmKernels } from '../../src/ml/boosting.wasm.js';
import { createRandom } from '../../src/ml/index.js';

describe('WebAssembly kernels', () => {
  it.each([
    { name: 'every row, every word', nRows: 1000, words: 5, every: 1, wordFrom: 0, wordTo: 5 },
    { name: 'a scattered subset, a middle range of words', nRows: 3001, words: 7, every: 3, wordFrom: 2, wordTo: 6 },
    { name: 'fewer rows than one pass of four', nRows: 3, words: 2, every: 1, wordFrom: 1, wordTo: 2 },
    { name: 'no words', nRows: 50, words: 3, every: 1, wordFrom: 2, wordTo: 2 },
  ])('adds the same sums as the JavaScript kernel ($name)', ({ nRows, words, every, wordFrom, wordTo }) => {
    const random = createRandom(nRows);
    const arena = new WasmArena(0);
    const bins = arena.uint8(nRows * words * 4);
    for (let i = 0; i < bins.length; i++) bins[i] = random.nextFloat() < 0.5 ? 0 : Math.floor(random.nextFloat() * 256);
    const packed = arena.float64(nRows);
    for (let r = 0; r < nRows; r++) packed[r] = Math.floor(random.nextFloat() * 2 ** 20) * 2 ** 26 - 2 ** 40 + Math.floor(random.nextFloat() * 2 ** 20);
    const all = Uint32Array.from({ length: nRows }, (_, r) => r).filter((r) => r % every === 0);
    const rows = arena.uint32(all.length + 8);
    rows.set(all, 5);
    const hist = arena.float64(words * 1024).fill(1);
    const expected = new Float64Array(words * 1024).fill(1);
    const bins32 = new Uint32Array(bins.buffer, bins.byteOffset, bins.length / 4);
    accumulateHistogram(bins32, words, packed, rows, 5, 5 + all.length, expected, wordFrom, wordTo);
    instantiateWasmKernels(arena.memory).accumulate(bins.byteOffset, words, packed.byteOffset, rows.byteOffset, 5, 5 + all.length, hist.byteOffset, wordFrom, wordTo);
    expect([...hist]).toEqual([...expected]);
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
    const count = instantiateWasmKernels(arena.memory).partition(cols.byteOffset + feature * nRows, rows.byteOffset, left!.byteOffset, right!.byteOffset, start, end, bin);
    expect(count).toBe(expected);
    expect([...left!.subarray(0, start + count)]).toEqual([...jsLeft!.subarray(0, start + count)]);
    expect([...right!.subarray(0, end - count)]).toEqual([...jsRight!.subarray(0, end - count)]);
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
});
