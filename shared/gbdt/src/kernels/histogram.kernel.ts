/**
 * The hot loops of histogram-based boosting. Worker threads run them from their source text
 * (`Function.prototype.toString`), so each must be self-contained: no imports, no module constants,
 * no calls to helpers, nothing but its parameters and globals (Math, typed-array constructors).
 *
 * The fit runs `accumulateHistogram`, `partitionRows`, `splitIntoLeaves`, `closeLeaf` and the
 * common case of `computeGradients` as WebAssembly (boosting.wasm.ts), which must give the same
 * bits; the JavaScript versions here are their reference (tested against them) and run the general
 * gradient case (subsample, weights).
 *
 * Gradients are quantised (as in LightGBM's quantized training): each row's gradient and hessian
 * become small integers by unbiased stochastic rounding, packed into one double as
 * `gq * shift + hq` with `0 <= hq < shift`. A histogram cell then takes one addition per row
 * instead of two, its sums are exact integers (so they are the same in any order, on any number of
 * threads), and the subtraction trick is exact. Leaf values are computed from the exact gradients.
 *
 * Histogram layout: one double per (slot, code) at `(s << 8) | code`, where a slot is a byte of
 * the binned row holding one feature's bin or the packed bins of several (histogram.packing.ts).
 * A binned row's slots `4j .. 4j+3` are its 32-bit word `j`, and fill the histogram slice
 * `[j << 10, (j + 1) << 10)`. Feature `f`'s own histogram starts at `histAt[f]`.
 */

/** Doubles per 4-feature word in a histogram. */
export const HIST_WORD_SIZE = 1024;

/**
 * Logistic-loss gradient and hessian of the rows at positions `[from, to)` of `rows`: exact into
 * `gh`, quantised and packed into `packed`. With `fused` = 1, every row is in `rows` (no
 * subsample) and positions are rows: the previous tree's value of the leaf each row fell in,
 * `leafValue[leafOf[r]]`, is first added to the row's margin, and `rows` is reset to 0, 1, 2 …
 * on the way, which saves two passes over the rows per tree. `weights` of length 0 means
 * unweighted. `q` holds [1 / gScale, 1 / hScale, shift, tree seed]; exp is computed as in
 * fast-math.ts from its tables. Returns the sum of the packed values (an exact integer).
 */
export function computeGradients(
  margin: Float64Array,
  labels: Uint8Array,
  weights: Float64Array,
  rows: Uint32Array,
  from: number,
  to: number,
  fused: number,
  leafOf: Uint16Array,
  leafValue: Float64Array,
  gh: Float64Array,
  packed: Float64Array,
  q: Float64Array,
  expConstants: Float64Array,
  pow2Int: Float64Array,
  pow2Frac: Float64Array,
): number {
  const invLn2 = expConstants[0]!;
  const ln2Hi = expConstants[1]!;
  const ln2Lo = expConstants[2]!;
  const invGScale = q[0]!;
  const invHScale = q[1]!;
  const shift = q[2]!;
  const seed = q[3]! | 0;
  const weighted = weights.length > 0;
  let total = 0;
  // The common case (fused, no weights) runs as WebAssembly (boosting.wasm.ts), the same
  // operations in the same order; this loop is its reference and runs the general cases.
  for (let i = from; i < to; i++) {
    const r = fused === 1 ? i : rows[i]!;
    let m = margin[r]!;
    if (fused === 1) {
      m += leafValue[leafOf[r]!]!;
      margin[r] = m;
      rows[i] = i;
    }
    // exp(-margin), with the argument clamped where the sigmoid is 0 or 1 in double precision anyway.
    const x = m < -700 ? 700 : m > 700 ? -700 : -m;
    const biased = (x * invLn2 + 70400.5) | 0;
    const k = biased - 70400;
    const t = x - k * ln2Hi - k * ln2Lo;
    const e =
      pow2Int[biased >> 6]! *
      pow2Frac[biased & 63]! *
      (1 + t * (1 + t * (0.5 + t * (0.16666666666666666 + t * (0.041666666666666664 + t * 0.008333333333333333)))));
    const p = 1 / (1 + e);
    const w = weighted ? weights[r]! : 1;
    const g = (p - labels[r]!) * w;
    const hRaw = p * (1 - p);
    // XGBoost floors the hessian at 1e-16 so leaves of confidently predicted rows stay finite.
    const h = (hRaw > 1e-16 ? hRaw : 1e-16) * w;
    gh[r << 1] = g;
    gh[(r << 1) | 1] = h;
    // Two 16-bit uniforms from a hash of (row, tree): stochastic rounding that is the same on every
    // thread and every run (16 bits are plenty against quantisation steps of 2^-9 or coarser).
    let z = Math.imul(r ^ seed, 0x9e3779b1);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    const v =
      Math.floor(g * invGScale + (z & 0xffff) * 1.52587890625e-5) * shift +
      Math.floor(h * invHScale + (z >>> 16) * 1.52587890625e-5);
    packed[r] = v;
    total += v;
  }
  return total;
}

