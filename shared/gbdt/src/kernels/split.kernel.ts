/** 1 − 1e-10: how far below the best gain a bin must provably fall to be skipped without its divisions. */
const SCREEN_MARGIN = 1 - 1e-10;

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
  // A bin's gain beats bestGain only if gl²/HL + gr²/HR exceeds bestGain + parentScore (HL, HR > 0).
  // Most bins fall far short: they are screened with products instead of two divisions, skipped
  // only when the products show them below that sum by a relative 1e-10. Their rounding (a few
  // units of 2^-53) is far inside that margin, so a skipped bin's gain, as computed below, would
  // have been below bestGain (not equal: ties keep the lowest feature). With divisions this rare,
  // empty bins need no test of their own (a mispredicted branch at every other bin of a deep node).
  let bound = (bestGain + parentScore) * SCREEN_MARGIN;
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
        // An empty bin moves no rows: its sums, and so its gain, are the previous bin's, which it
        // cannot beat (ties keep the lower bin).
        c += hist[k]!;
        const glq = Math.floor(c * invShift);
        const hl = (c - glq * shift) * hScale;
        if (hl < minChild) continue;
        const hr = H - hl;
        if (hr < minChild) break;
        const gl = glq * gScale;
        const gr = G - gl;
        const hlLambda = hl + lambda;
        const hrLambda = hr + lambda;
        if (gl * gl * hrLambda + gr * gr * hlLambda < bound * hlLambda * hrLambda) continue;
        const gain = (gl * gl) / hlLambda + (gr * gr) / hrLambda - parentScore;
        // Compared before the test, not inside it: a comparison that has never run has no type
        // feedback, and the first bin short of the best (or the first exact tie) threw the
        // optimised function away.
        const better = gain > bestGain;
        const tie = gain === bestGain;
        const lower = f < bestFeature;
        if (better || (tie && lower)) {
          bestGain = gain;
          bound = (bestGain + parentScore) * SCREEN_MARGIN;
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
