/**
 * The logistic-loss gradient pass. Gradients are quantised (as in LightGBM's quantized training):
 * each row's gradient and hessian become small integers by unbiased stochastic rounding, packed
 * into one double as `gq * shift + hq` with `0 <= hq < shift`. A histogram cell then takes one
 * addition per row instead of two, its sums are exact integers (so they are the same in any
 * order, on any number of threads), and the subtraction trick is exact. Leaf values are computed
 * from the exact gradients.
 *
 * The common case (fused, no weights) runs as WebAssembly (`grad` in ../wasm/boosting.wat), the
 * same operations in the same order; this loop is its reference and runs the general cases.
 */

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