/**
 * Add to the histogram words `[wordFrom, wordTo)` the rows `rows[start .. end)` (the caller zeroes
 * it first). Four rows per iteration, each byte position of the four in turn: the loop is bound by
 * instructions (a bounds check, load, add and store per cell), and four rows share one pass of the
 * word loop's overhead and give the CPU four independent chains of additions (about 15% faster
 * than two rows).
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
  wordTo: number,
): void {
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
      const o = j << 10;
      const x0 = bins32[b0 + j]!;
      const x1 = bins32[b1 + j]!;
      const x2 = bins32[b2 + j]!;
      const x3 = bins32[b3 + j]!;
      let k = o | (x0 & 255);
      hist[k] = hist[k]! + p0;
      k = o | (x1 & 255);
      hist[k] = hist[k]! + p1;
      k = o | (x2 & 255);
      hist[k] = hist[k]! + p2;
      k = o | (x3 & 255);
      hist[k] = hist[k]! + p3;
      k = o | 256 | ((x0 >>> 8) & 255);
      hist[k] = hist[k]! + p0;
      k = o | 256 | ((x1 >>> 8) & 255);
      hist[k] = hist[k]! + p1;
      k = o | 256 | ((x2 >>> 8) & 255);
      hist[k] = hist[k]! + p2;
      k = o | 256 | ((x3 >>> 8) & 255);
      hist[k] = hist[k]! + p3;
      k = o | 512 | ((x0 >>> 16) & 255);
      hist[k] = hist[k]! + p0;
      k = o | 512 | ((x1 >>> 16) & 255);
      hist[k] = hist[k]! + p1;
      k = o | 512 | ((x2 >>> 16) & 255);
      hist[k] = hist[k]! + p2;
      k = o | 512 | ((x3 >>> 16) & 255);
      hist[k] = hist[k]! + p3;
      k = o | 768 | (x0 >>> 24);
      hist[k] = hist[k]! + p0;
      k = o | 768 | (x1 >>> 24);
      hist[k] = hist[k]! + p1;
      k = o | 768 | (x2 >>> 24);
      hist[k] = hist[k]! + p2;
      k = o | 768 | (x3 >>> 24);
      hist[k] = hist[k]! + p3;
    }
  }
  for (; i < end; i++) {
    const r = rows[i]!;
    const p = packed[r]!;
    const br = r * wordsPerRow;
    for (let j = wordFrom; j < wordTo; j++) {
      const x = bins32[br + j]!;
      const o = j << 10;
      hist[o | (x & 255)] = hist[o | (x & 255)]! + p;
      hist[o | 256 | ((x >>> 8) & 255)] = hist[o | 256 | ((x >>> 8) & 255)]! + p;
      hist[o | 512 | ((x >>> 16) & 255)] = hist[o | 512 | ((x >>> 16) & 255)]! + p;
      hist[o | 768 | (x >>> 24)] = hist[o | 768 | (x >>> 24)]! + p;
    }
  }
}

/** `parent -= child` over words `[wordFrom, wordTo)`: the subtraction trick, exact on integer sums. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, wordFrom: number, wordTo: number): void {
  const e = wordTo << 10;
  for (let k = wordFrom << 10; k < e; k++) parent[k] = parent[k]! - child[k]!;
}

/**
 * The histograms of the features `features[from .. to)` that share a slot, from their slot's joint
 * histogram: feature `f`'s bin `b` is the sum of the codes whose digit `floor(code / mult) % nBins`
 * is `b`, written at `histAt[f]`. Exact, because the sums are integers. Features alone in their
 * slot (`histAt[f] === slot << 8`) are read in place and skipped.
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
    const s = slotOf[f]! << 8;
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
 * Best split over the features `features[from .. to)` of a node whose quantised sums are `Gq`, `Hq`,
 * by XGBoost's gain GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ). Feature `f`'s histogram starts at
 * `hist[histAt[f]]`. `q` holds [gScale, hScale, shift]. Writes [gain, feature, bin, GLq, HLq] at
 * `out[at ..]`; feature is -1 when nothing beats `minGain`. Ties keep the lowest feature (in any
 * order of `features`), then the lowest bin.
 */
