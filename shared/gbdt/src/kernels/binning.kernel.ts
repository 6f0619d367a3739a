/**
 * Binning kernels: the cut points of each feature (a radix sort and equal-frequency cuts, or a
 * hash table for features with few distinct values), each value's bin, and the row-major binned
 * rows from the column-major ones.
 */

/**
 * Ascending sort of `column[0 .. n)` by LSD radix on the IEEE-754 bits (faster than
 * `Float64Array.prototype.sort` on large columns). Passes whose byte is equal in every key are
 * skipped, so float32-derived data (low mantissa bytes zero) costs about half. Returns `a` or `b` (scratch of
 * length >= n), whichever holds the result. No NaN allowed; -0 sorts as +0.
 */
export function sortFloat64(
  column: Float64Array,
  n: number,
  a: Float64Array,
  b: Float64Array,
  counts: Uint32Array,
): Float64Array {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1 || n < 256) {
    a.set(column.subarray(0, n));
    a.subarray(0, n).sort();
    for (let i = 0; i < n; i++) if (a[i] === 0) a[i] = 0;
    return a;
  }
  let src = a;
  let dst = b;
  let su = new Uint32Array(src.buffer, src.byteOffset, 2 * src.length);
  let du = new Uint32Array(dst.buffer, dst.byteOffset, 2 * dst.length);
  for (let i = 0; i < n; i++) src[i] = column[i] === 0 ? 0 : column[i]!;
  counts.fill(0, 0, 2048);
  // Map each double to an unsigned 64-bit key of the same order: flip every bit of negatives,
  // only the sign bit of the others.
  for (let i = 0; i < n; i++) {
    let lo = su[2 * i]!;
    let hi = su[2 * i + 1]!;
    if ((hi & 0x80000000) !== 0) {
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    su[2 * i] = lo;
    su[2 * i + 1] = hi;
    counts[lo & 255]!++;
    counts[256 + ((lo >>> 8) & 255)]!++;
    counts[512 + ((lo >>> 16) & 255)]!++;
    counts[768 + (lo >>> 24)]!++;
    counts[1024 + (hi & 255)]!++;
    counts[1280 + ((hi >>> 8) & 255)]!++;
    counts[1536 + ((hi >>> 16) & 255)]!++;
    counts[1792 + (hi >>> 24)]!++;
  }
  for (let pass = 0; pass < 8; pass++) {
    const base = pass * 256;
    let trivial = false;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[base + d]!;
      if (c === n) trivial = true;
      counts[base + d] = sum;
      sum += c;
    }
    if (trivial) continue;
    const shift = (pass & 3) * 8;
    const word = pass >>> 2;
    for (let i = 0; i < n; i++) {
      const lo = su[2 * i]!;
      const hi = su[2 * i + 1]!;
      const j = counts[base + (((word === 0 ? lo : hi) >>> shift) & 255)]!++;
      du[2 * j] = lo;
      du[2 * j + 1] = hi;
    }
    const t = src;
    src = dst;
    dst = t;
    const tu = su;
    su = du;
    du = tu;
  }
  for (let i = 0; i < n; i++) {
    const hi = su[2 * i + 1]!;
    if ((hi & 0x80000000) !== 0) {
      su[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    } else {
      su[2 * i] = ~su[2 * i]! >>> 0;
      su[2 * i + 1] = ~hi >>> 0;
    }
  }
  return src;
}

/**
 * Quantile cut points of one sorted feature into `out[at ..]`; returns their number (bins − 1).
 * With no more distinct values than bins, every distinct value gets its own bin (cut at the value
 * itself). Otherwise XGBoost's `hist` cuts, on the exact summary its quantile sketch approximates:
 * of the distinct values, the first, the one whose rank range holds each rank
 * `begin + k · range / maxBins` (k = 1 .. maxBins − 1; `begin` is the first value's count, `range`
 * the ranks from there to the last value's first row), and the last, each once (WQSummary's
 * SetPrune to maxBins + 1 entries); entries 1 .. maxBins − 1 are the cuts (AddCutPoint). A heavy
 * smallest value (a spike of zeros) so wastes no bins: the ranks are spaced above it.
 */
