import { availableParallelism } from 'node:os';
import { BoostingLanes, CHUNK_ROWS, type HistogramBuffer, type HistogramTask, type PartitionTask, type Quantisation, type RowRange, type SplitResult, type SplitTask, needsSharedMemory } from './boosting.lanes.js';
import type { Dataset } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import { type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
import { GbdtModel } from './gbdt.model.js';
import { type BinnedMatrix, MAX_BINS_LIMIT, assembleBinned, binStride, featureByteOffsets } from './histogram.binner.js';
import type { TreeJson } from './model.port.js';
import { type Random, createRandom } from './random.js';
import { allocateFloat64, allocateInt32, allocateUint32, allocateUint8, shareFloat64, shareUint8 } from './shared-memory.js';

/** Below this many cells a second thread costs more (worker start-up, ~30 ms) than it saves. */
const THREADED_MIN_CELLS = 1 << 20;
/** A child needs at least this hessian sum even with minChildWeight 0, so a split never isolates nothing. */
const MIN_HESSIAN = 1e-10;
/** Splits must gain more than this (XGBoost's kRtEps), so float noise never splits a node. */
const MIN_GAIN = 1e-6;
/** The prior rate is clipped so a one-class training set still has a finite base score. */
const PRIOR_CLIP = 1e-7;
/** Fewest bits for a quantised gradient plus hessian; below this, splits would get too coarse. */
const MIN_QUANTISATION_BITS = 6;

/** Where a fit spent its time, in seconds (for the benchmark's "where the time goes"). */
export interface GbdtFitProfile {
  threads: number;
  /** Bits of the quantised gradient and hessian. */
  gradientBits: number;
  hessianBits: number;
  binning: number;
  gradients: number;
  /** Histograms and split search (one fused step per level). */
  histograms: number;
  partition: number;
  leaves: number;
  total: number;
}

/** Number of threads for a fit: `requested`, or with 0 two for large data on a multi-core machine. */
export function resolveThreads(requested: number, nRows: number, nFeatures: number): number {
  if (requested > 0) return requested;
  return nRows * nFeatures >= THREADED_MIN_CELLS ? Math.min(2, availableParallelism()) : 1;
}

/**
 * How to quantise gradients for `nRows` rows so that every histogram sum stays an exact integer
 * below 2^53: gq in ±(2^(g−1) − 1), hq in [0, 2^h − 1], packed as gq · 2^(h + L) + hq with
 * L = ⌈log2(n + 1)⌉, which needs g + h ≤ 53 − 2L (10 + 9 bits for 128k rows, 7 + 6 for 1M).
 */
export function quantisationFor(nRows: number, maxWeight: number): Quantisation & { gradientBits: number; hessianBits: number } {
  const L = Math.ceil(Math.log2(nRows + 1));
  const budget = 53 - 2 * L;
  if (budget < MIN_QUANTISATION_BITS) {
    throw new TrainerError(
      CODES.TRAINING_SET_TOO_LARGE,
      `${nRows} training rows is more than the histogram trainer supports (${2 ** Math.floor((53 - MIN_QUANTISATION_BITS) / 2)}); sample the rows first`,
      { nRows },
    );
  }
  const gradientBits = Math.min(16, Math.ceil(budget / 2));
  const hessianBits = Math.min(16, budget - gradientBits);
  return {
    gradientBits,
    hessianBits,
    // |g| <= w and h <= w / 4 for the logistic loss.
    gScale: maxWeight / (2 ** (gradientBits - 1) - 1),
    hScale: (0.25 * maxWeight) / (2 ** hessianBits - 1),
    shift: 2 ** (hessianBits + L),
  };
}

/**
 * Fit gradient-boosted trees for binary logistic loss (XGBoost `binary:logistic`, `tree_method=hist`,
 * depth-wise growth). Split search runs on quantised gradients; leaf values use the exact ones.
 * Deterministic: the same data, parameters and seed give identical JSON, at any thread count.
 */
export function fitGbdt(data: Dataset, given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>): GbdtModel {
  return fitGbdtProfiled(data, given).model;
}

/** `fitGbdt`, also reporting where the time went. */
export function fitGbdtProfiled(
  data: Dataset,
  given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>,
): { model: GbdtModel; profile: GbdtFitProfile } {
  const started = performance.now();
  const params = resolveGbdtParams(given);
  const { nRows: n, nFeatures } = data;
  let maxWeight = 1;
  if (data.weights !== undefined) {
    maxWeight = 0;
    for (let r = 0; r < n; r++) maxWeight = Math.max(maxWeight, data.weights[r]!);
  }
  const quantisation = quantisationFor(n, maxWeight);
  const threads = resolveThreads(params.threads, n, nFeatures);
  const shared = needsSharedMemory(threads);
  const stride = binStride(nFeatures);
  let values = data.values;
  if (shared && !(values.buffer instanceof SharedArrayBuffer)) {
    const copy = values instanceof Float32Array ? new Float32Array(new SharedArrayBuffer(values.byteLength)) : allocateFloat64(values.length, true);
    copy.set(values);
    values = copy;
  }
  const baseScore = priorLogOdds(data);
  const margin = allocateFloat64(n, shared).fill(baseScore);
  const rows = allocateUint32(n, shared);
  for (let r = 0; r < n; r++) rows[r] = r;
  const posValue = allocateFloat64(n, shared);
  const bins = allocateUint8(n * stride, shared);
  const cols = allocateUint8(n * nFeatures, shared);
  const cutsTable = allocateFloat64(nFeatures * MAX_BINS_LIMIT, shared);
  const nBins = allocateInt32(nFeatures, shared);
  // The most nodes one level can split, and the most leaves: every command's table must hold them.
  const maxNodes = Math.min(2 ** (params.maxDepth - 1), n);
  const lanes = new BoostingLanes(
    {
      values,
      nRows: n,
      nFeatures,
      maxBins: Math.min(MAX_BINS_LIMIT, params.maxBins),
      bins,
      stride,
      byteOffset: featureByteOffsets(nFeatures),
      cols,
      cuts: cutsTable,
      nBins,
      gh: allocateFloat64(2 * n, shared),
      packed: allocateFloat64(n, shared),
      rows,
      tmp: allocateUint32(n, shared),
      margin,
      labels: shareUint8(data.labels, shared),
      weights: data.weights === undefined ? new Float64Array(0) : shareFloat64(data.weights, shared),
      posValue,
    },
    threads,
    Math.max(maxNodes * threads, 2 * maxNodes + Math.ceil(n / CHUNK_ROWS)) + threads + 1,
  );
  try {
    lanes.bin();
    const binned = assembleBinned(n, nFeatures, bins, cols, cutsTable, nBins);
    lanes.setQuantisation(quantisation);
    const profile: GbdtFitProfile = {
      threads: lanes.count,
      gradientBits: quantisation.gradientBits,
      hessianBits: quantisation.hessianBits,
      binning: (performance.now() - started) / 1000,
      gradients: 0,
      histograms: 0,
      partition: 0,
      leaves: 0,
      total: 0,
    };
    const grower = new TreeGrower(binned, params, quantisation, lanes, margin, posValue, profile);
    const random = createRandom(params.seed);
    const trees: TreeJson[] = [];
    for (let t = 0; t < params.nTrees; t++) {
      const t0 = performance.now();
      const nSampled = params.subsample >= 1 ? n : sampleRows(rows, n, params.subsample, random, grower.inSample);
      const packedTotal = lanes.gradients(nSampled, params.subsample >= 1, random.nextUint32() | 0);
      profile.gradients += (performance.now() - t0) / 1000;
      grower.sampleFeatures(params.colsampleByTree, random);
      trees.push(grower.grow(nSampled, packedTotal));
    }
    const model = new GbdtModel(data.featureNames, recordedParams(params), baseScore, trees);
    profile.total = (performance.now() - started) / 1000;
    return { model, profile };
  } finally {
    lanes.close();
  }
}

/** Parameters recorded in the model JSON: all but `threads`, which does not change the model. */
function recordedParams(params: GbdtParams): Record<string, number> {
  const { threads: _threads, ...rest } = params;
  return { ...rest };
}

function priorLogOdds(data: Dataset): number {
  let positive = 0;
  let total = 0;
  for (let r = 0; r < data.nRows; r++) {
    const w = data.weights === undefined ? 1 : data.weights[r]!;
    positive += w * data.labels[r]!;
    total += w;
  }
  const p = Math.min(1 - PRIOR_CLIP, Math.max(PRIOR_CLIP, positive / total));
  return Math.log(p / (1 - p));
}

/** Bernoulli row sample, in ascending row order. */
function sampleRows(rows: Uint32Array, n: number, subsample: number, random: Random, inSample: Uint8Array): number {
  let count = 0;
  for (let r = 0; r < n; r++) {
    const take = random.nextFloat() < subsample;
    inSample[r] = take ? 1 : 0;
    if (take) rows[count++] = r;
  }
  return count;
}

/** Reusable state for growing trees over one binned training set. */
class TreeGrower {
  readonly inSample: Uint8Array;
  private readonly nFeatures: number;
  private readonly featureActive: Uint8Array;
  private readonly features: Int32Array;
  private nActive = 0;
  // The tree under construction, one entry per node.
  private feature: number[] = [];
  private bin: number[] = [];
  private threshold: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private value: number[] = [];
  private gain: number[] = [];
  private cover: number[] = [];
  private start: number[] = [];
  private end: number[] = [];
  /** Quantised gradient and hessian sums per node (exact integers). */
  private sums: number[] = [];
  /** Exact gradient and hessian sums of leaves that the last partition already summed (else NaN). */
  private exact: number[] = [];
  private hist: (HistogramBuffer | null)[] = [];

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly params: GbdtParams,
    private readonly quantisation: Quantisation,
    private readonly lanes: BoostingLanes,
    private readonly margin: Float64Array,
    private readonly posValue: Float64Array,
    private readonly profile: GbdtFitProfile,
  ) {
    this.nFeatures = binned.nFeatures;
    this.inSample = new Uint8Array(binned.nRows);
    this.featureActive = new Uint8Array(binned.nFeatures).fill(1);
    this.features = new Int32Array(binned.nFeatures);
    this.updateActive();
  }

  /** Draw this tree's features (XGBoost's colsample_bytree: round(p * F), at least 1). */
  sampleFeatures(fraction: number, random: Random): void {
    if (fraction >= 1) return;
    const order = Array.from({ length: this.nFeatures }, (_, f) => f);
    const k = Math.max(1, Math.round(fraction * this.nFeatures));
    this.featureActive.fill(0);
    for (let i = 0; i < k; i++) {
      const j = i + random.nextInt(this.nFeatures - i);
      const picked = order[j]!;
      order[j] = order[i]!;
      order[i] = picked;
      this.featureActive[picked] = 1;
    }
    this.updateActive();
  }

  private updateActive(): void {
    this.nActive = 0;
    for (let f = 0; f < this.nFeatures; f++) {
      // A feature with one bin can never split.
      if (this.featureActive[f] === 1 && this.binned.nBins[f]! > 1) this.features[this.nActive++] = f;
    }
    const { lambda, minChildWeight, gamma } = this.params;
    this.lanes.setFeatures(this.features, this.nActive, { lambda, minChild: Math.max(minChildWeight, MIN_HESSIAN), minGain: Math.max(gamma, MIN_GAIN) });
  }

  /**
   * Grow one tree depth-wise over the sampled rows `rows[0 .. nSampled)` whose packed gradients sum
   * to `packedTotal`, and add it to the margins.
   */
  grow(nSampled: number, packedTotal: number): TreeJson {
    this.resetTree();
    const { lanes, params, profile } = this;
    const { shift } = this.quantisation;
    const rootGq = Math.floor(packedTotal / shift);
    const root = this.addNode(0, nSampled, rootGq, packedTotal - rootGq * shift);
    let level: number[] = [];
    let found: SplitResult[] = [];
    if (nSampled > 0 && this.nActive > 0) {
      const t0 = performance.now();
      const rootHist = lanes.allocate();
      this.hist[root] = rootHist;
      found = lanes.histogramsAndSplits([{ hist: rootHist, parent: null, start: 0, end: nSampled }], [{ hist: rootHist, Gq: this.sums[0]!, Hq: this.sums[1]! }]);
      profile.histograms += (performance.now() - t0) / 1000;
      level = [root];
    }
    for (let depth = 0; depth < params.maxDepth && level.length > 0; depth++) {
      const t1 = performance.now();
      const splitting: number[] = [];
      const leftSums: number[] = [];
      const partitions: PartitionTask[] = [];
      for (let i = 0; i < level.length; i++) {
        const node = level[i]!;
        const best = found[i]!;
        if (best.feature < 0) {
          lanes.release(this.hist[node]!);
          this.hist[node] = null;
          continue;
        }
        this.feature[node] = best.feature;
        this.bin[node] = best.bin;
        this.threshold[node] = this.binned.cuts[best.feature]![best.bin]!;
        this.gain[node] = best.gain;
        splitting.push(node);
        leftSums.push(best.GLq, best.HLq);
        partitions.push({ start: this.start[node]!, end: this.end[node]!, feature: best.feature, bin: best.bin });
      }
      const childrenSplit = depth + 1 < params.maxDepth;
      // Children of the last level are leaves: sum their exact gradients during the partition.
      const { leftCounts, sums } = partitions.length > 0 ? lanes.partition(partitions, !childrenSplit) : { leftCounts: new Int32Array(0), sums: new Float64Array(0) };
      const t2 = performance.now();
      profile.partition += (t2 - t1) / 1000;

      const next: number[] = [];
      const builds: HistogramTask[] = [];
      const splitTasks: SplitTask[] = [];
      for (let i = 0; i < splitting.length; i++) {
        const node = splitting[i]!;
        const start = this.start[node]!;
        const end = this.end[node]!;
        const mid = start + leftCounts[i]!;
        const GLq = leftSums[2 * i]!;
        const HLq = leftSums[2 * i + 1]!;
        const l = this.addNode(start, mid, GLq, HLq);
        const r = this.addNode(mid, end, this.sums[2 * node]! - GLq, this.sums[2 * node + 1]! - HLq);
        this.left[node] = l;
        this.right[node] = r;
        const parentHist = this.hist[node]!;
        this.hist[node] = null;
        if (childrenSplit) {
          // Build the smaller child; the parent's histogram minus it becomes the larger child's.
          const smallerIsLeft = mid - start <= end - mid;
          const small = lanes.allocate();
          this.hist[smallerIsLeft ? l : r] = small;
          this.hist[smallerIsLeft ? r : l] = parentHist;
          builds.push({ hist: small, parent: parentHist, start: smallerIsLeft ? start : mid, end: smallerIsLeft ? mid : end });
          for (const child of [l, r]) splitTasks.push({ hist: this.hist[child]!, Gq: this.sums[2 * child]!, Hq: this.sums[2 * child + 1]! });
          next.push(l, r);
        } else {
          lanes.release(parentHist);
          this.exact[2 * l] = sums[4 * i]!;
          this.exact[2 * l + 1] = sums[4 * i + 1]!;
          this.exact[2 * r] = sums[4 * i + 2]!;
          this.exact[2 * r + 1] = sums[4 * i + 3]!;
        }
      }
      found = builds.length > 0 ? lanes.histogramsAndSplits(builds, splitTasks) : [];
      profile.histograms += (performance.now() - t2) / 1000;
      level = next;
    }
    for (const node of level) {
      const hist = this.hist[node];
      if (hist != null) lanes.release(hist);
    }
    const t3 = performance.now();
    const tree = this.finishTree(nSampled);
    profile.leaves += (performance.now() - t3) / 1000;
    return tree;
  }

  private resetTree(): void {
    for (const list of [this.feature, this.bin, this.threshold, this.left, this.right, this.value, this.gain, this.cover]) list.length = 0;
    this.start.length = 0;
    this.end.length = 0;
    this.sums.length = 0;
    this.exact.length = 0;
    this.hist.length = 0;
  }

  private addNode(start: number, end: number, Gq: number, Hq: number): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.bin.push(0);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.gain.push(0);
    this.cover.push(0);
    this.start.push(start);
    this.end.push(end);
    this.sums[2 * id] = Gq;
    this.sums[2 * id + 1] = Hq;
    this.exact[2 * id] = NaN;
    this.exact[2 * id + 1] = NaN;
    this.hist.push(null);
    return id;
  }

  /** Leaf values from the exact gradients of their rows; add them to the margins; emit the tree. */
  private finishTree(nSampled: number): TreeJson {
    const { lambda, learningRate } = this.params;
    const nNodes = this.feature.length;
    // Leaves above the last level were not summed by a partition: sum them now.
    const unsummed: number[] = [];
    const unsummedRanges: RowRange[] = [];
    for (let node = 0; node < nNodes; node++) {
      if (this.feature[node]! < 0 && Number.isNaN(this.exact[2 * node])) {
        unsummed.push(node);
        unsummedRanges.push({ start: this.start[node]!, end: this.end[node]! });
      }
    }
    if (unsummed.length > 0) {
      const sums = this.lanes.sums(unsummedRanges);
      unsummed.forEach((node, i) => {
        this.exact[2 * node] = sums[2 * i]!;
        this.exact[2 * node + 1] = sums[2 * i + 1]!;
      });
    }
    const fused = nSampled === this.binned.nRows;
    const ranges: RowRange[] = [];
    const values: number[] = [];
    for (let node = 0; node < nNodes; node++) {
      if (this.feature[node]! >= 0) continue;
      const G = this.exact[2 * node]!;
      const H = this.exact[2 * node + 1]!;
      const v = H + lambda > 0 ? (-G / (H + lambda)) * learningRate : 0;
      this.value[node] = v;
      this.cover[node] = H;
      // Without subsample the next gradient pass adds posValue to the margins; else add them now.
      if (fused) this.posValue.fill(v, this.start[node]!, this.end[node]!);
      ranges.push({ start: this.start[node]!, end: this.end[node]! });
      values.push(v);
    }
    if (!fused) this.lanes.addToMargins(ranges, values);
    // Children come after their parents, so one backward pass sums covers bottom-up.
    for (let node = nNodes - 1; node >= 0; node--) {
      if (this.feature[node]! >= 0) this.cover[node] = this.cover[this.left[node]!]! + this.cover[this.right[node]!]!;
    }
    if (!fused) this.addToUnsampled();
    return {
      feature: [...this.feature],
      threshold: [...this.threshold],
      left: [...this.left],
      right: [...this.right],
      value: [...this.value],
      gain: [...this.gain],
      cover: [...this.cover],
    };
  }

  /** Rows left out by subsample still need this tree's output: walk it on their bins. */
  private addToUnsampled(): void {
    const { cols, nRows } = this.binned;
    const { margin } = this;
    for (let r = 0; r < nRows; r++) {
      if (this.inSample[r] === 1) continue;
      let node = 0;
      while (this.feature[node]! >= 0) {
        node = cols[this.feature[node]! * nRows + r]! <= this.bin[node]! ? this.left[node]! : this.right[node]!;
      }
      margin[r]! += this.value[node]!;
    }
  }
}
