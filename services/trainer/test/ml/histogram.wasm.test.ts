import { describe, expect, it } from 'vitest';
import { accumulateHistogram } from '../../src/ml/boosting.kernels.js';
import { WasmArena, instantiateHistogramKernel } from '../../src/ml/histogram.wasm.js';
import { createRandom } from '../../src/ml/index.js';

describe('WebAssembly histogram kernel', () => {
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
    instantiateHistogramKernel(arena.memory)(bins.byteOffset, words, packed.byteOffset, rows.byteOffset, 5, 5 + all.length, hist.byteOffset, wordFrom, wordTo);
    expect([...hist]).toEqual([...expected]);
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