export function computeCuts(sorted: Float64Array, n: number, maxBins: number, out: Float64Array, at: number): number {
  if (n === 0) return 0;
  const nDistinct = countDistinct(sorted, n);
  // With no more distinct values than bins, all but the last; with one more, every entry is kept
  // and entries 1 .. maxBins − 1 are the cuts: all distinct values but the last two.
  if (nDistinct <= maxBins + 1)
    return distinctValues(sorted, n, nDistinct <= maxBins ? nDistinct - 1 : nDistinct - 2, out, at);
  return quantileCuts(sorted, n, maxBins, out, at);
}

// computeCuts' passes are functions of their own: run once per feature, each loop is compiled
// on-stack while it runs, and in one function that code also held the later passes, which had never
// run, so it was thrown away at their first operation (a fresh churn-small fit deoptimised
// computeCuts 8-10 times).

/** The number of distinct values of `sorted[0 .. n)` (n >= 1). */
function countDistinct(sorted: Float64Array, n: number): number {
  let nDistinct = 1;
  for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) nDistinct++;
  return nDistinct;
}

/** The first `count` distinct values of `sorted[0 .. n)`, ascending, into `out[at ..]`; returns `count`. */
function distinctValues(sorted: Float64Array, n: number, count: number, out: Float64Array, at: number): number {
  let nCuts = 0;
  for (let i = 1; i < n && nCuts < count; i++) if (sorted[i] !== sorted[i - 1]) out[at + nCuts++] = sorted[i - 1]!;
  return nCuts;
}

/** computeCuts' equal-frequency cuts, for more than `maxBins + 1` distinct values. */
function quantileCuts(sorted: Float64Array, n: number, maxBins: number, out: Float64Array, at: number): number {
  let nCuts = 0;
  // One pass over the runs of equal values: run i is sorted[s .. e) (ranks s .. e − 1, so
  // rmin = s, rmax = e), the next one sorted[e .. ne). XGBoost sends x < entry left, ours
  // x <= cut: the cut is the value before the entry's run, so the rows on each side are the same.
  const runEnd = (from: number): number => {
    let end = from + 1;
    while (end < n && sorted[end] === sorted[from]) end++;
    return end;
  };
  let lastStart = n - 1;
  while (lastStart > 0 && sorted[lastStart - 1] === sorted[n - 1]) lastStart--;
  const begin = runEnd(0);
  const range = lastStart - begin;
  let s = begin;
  let e = runEnd(s);
  let ne = e < n ? runEnd(e) : n;
  let picked = 0;
  for (let k = 1; k < maxBins; k++) {
    const dx2 = 2 * ((k * range) / maxBins + begin);
    // The first run whose next run's mid-rank (rmax + rmin) lies beyond the target.
    while (s !== lastStart && dx2 >= ne + e) {
      s = e;
      e = ne;
      ne = e < n ? runEnd(e) : n;
    }
    if (s === lastStart) break;
    if (dx2 < 2 * e) {
      if (s !== picked) out[at + nCuts++] = sorted[(picked = s) - 1]!;
    } else if (e !== picked) out[at + nCuts++] = sorted[(picked = e) - 1]!;
  }
  if (picked !== lastStart && nCuts < maxBins - 1) out[at + nCuts++] = sorted[lastStart - 1]!;
  return nCuts;
}

/**
 * The cuts of a feature with at most `maxBins` distinct values, found without sorting its column:
 * every distinct value but the largest, ascending, into `out[at ..]` (what `computeCuts` gives for
 * such a feature). Returns their number, or -1 when there are more distinct values. Counts and
 * short windows (most churn features) take one pass over a 1024-slot hash table instead of a
 * radix sort. -0 counts as +0, as in the sort.
 */
export function distinctCuts(column: Float64Array, n: number, maxBins: number, out: Float64Array, at: number): number {
  const keys = new Float64Array(1024).fill(NaN);
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  let count = 0;
  let last = NaN;
  for (let r = 0; r < n; r++) {
    const v = column[r]! === 0 ? 0 : column[r]!;
    if (v === last) continue;
    last = v;
    bits[0] = v;
    let h = Math.imul(words[0]! ^ Math.imul(words[1]!, 0x9e3779b1), 0x85ebca6b) >>> 22;
    for (;;) {
      const key = keys[h]!;
      if (key === v) break;
      if (key !== key) {
        if (count === maxBins) return -1;
        keys[h] = v;
        count++;
        break;
      }
      h = (h + 1) & 1023;
    }
  }
  const distinct = new Float64Array(count);
  let j = 0;
  for (let h = 0; h < 1024; h++) if (keys[h] === keys[h]) distinct[j++] = keys[h]!;
  distinct.sort();
  for (let i = 0; i + 1 < count; i++) out[at + i] = distinct[i]!;
  return Math.max(0, count - 1);
}

