/**
 * Histogram kernels. Layout: one double per (slot, code) at `s * HIST_SLICE + code`, where a slot
 * is a byte of the binned row holding one feature's bin or the packed bins of several
 * (../histogram.packing.ts). A binned row's slots `4j .. 4j+3` are its 32-bit word `j`, and fill
 * the histogram words `[j * HIST_WORD_SIZE, (j + 1) * HIST_WORD_SIZE)`. Feature `f`'s own
 * histogram starts at `histAt[f]`.
 *
 * `accumulateHistogram`, `clearHistogram`, `subtractHistogram` and `addHistogram` run as WebAssembly
 * (`acc`, `zero`, `sub`, `add` in ../wasm/boosting.wat); these versions are their reference in the tests.
 */

/**
 * Doubles per slot in a histogram: its 256 codes and a 64-byte line of padding. Without the
 * padding, slots 2 apart were 4,096 bytes apart, and a row whose slots hit the same code (a common
 * bin, such as the zeros of counts) added to cells whose addresses alias in the CPU's store
 * buffer (the same low 12 bits), so each load waited for an unrelated store: the accumulation took
 * 0.58 against 0.48 ns per cell on churn-small's binned rows.
 */
export const HIST_SLICE = 264;
/** Doubles per 4-slot word in a histogram. */
export const HIST_WORD_SIZE = 4 * HIST_SLICE;

/**
 * Add to the histogram words `[wordFrom, wordTo)` the rows `rows[start .. end)` (the caller zeroes
 * it first), of the last of those words only its first `lastBytes` bytes (1-4: a row's bytes past
 * its last slot are always 0, so their cells are never read). Four rows per iteration, each byte
 * position of the four in turn: the loop is bound by instructions (a bounds check, load, add and
 * store per cell), and four rows share one pass of the word loop's overhead and give the CPU four
 * independent chains of additions.
 */
export function accumulateHistogram(
  bins32: Uint32Array,
  wordsPerRow: number,
  packed: Float64Array,
  rows: Uint32Array,
  start: number,
  end: number,
  hist: Float64Array,
  wordFrom: number,
  to: number,
  lastBytes: number,
): void {
  // The whole words, then the last word's bytes (sums are exact integers: any order gives the same).
  const wordTo = lastBytes >= 4 || to <= wordFrom ? to : to - 1;
  if (wordTo < to) {
    const o = wordTo * HIST_WORD_SIZE;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const p = packed[r]!;
      const x = bins32[r * wordsPerRow + wordTo]!;
      for (let q = 0; q < lastBytes; q++) {
        const k = o + q * HIST_SLICE + ((x >>> (8 * q)) & 255);
        hist[k] = hist[k]! + p;
      }
    }
  }
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = rows[i]!;
    const r1 = rows[i + 1]!;
    const r2 = rows[i + 2]!;
    const r3 = rows[i + 3]!;
    const p0 = packed[r0]!;
    const p1 = packed[r1]!;
    const p2 = packed[r2]!;
    const p3 = packed[r3]!;
    const b0 = r0 * wordsPerRow;
    const b1 = r1 * wordsPerRow;
    const b2 = r2 * wordsPerRow;
    const b3 = r3 * wordsPerRow;
    for (let j = wordFrom; j < wordTo; j++) {
      const o = j * HIST_WORD_SIZE;
      const x0 = bins32[b0 + j]!;
      const x1 = bins32[b1 + j]!;
      const x2 = bins32[b2 + j]!;
      const x3 = bins32[b3 + j]!;
      let k = o + (x0 & 255);
      hist[k] = hist[k]! + p0;
      k = o + (x1 & 255);
      hist[k] = hist[k]! + p1;
      k = o + (x2 & 255);
      hist[k] = hist[k]! + p2;
      k = o + (x3 & 255);
      hist[k] = hist[k]! + p3;
      k = o + HIST_SLICE + ((x0 >>> 8) & 255);
      hist[k] = hist[k]! + p0;
      k = o + HIST_SLICE + ((x1 >>> 8) & 255);
      hist[k] = hist[k]! + p1;
      k = o + HIST_SLICE + ((x2 >>> 8) & 255);
      hist[k] = hist[k]! + p2;
      k = o + HIST_SLICE + ((x3 >>> 8) & 255);
      hist[k] = hist[k]! + p3;
      k = o + 2 * HIST_SLICE + ((x0 >>> 16) & 255);
      hist[k] = hist[k]! + p0;
      k = o + 2 * HIST_SLICE + ((x1 >>> 16) & 255);
      hist[k] = hist[k]! + p1;
      k = o + 2 * HIST_SLICE + ((x2 >>> 16) & 255);
      hist[k] = hist[k]! + p2;
      k = o + 2 * HIST_SLICE + ((x3 >>> 16) & 255);
      hist[k] = hist[k]! + p3;
      k = o + 3 * HIST_SLICE + (x0 >>> 24);
      hist[k] = hist[k]! + p0;
      k = o + 3 * HIST_SLICE + (x1 >>> 24);
      hist[k] = hist[k]! + p1;
      k = o + 3 * HIST_SLICE + (x2 >>> 24);
      hist[k] = hist[k]! + p2;
      k = o + 3 * HIST_SLICE + (x3 >>> 24);
      hist[k] = hist[k]! + p3;
    }
  }
  for (; i < end; i++) {
    const r = rows[i]!;
    const p = packed[r]!;
    const br = r * wordsPerRow;
    for (let j = wordFrom; j < wordTo; j++) {
      const x = bins32[br + j]!;
      const o = j * HIST_WORD_SIZE;
      hist[o + (x & 255)] = hist[o + (x & 255)]! + p;
      hist[o + HIST_SLICE + ((x >>> 8) & 255)] = hist[o + HIST_SLICE + ((x >>> 8) & 255)]! + p;
      hist[o + 2 * HIST_SLICE + ((x >>> 16) & 255)] = hist[o + 2 * HIST_SLICE + ((x >>> 16) & 255)]! + p;
      hist[o + 3 * HIST_SLICE + (x >>> 24)] = hist[o + 3 * HIST_SLICE + (x >>> 24)]! + p;
    }
  }
}

