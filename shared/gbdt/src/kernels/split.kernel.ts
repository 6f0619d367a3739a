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
        const cell = hist[k]!;
        // An empty bin moves no rows: the sums, and so the gain, are the previous bin's.
        if (cell === 0) continue;
        c += cell;
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