export function findBestSplit(
  hist: Float64Array,
  Gq: number,
  Hq: number,
  nBins: Int32Array,
  histAt: Int32Array,
  features: Int32Array,
  from: number,
  to: number,
  q: Float64Array,
  lambda: number,
  minChild: number,
  minGain: number,
  out: Float64Array,
  at: number,
): void {
  const gScale = q[0]!;
  const hScale = q[1]!;
  const shift = q[2]!;
  const invShift = 1 / shift;
  const G = Gq * gScale;
  const H = Hq * hScale;
  const parentScore = (G * G) / (H + lambda);
  let bestGain = minGain;
  let bestFeature = -1;
  let bestBin = -1;
  let bestGLq = 0;
  let bestHLq = 0;
  if (H >= 2 * minChild) {
    for (let i = from; i < to; i++) {
      const f = features[i]!;
      const first = histAt[f]!;
      const last = first + nBins[f]! - 1;
      let c = 0;
      for (let k = first; k < last; k++) {
        c += hist[k]!;
        const glq = Math.floor(c * invShift);
        const hl = (c - glq * shift) * hScale;
        if (hl < minChild) continue;
        const hr = H - hl;
        if (hr < minChild) break;
        const gl = glq * gScale;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain || (gain === bestGain && f < bestFeature)) {
          bestGain = gain;
          bestFeature = f;
          bestBin = k - first;
          bestGLq = glq;
          bestHLq = c - glq * shift;
        }
      }
    }
  }
  out[at] = bestGain;
  out[at + 1] = bestFeature;
  out[at + 2] = bestBin;
  out[at + 3] = bestGLq;
  out[at + 4] = bestHLq;
}

/**
 * Stable partition of `rows[start .. end)` on `bin(feature) <= bin`, reading the column-major bins:
 * left rows go to `left[start ..]`, right rows to `right[start ..]`; returns the left count.
 * Branch-free, because a row's side is unpredictable and a mispredicted branch per row costs more
 * than the extra stores.
 */
export function partitionRows(
  cols: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  left: Uint32Array,
  right: Uint32Array,
  start: number,
  end: number,
  feature: number,
  bin: number,
): number {
  const base = feature * nRows;
  let l = start;
  let rr = start;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const goesLeft = 1 ^ ((bin - cols[base + r]!) >>> 31);
    left[l] = r;
    right[rr] = r;
    l += goesLeft;
    rr += 1 - goesLeft;
  }
  return l - start;
}

/**
 * The last split of a branch, whose children are leaves: record each row's leaf in `leafOf`
 * (`leftId` or `rightId`, by `bin(feature) <= bin`) without moving rows, and write the exact
 * gradient and hessian sums of the left and right rows at `out[at .. at + 4)`.
 */
export function splitIntoLeaves(
  cols: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  start: number,
  end: number,
  feature: number,
  bin: number,
  leftId: number,
  rightId: number,
  leafOf: Uint16Array,
  gh: Float64Array,
  out: Float64Array,
  at: number,
): void {
  const base = feature * nRows;
  const diff = leftId - rightId;
  let lg = 0;
  let lh = 0;
  let rg = 0;
  let rh = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const left = 1 ^ ((bin - cols[base + r]!) >>> 31);
    leafOf[r] = rightId + diff * left;
    const g = gh[r << 1]!;
    const h = gh[(r << 1) | 1]!;
    const right = 1 - left;
    lg += g * left;
    lh += h * left;
    rg += g * right;
    rh += h * right;
  }
  out[at] = lg;
  out[at + 1] = lh;
  out[at + 2] = rg;
  out[at + 3] = rh;
}

