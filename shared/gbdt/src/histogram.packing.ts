import { HIST_SLICE, HIST_WORD_SIZE } from './kernels/histogram.kernel.js';
import { MAX_BINS_LIMIT, featureByteOffsets } from './histogram.binner.js';

/**
 * How features share the bytes of a binned row. Histogram time is proportional to the bytes per
 * row, and many features have few bins (booleans, counts in short windows): features whose bin
 * counts multiply to at most 256 share one byte ("slot"), holding the mixed-radix code
 * `sum(bin_f * mult_f)`. The slot's 256-cell histogram is the joint histogram of its features, and
 * each feature's own histogram is a sum over it, exact because histogram sums are exact integers,
 * so split search sees the same histograms, and learns the same trees, as without packing.
 *
 * Layout of a histogram buffer: slot `s` at `[s * HIST_SLICE, s * HIST_SLICE + 256)` (`words` *
 * HIST_WORD_SIZE doubles), then
 * the histogram of each feature that shares its slot, at `histAt[f]`, its bins rounded up to a
 * 64-byte line (a feature alone in its slot is read in place: `histAt[f] = slot * HIST_SLICE`). Shared
 * features have few bins (their counts multiply to at most 256): churn-small's 41 take 1,056 cells
 * this way against 10,496 at 256 each, so a buffer is 66 KB instead of 141 KB, fewer pages to fault
 * in and fewer lines for unpacking and split search.
 */
/** Doubles per 64-byte line: each shared feature's histogram starts on a line. */
const HIST_LINE = 8;

export interface PackingPlan {
  readonly nSlots: number;
  /** 32-bit words per binned row: `ceil(nSlots / 4)`. */
  readonly words: number;
  /** Per feature, its slot, or -1 for a feature with one bin (it can never split, so it gets no byte). */
  readonly slotOf: Int32Array;
  /** Per feature, the multiplier of its bin in the slot's code. */
  readonly mult: Int32Array;
  /** Per feature, the number of codes its slot uses: the product of the bin counts of its features. */
  readonly span: Int32Array;
  /** Per feature, where its histogram starts in a histogram buffer. */
  readonly histAt: Int32Array;
  /** Per feature, the byte of its slot within a row (differs from the slot only on big-endian machines); -1 without a slot. */
  readonly byteOffset: Int32Array;
  /** Doubles per histogram buffer. */
  readonly histLength: number;
}

/**
 * Pack features into slots by best-fit decreasing on bin counts: widest features first, each into
 * the fullest slot it still fits in (product of bin counts <= 256), else a new slot. Depends only on
 * the bin counts, so every lane count gets the same layout. With `pack` false, every feature gets
 * a slot of its own (the unpacked layout: slot = feature).
 */
export function planPacking(nBins: ArrayLike<number>, pack = true): PackingPlan {
  const nFeatures = nBins.length;
  const slotOf = new Int32Array(nFeatures).fill(-1);
  const mult = new Int32Array(nFeatures).fill(1);
  const span = new Int32Array(nFeatures).fill(1);
  const spans: number[] = [];
  const members: number[][] = [];
  const order = Array.from({ length: nFeatures }, (_, f) => f);
  if (pack) order.sort((a, b) => nBins[b]! - nBins[a]! || a - b);
  for (const f of order) {
    const nb = nBins[f]!;
    if (pack && nb <= 1) continue;
    let best = -1;
    if (pack) {
      for (let s = 0; s < spans.length; s++) {
        if (spans[s]! * nb <= MAX_BINS_LIMIT && (best < 0 || spans[s]! > spans[best]!)) best = s;
      }
    }
    if (best < 0) {
      best = spans.length;
      spans.push(1);
      members.push([]);
    }
    slotOf[f] = best;
    mult[f] = spans[best]!;
    spans[best] = spans[best]! * Math.max(1, nb);
    members[best]!.push(f);
  }
  const nSlots = spans.length;
  const words = Math.ceil(nSlots / 4);
  const slotBytes = featureByteOffsets(words * 4);
  const histAt = new Int32Array(nFeatures);
  const byteOffset = new Int32Array(nFeatures).fill(-1);
  let extra = words * HIST_WORD_SIZE;
  for (let f = 0; f < nFeatures; f++) {
    const s = slotOf[f]!;
    if (s < 0) continue;
    span[f] = spans[s]!;
    byteOffset[f] = slotBytes[s]!;
    if (members[s]!.length === 1) {
      histAt[f] = s * HIST_SLICE;
    } else {
      histAt[f] = extra;
      extra += Math.ceil(nBins[f]! / HIST_LINE) * HIST_LINE;
    }
  }
  return { nSlots, words, slotOf, mult, span, histAt, byteOffset, histLength: extra };
}
