import { describe, expect, it } from 'vitest';
import { findBestSplit } from '../src/kernels/split.kernel.js';
import { createRandom } from '../src/random.js';

/** The split search with a division pair per non-empty bin and no screen: what the kernel must choose. */
function referenceSplit(
  hist: Float64Array,
  Gq: number,
  Hq: number,
  nBins: Int32Array,
  histAt: Int32Array,
  features: Int32Array,
  q: Float64Array,
  lambda: number,
  minChild: number,
  minGain: number,
): number[] {
  const [gScale, hScale, shift] = [q[0]!, q[1]!, q[2]!];
  const G = Gq * gScale;
  const H = Hq * hScale;
  const parentScore = (G * G) / (H + lambda);
  let best = [minGain, -1, -1, 0, 0];
  if (H < 2 * minChild) return best;
  for (const f of features) {
    let c = 0;
    for (let k = histAt[f]!; k < histAt[f]! + nBins[f]! - 1; k++) {
      if (hist[k] === 0) continue;
      c += hist[k]!;
      const glq = Math.floor(c * (1 / shift));
      const hl = (c - glq * shift) * hScale;
      if (hl < minChild) continue;
      const hr = H - hl;
      if (hr < minChild) break;
      const gl = glq * gScale;
      const gr = G - gl;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > best[0]! || (gain === best[0] && f < best[1]!)) best = [gain, f, k - histAt[f]!, glq, c - glq * shift];
    }
  }
  return best;
}

describe('findBestSplit', () => {
  it('chooses what the division-per-bin search chooses, ties and empty bins included', () => {
    const random = createRandom(7);
    const shift = 2 ** 20;
    for (let trial = 0; trial < 300; trial++) {
      const nFeatures = 1 + random.nextInt(12);
      const nBins = new Int32Array(nFeatures);
      const histAt = new Int32Array(nFeatures);
      for (let f = 0; f < nFeatures; f++) {
        nBins[f] = 2 + random.nextInt(trial % 3 === 0 ? 8 : 255);
        histAt[f] = 256 * f;
      }
      const hist = new Float64Array(256 * nFeatures);
      // Every feature splits the same rows: each bin's rows of feature 0, regrouped; some features copy
      // feature 0's histogram exactly, so equal gains must go to the lowest feature.
      const empty = random.nextFloat();
      let Gq = 0;
      let Hq = 0;
      for (let k = 0; k < nBins[0]!; k++) {
        if (random.nextFloat() < empty) continue;
        const gq = random.nextInt(401) - 200;
        const hq = random.nextInt(300);
        hist[k] = gq * shift + hq;
        Gq += gq;
        Hq += hq;
      }
      for (let f = 1; f < nFeatures; f++) {
        if (random.nextFloat() < 0.3) {
          nBins[f] = nBins[0]!;
          hist.copyWithin(256 * f, 0, 256);
          continue;
        }
        // The same totals spread over this feature's bins.
        const cells = new Float64Array(nBins[f]!);
        for (let k = 0; k < nBins[0]!; k++) cells[random.nextInt(nBins[f]!)]! += hist[k]!;
        hist.set(cells, 256 * f);
      }
      const features = Int32Array.from({ length: nFeatures }, (_, f) => f);
      const q = Float64Array.of(1 / 64, 1 / 256, shift);
      const [lambda, minChild, minGain] = [trial % 2, trial % 5 === 0 ? 1e-10 : 0.5, 1e-6];
      const out = new Float64Array(5);
      findBestSplit(hist, Gq, Hq, nBins, histAt, features, 0, nFeatures, q, lambda, minChild, minGain, out, 0);
      const expected = referenceSplit(hist, Gq, Hq, nBins, histAt, features, q, lambda, minChild, minGain);
      expect([...out]).toEqual(expected);
    }
  });
});