/**
 * Bins of `column[0 .. n)` (the number of cuts strictly below each value) into `out[at ..]`
 * (`nCuts` <= 255). A branch-free binary search over the cuts padded with +Infinity to the next
 * power of two (eight steps for 256 bins, one for a boolean): the comparisons of a search are
 * unpredictable, and eight mispredicted branches per value cost about four times the eight
 * arithmetic steps.
 */
export function fillBins(
  column: Float64Array,
  n: number,
  cuts: Float64Array,
  cutsAt: number,
  nCuts: number,
  out: Uint8Array,
  at: number,
): void {
  const c = new Float64Array(256).fill(Infinity);
  c.set(cuts.subarray(cutsAt, cutsAt + nCuts));
  let half = 1;
  while (half * 2 <= nCuts) half *= 2;
  if (nCuts === 0) {
    out.fill(0, at, at + n);
    return;
  }
  if (half < 128) {
    // Fewer than 128 cuts: log2 of the padded size steps (a boolean takes one).
    for (let r = 0; r < n; r++) {
      const v = column[r]!;
      let lo = 0;
      for (let step = half; step > 0; step >>= 1) lo += step & -+(c[lo + step - 1]! < v);
      out[at + r] = lo;
    }
    return;
  }
  for (let r = 0; r < n; r++) {
    const v = column[r]!;
    let lo = 128 & -+(c[127]! < v);
    lo += 64 & -+(c[lo + 63]! < v);
    lo += 32 & -+(c[lo + 31]! < v);
    lo += 16 & -+(c[lo + 15]! < v);
    lo += 8 & -+(c[lo + 7]! < v);
    lo += 4 & -+(c[lo + 3]! < v);
    lo += 2 & -+(c[lo + 1]! < v);
    lo += 1 & -+(c[lo]! < v);
    out[at + r] = lo;
  }
}

/** Rows per tile of `extractColumns`: 512 rows of 50 doubles (200 KB) stay in a core's L2 cache. */
const EXTRACT_TILE = 512;

/**
 * Columns `from + j * step` (`j < count`) of a row-major matrix into `columns`, the j-th at
 * `[j * nRows, (j + 1) * nRows)`. By tiles of rows, a column at a time within a tile: a pass per
 * column over all rows would read a cache line per row for every column, and one pass for all
 * the columns writes `count` streams at once and ran a third slower (23,175 x 50: 12 against 7 ms;
 * 480,000 x 50: 231 against 149 ms).
 */
export function extractColumns(
  values: Float64Array | Float32Array,
  nRows: number,
  nFeatures: number,
  from: number,
  step: number,
  count: number,
  columns: Float64Array,
): void {
  for (let r0 = 0; r0 < nRows; r0 += EXTRACT_TILE) {
    const r1 = Math.min(nRows, r0 + EXTRACT_TILE);
    for (let j = 0; j < count; j++) {
      const o = j * nRows;
      for (let r = r0, v = r0 * nFeatures + from + j * step; r < r1; r++, v += nFeatures) columns[o + r] = values[v]!;
    }
  }
}

/**
 * Rows `[from, to)` of the row-major bins from the column-major ones: feature `f` adds
 * `bin * mult[f]` to byte `byteOffset[f]` of each row (-1: no byte), so features can share a byte.
 */
export function transposeBins(
  cols: Uint8Array,
  nRows: number,
  nFeatures: number,
  bins: Uint8Array,
  stride: number,
  byteOffset: Int32Array,
  mult: Int32Array,
  from: number,
  to: number,
): void {
  bins.fill(0, from * stride, to * stride);
  for (let f = 0; f < nFeatures; f++) {
    const o = byteOffset[f]!;
    if (o < 0) continue;
    const m = mult[f]!;
    const base = f * nRows;
    for (let r = from, i = from * stride + o; r < to; r++, i += stride) bins[i] = bins[i]! + cols[base + r]! * m;
  }
}
