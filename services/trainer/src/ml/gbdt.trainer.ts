import { availableParallelism } from 'node:os';
import { BoostingLanes, type HistogramBuffer, type HistogramTask, type PartitionTask, type SplitTask, needsSharedMemory } from './boosting.lanes.js';
import type { Dataset } from './dataset.js';
import { type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
import { GbdtModel } from './gbdt.model.js';
import { type BinnedMatrix, binMatrix } from './histogram.binner.js';
import type { TreeJson } from './model.port.js';
import { type Random, createRandom } from './random.js';
import { allocateFloat64, allocateUint32, shareFloat64, shareUint8 } from './shared-memory.js';

/** Below this many cells a second thread costs more (worker start-up, ~30 ms) than it saves. */
const THREADED_MIN_CELLS = 1 << 20;
/** A child needs at least this hessian sum even with minChildWeight 0, so a split never isolates nothing. */
const MIN_HESSIAN = 1e-10;
/** Splits must gain more than this (XGBoost's kRtEps), so float noise never splits a node. */
const MIN_GAIN = 1e-6;
/** The prior rate is clipped so a one-class training set still has a finite base score. */
const PRIOR_CLIP = 1e-7;

/** Where a fit spent its time, in seconds (for the benchmark's "where the time goes"). */
export interface GbdtFitProfile {
  threads: number;
  binning: number;
  gradients: number;
  histograms: number;
  splits: number;
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
 * Fit gradient-boosted trees for binary logistic loss (XGBoost `binary:logistic`, `tree_method=hist`,
 * depth-wise growth). Deterministic: the same data, parameters and seed give identical JSON, at
 * any thread count.
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
  const threads = resolveThreads(params.threads, data.nRows, data.nFeatures);
  const shared = needsSharedMemory(threads);
  const binned = binMatrix(data, { maxBins: params.maxBins, shared });
  const profile: GbdtFitProfile = { threads, binning: 0, gradients: 0, histograms: 0, splits: 0, partition: 0, leaves: 0, total: 0 };
  profile.binning = performance.now() - started;

  const n = data.nRows;
  const baseScore = priorLogOdds(data);
  const margin = allocateFloat64(n, shared).fill(baseScore);
  const rows = allocateUint32(n, shared);
  // The most nodes one level can split: every command's task table must hold them, per lane.
  const maxNodes = Math.min(2 ** (params.maxDepth - 1), n);
  const lanes = new BoostingLanes(
    {
      bins: binned.bins,
      wordsPerRow: binned.stride >>> 2,
      cols: binned.cols,
      nRows: n,
      nBins: binned.nBins,
      gh: allocateFloat64(2 * n, shared),
      rows,
      tmp: allocateUint32(n, shared),
      margin,
      labels: shareUint8(data.labels, shared),
      weights: data.weights === undefined ? new Float64Array(0) : shareFloat64(data.weights, shared),
    },
    threads,
    maxNodes * threads + threads,
  );
  try {
    profile.threads = lanes.count;
    const grower = new TreeGrower(binned, params, lanes, rows, margin, profile);
    const random = createRandom(params.seed);
    const trees: TreeJson[] = [];
    for (let t = 0; t < params.nTrees; t++) {
      const nSampled = sampleRows(rows, n, params.subsample, random, grower.inSample);
      const t0 = performance.now();
      lanes.gradients(nSampled);
      profile.gradients += performance.now() - t0;
      grower.sampleFeatures(params.colsampleByTree, random);
      trees.push(grower.grow(nSampled));
    }
    const model = new GbdtModel(data.featureNames, recordedParams(params), baseScore, trees);
    profile.total = performance.now() - started;
    for (const key of ['binning', 'gradients', 'histograms', 'splits', 'partition', 'leaves', 'total'] as const) profile[key] /= 1000;
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

/** Bernoulli row sample in ascending row order; all rows when subsample is 1. */
function sampleRows(rows: Uint32Array, n: number, subsample: number, random: Random, inSample: Uint8Array): number {
  if (subsample >= 1) {
    for (let r = 0; r < n; r++) rows[r] = r;
    return n;
  }
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
  private readonly words: Int32Array;
  private nWords = 0;
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
  private gradSum: number[] = [];
  private hist: (HistogramBuffer | null)[] = [];

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly params: GbdtParams,
    private readonly lanes: BoostingLanes,
    private readonly rows: Uint32Array,
    private readonly margin: Float64Array,
    private readonly profile: GbdtFitProfile,
  ) {
    this.nFeatures = binned.nFeatures;
    this.inSample = new Uint8Array(binned.nRows);
    this.featureActive = new Uint8Array(binned.nFeatures).fill(1);
    this.features = new Int32Array(binned.nFeatures);
    this.words = new Int32Array(binned.stride >>> 2);
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
    this.nWords = 0;
    for (let j = 0; j < this.words.length; j++) {
      let any = 0;
      for (let f = 4 * j; f < Math.min(4 * j + 4, this.nFeatures); f++) any |= this.featureActive[f]!;
      if (any !== 0) this.words[this.nWords++] = j;
    }
  }

  /** Grow one tree depth-wise over the sampled rows `rows[0 .. nSampled)`, and add it to the margins. */
  grow(nSampled: number): TreeJson {
    this.resetTree();
    const { lanes, params, profile } = this;
    const root = this.addNode(0, nSampled, 0, 0);
    let level: number[] = [];
    if (nSampled > 0) {
      const rootHist = lanes.allocate();
      this.hist[root] = rootHist;
      const t0 = performance.now();
      lanes.histograms([{ hist: rootHist, parent: null, start: 0, end: nSampled }], this.words, this.nWords);
      profile.histograms += performance.now() - t0;
      this.setRootSums(rootHist.data);
      level = [root];
    }
    const settings = { lambda: params.lambda, minChild: Math.max(params.minChildWeight, MIN_HESSIAN), minGain: Math.max(params.gamma, MIN_GAIN) };
    for (let depth = 0; depth < params.maxDepth && level.length > 0; depth++) {
      const t0 = performance.now();
      const splitTasks: SplitTask[] = level.map((node) => ({ hist: this.hist[node]!, G: this.gradSum[2 * node]!, H: this.gradSum[2 * node + 1]! }));
      const found = this.nActive > 0 ? lanes.splits(splitTasks, this.features, this.nActive, settings) : [];
      const t1 = performance.now();
      profile.splits += t1 - t0;

      const splitting: number[] = [];
      const leftSums: number[] = [];
      const partitions: PartitionTask[] = [];
      for (let i = 0; i < level.length; i++) {
        const node = level[i]!;
        const best = found[i];
        if (best === undefined || best.feature < 0) {
          lanes.release(this.hist[node]!);
          this.hist[node] = null;
          continue;
        }
        this.feature[node] = best.feature;
        this.bin[node] = best.bin;
        this.threshold[node] = this.binned.cuts[best.feature]![best.bin]!;
        this.gain[node] = best.gain;
        splitting.push(node);
        // Children sums come from the split scan: GL, HL and the remainder.
        leftSums.push(best.GL, best.HL);
        partitions.push({ start: this.start[node]!, end: this.end[node]!, feature: best.feature, bin: best.bin });
      }
      const leftCounts = partitions.length > 0 ? lanes.partition(partitions) : new Int32Array(0);
      const t2 = performance.now();
      profile.partition += t2 - t1;

      const next: number[] = [];
      const tasks: HistogramTask[] = [];
      const childrenSplit = depth + 1 < params.maxDepth;
      for (let i = 0; i < splitting.length; i++) {
        const node = splitting[i]!;
        const start = this.start[node]!;
        const end = this.end[node]!;
        const mid = start + leftCounts[i]!;
        const GL = leftSums[2 * i]!;
        const HL = leftSums[2 * i + 1]!;
        const G = this.gradSum[2 * node]!;
        const H = this.gradSum[2 * node + 1]!;
        const l = this.addNode(start, mid, GL, HL);
        const r = this.addNode(mid, end, G - GL, H - HL);
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
          tasks.push({ hist: small, parent: parentHist, start: smallerIsLeft ? start : mid, end: smallerIsLeft ? mid : end });
          next.push(l, r);
        } else {
          lanes.release(parentHist);
        }
      }
      if (tasks.length > 0) lanes.histograms(tasks, this.words, this.nWords);
      profile.histograms += performance.now() - t2;
      level = next;
    }
    const t3 = performance.now();
    const tree = this.finishTree(nSampled);
    profile.leaves += performance.now() - t3;
    return tree;
  }

  /** Root sums from the histogram of one feature (every feature's bins sum to the same totals). */
  private setRootSums(hist: Float64Array): void {
    const f = this.words[0]! * 4;
    let g = 0;
    let h = 0;
    for (let k = f << 9, end = (f << 9) + 512; k < end; k += 2) {
      g += hist[k]!;
      h += hist[k + 1]!;
    }
    this.gradSum[0] = g;
    this.gradSum[1] = h;
    this.cover[0] = h;
  }

  private resetTree(): void {
    for (const list of [this.feature, this.bin, this.threshold, this.left, this.right, this.value, this.gain, this.cover]) list.length = 0;
    this.start.length = 0;
    this.end.length = 0;
    this.gradSum.length = 0;
    this.hist.length = 0;
  }

  private addNode(start: number, end: number, g: number, h: number): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.bin.push(0);
    this.threshold.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.gain.push(0);
    this.cover.push(h);
    this.start.push(start);
    this.end.push(end);
    this.gradSum[2 * id] = g;
    this.gradSum[2 * id + 1] = h;
    this.hist.push(null);
    return id;
  }

  /** Set leaf values, add them to the margins of every row, and emit the tree. */
  private finishTree(nSampled: number): TreeJson {
    const { lambda, learningRate } = this.params;
    const { rows, margin } = this;
    const nNodes = this.feature.length;
    for (let node = 0; node < nNodes; node++) {
      if (this.feature[node]! >= 0) continue;
      const G = this.gradSum[2 * node]!;
      const H = this.gradSum[2 * node + 1]!;
      const v = H + lambda > 0 ? (-G / (H + lambda)) * learningRate : 0;
      this.value[node] = v;
      const end = this.end[node]!;
      for (let i = this.start[node]!; i < end; i++) margin[rows[i]!]! += v;
    }
    if (nSampled < this.binned.nRows) this.addToUnsampled();
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