/** Zero the histogram words `[wordFrom, wordTo)`. */
export function clearHistogram(hist: Float64Array, wordFrom: number, wordTo: number): void {
  hist.fill(0, wordFrom * HIST_WORD_SIZE, wordTo * HIST_WORD_SIZE);
}

/** `parent -= child` over words `[wordFrom, wordTo)`: the subtraction trick, exact on integer sums. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, wordFrom: number, wordTo: number): void {
  const e = wordTo * HIST_WORD_SIZE;
  for (let k = wordFrom * HIST_WORD_SIZE; k < e; k++) parent[k] = parent[k]! - child[k]!;
}

/**
 * `hist += partial` over words `[wordFrom, wordTo)`: a lane's partial histogram of some of a node's
 * rows into the node's. Exact on integer sums, so the lanes' partial sums add up the same in any
 * order and however the rows were split between them.
 */
export function addHistogram(hist: Float64Array, partial: Float64Array, wordFrom: number, wordTo: number): void {
  const e = wordTo * HIST_WORD_SIZE;
  for (let k = wordFrom * HIST_WORD_SIZE; k < e; k++) hist[k] = hist[k]! + partial[k]!;
}

/**
 * The histograms of the features `features[from .. to)` that share a slot, from their slot's joint
 * histogram: feature `f`'s bin `b` is the sum of the codes whose digit `floor(code / mult) % nBins`
 * is `b`, written at `histAt[f]`. Exact, because the sums are integers. Features alone in their
 * slot (`histAt[f] === slot * HIST_SLICE`) are read in place and skipped.
 */
export function unpackHistograms(
  hist: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
  slotOf: Int32Array,
  mult: Int32Array,
  span: Int32Array,
  nBins: Int32Array,
  histAt: Int32Array,
): void {
  for (let i = from; i < to; i++) {
    const f = features[i]!;
    const s = slotOf[f]! * HIST_SLICE;
    const at = histAt[f]!;
    if (at === s) continue;
    const nb = nBins[f]!;
    const m = mult[f]!;
    const block = m * nb;
    const end = s + span[f]!;
    for (let b = 0; b < nb; b++) {
      let sum = 0;
      for (let base = s + b * m; base < end; base += block) {
        for (let j = 0; j < m; j++) sum += hist[base + j]!;
      }
      hist[at + b] = sum;
    }
  }
}

/**
 * `parent -= child` over the unpacked histograms of the features `features[from .. to)` that share
 * a slot (those alone in their slot are covered by `subtractHistogram`). With it, a parent's
 * unpacked histograms become its larger child's without unpacking them again.
 */
export function subtractUnpacked(
  parent: Float64Array,
  child: Float64Array,
  features: Int32Array,
  from: number,
  to: number,
  slotOf: Int32Array,
  nBins: Int32Array,
  histAt: Int32Array,
): void {
  for (let i = from; i < to; i++) {
    const f = features[i]!;
    const at = histAt[f]!;
    if (at === slotOf[f]! * HIST_SLICE) continue;
    const end = at + nBins[f]!;
    for (let k = at; k < end; k++) parent[k] = parent[k]! - child[k]!;
  }
}