/** A leaf of rows `rows[start .. end)`: record it in `leafOf`; exact gradient and hessian sums into `out[at]`, `out[at + 1]`. */
export function closeLeaf(
  rows: Uint32Array,
  start: number,
  end: number,
  id: number,
  leafOf: Uint16Array,
  gh: Float64Array,
  out: Float64Array,
  at: number,
): void {
  let g = 0;
  let h = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    leafOf[r] = id;
    g += gh[r << 1]!;
    h += gh[(r << 1) | 1]!;
  }
  out[at] = g;
  out[at + 1] = h;
}

/** `margin[r] += leafValue[leafOf[r]]` for the rows `r` at positions `[start, end)` of `rows`. */
export function addLeafValues(
  margin: Float64Array,
  rows: Uint32Array,
  start: number,
  end: number,
  leafOf: Uint16Array,
  leafValue: Float64Array,
): void {
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    margin[r] = margin[r]! + leafValue[leafOf[r]!]!;
  }
}

/**
 * Wait until `target` lanes have arrived at the barrier counter `control[slot]` (this one
 * included). Spins briefly, then sleeps; gives up when a lane reports failure (`control[failed]`).
 */
export function laneBarrier(control: Int32Array, slot: number, failed: number, target: number): void {
  const arrived = Atomics.add(control, slot, 1) + 1;
  if (arrived >= target) {
    if (target > 1) Atomics.notify(control, slot);
    return;
  }
  for (let spin = 0; spin < 20000; spin++) if (Atomics.load(control, slot) >= target) return;
  for (;;) {
    const seen = Atomics.load(control, slot);
    if (seen >= target) return;
    if (Atomics.load(control, failed) !== 0) throw new Error('another boosting lane failed');
    Atomics.wait(control, slot, seen, 50);
  }
}

/**
 * Ascending sort of `column[0 .. n)` by LSD radix on the IEEE-754 bits, about 4x faster than
 * `Float64Array.prototype.sort` on 100k+ values. Passes whose byte is equal in every key are skipped,
 * so float32-derived data (low mantissa bytes zero) costs about half. Returns `a` or `b` (scratch of
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
 * itself). Otherwise greedy equal-frequency bins over runs of equal values, re-targeting after
 * each cut so that one heavy value (a spike of zeros) does not waste the bins after it; a cut goes
 * before a run that would overshoot the target when that lands closer to it.
 */
export function computeCuts(sorted: Float64Array, n: number, maxBins: number, out: Float64Array, at: number): number {
  if (n === 0) return 0;
  let nDistinct = 1;
  for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) nDistinct++;
  let nCuts = 0;
  if (nDistinct <= maxBins) {
    for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) out[at + nCuts++] = sorted[i - 1]!;
    return nCuts;
  }
  let remaining = n;
  let binsLeft = maxBins;
  let acc = 0;
  let i = 0;
  let runEnd = 1;
  while (runEnd < n && sorted[runEnd] === sorted[0]) runEnd++;
  while (runEnd < n && binsLeft > 1) {
    let nextEnd = runEnd + 1;
    while (nextEnd < n && sorted[nextEnd] === sorted[runEnd]) nextEnd++;
    acc += runEnd - i;
    const target = remaining / binsLeft;
    const next = nextEnd - runEnd;
    if (acc >= target || (acc + next > target && target - acc <= acc + next - target)) {
      out[at + nCuts++] = sorted[i]!;
      remaining -= acc;
      binsLeft--;
      acc = 0;
    }
    i = runEnd;
    runEnd = nextEnd;
  }
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

/**
 * Columns `from + j * step` (`j < count`) of a row-major matrix into `columns`, the j-th at
 * `[j * nRows, (j + 1) * nRows)`. One pass for several columns: a pass per column would read a
 * cache line per row for every column (about 3x slower for 11 columns of the churn matrix).
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
  for (let r = 0, i = from; r < nRows; r++, i += nFeatures) {
    for (let j = 0, o = r, v = i; j < count; j++, o += nRows, v += step) columns[o] = values[v]!;
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
