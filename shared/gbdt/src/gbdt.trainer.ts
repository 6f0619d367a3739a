import { availableParallelism } from 'node:os';
import {
  BoostingLanes,
  type HistogramBuffer,
  type LeafRange,
  type LeafSplit,
  type LevelSplit,
  type Quantisation,
  type SplitResult,
  needsSharedMemory,
} from './lanes/boosting.lanes.js';
import type { Dataset } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import { type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
import { GbdtModel } from './gbdt.model.js';
import { type BinnedMatrix, MAX_BINS_LIMIT, binStride } from './histogram.binner.js';
import { WasmArena } from './wasm/wasm.module.js';
import type { TreeJson } from './model.port.js';
import { type Random, createRandom } from './random.js';
import { allocateFloat64, allocateInt32, shareFloat64 } from './shared-memory.js';

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
  /** The calling thread's share of each phase (the other lanes do about the same alongside). */
  gradients: number;
  histograms: number;
  splits: number;
  partition: number;
  /** Copying partitioned rows back in place. */
  stitch: number;
  leaves: number;
  /** The calling thread waiting for the other lanes inside a command (load imbalance). */
  waiting: number;
  /** Everything else: hand-offs between commands, tree bookkeeping on the calling thread. */
  other: number;
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
export function quantisationFor(
  nRows: number,
  maxWeight: number,
): Quantisation & { gradientBits: number; hessianBits: number } {
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

/** How a fit lays out its work; none of these change the model. */
export interface GbdtFitOptions {
  /** Pack features with few bins into shared bytes of a binned row (histogram.packing.ts); default true. */
  packBins?: boolean;
}

/**
 * Fit gradient-boosted trees for binary logistic loss (XGBoost `binary:logistic`, `tree_method=hist`,
 * depth-wise growth). Split search runs on quantised gradients; leaf values use the exact ones.
 * Deterministic: the same data, parameters and seed give identical JSON, at any thread count.
 */
export function fitGbdt(
  data: Dataset,
  given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>,
): GbdtModel {
  return fitGbdtProfiled(data, given).model;
}

/** `fitGbdt`, also reporting where the time went. */
export function fitGbdtProfiled(
  data: Dataset,
  given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>,
  options: GbdtFitOptions = {},
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
    const copy =
      values instanceof Float32Array
        ? new Float32Array(new SharedArrayBuffer(values.byteLength))
        : allocateFloat64(values.length, true);
    copy.set(values);
    values = copy;
  }
  const baseScore = priorLogOdds(data);
  // What the WebAssembly kernels read lives in their arena, with room for the histograms of a few levels.
  const arena = new WasmArena(
    WasmArena.bytesFor(n * stride, n * nFeatures, 8 * n, 4 * n, 4 * n, 4 * n, 8 * n, 16 * n, n, 2 * n) +
      64 * 8 * ((stride / 4) * 1024 + nFeatures * 256),
  );
  const margin = arena.float64(n).fill(baseScore);
  const rows = arena.uint32(n);
  for (let r = 0; r < n; r++) rows[r] = r;
  const bins = arena.uint8(n * stride);
  const cols = arena.uint8(n * nFeatures);
  const cutsTable = allocateFloat64(nFeatures * MAX_BINS_LIMIT, shared);
  const nBins = allocateInt32(nFeatures, shared);
  // The most nodes one level can split, leaves of a tree, and node ids of a tree.
  const maxNodes = Math.min(2 ** (params.maxDepth - 1), n);
  const maxTreeNodes = 2 ** (params.maxDepth + 1);
  const lanes = new BoostingLanes(
    {
      arena,
      values,
      nRows: n,
      nFeatures,
      maxBins: Math.min(MAX_BINS_LIMIT, params.maxBins),
      bins,
      stride,
      slotOf: allocateInt32(nFeatures, shared),
      mult: allocateInt32(nFeatures, shared),
      span: allocateInt32(nFeatures, shared),
      histAt: allocateInt32(nFeatures, shared),
      byteOffset: allocateInt32(nFeatures, shared),
      cols,
      cuts: cutsTable,
      nBins,
      gh: arena.float64(2 * n),
      packed: arena.float64(n),
      rows,
      left: arena.uint32(n),
      right: arena.uint32(n),
      margin,
      labels: copyInto(arena.uint8(n), data.labels),
      weights: data.weights === undefined ? new Float64Array(0) : shareFloat64(data.weights, shared),
      leafOf: arena.uint16(n),
      leafValue: arena.float64(maxTreeNodes),
    },
    threads,
    { maxNodes, maxLeaves: Math.min(2 ** params.maxDepth, n), maxTreeNodes },
  );
  try {
    lanes.bin(options.packBins ?? true);
    const cuts: Float64Array[] = [];
    for (let f = 0; f < nFeatures; f++)
      cuts.push(cutsTable.slice(f * MAX_BINS_LIMIT, f * MAX_BINS_LIMIT + nBins[f]! - 1));
    const binned: GrowerBins = { nRows: n, nFeatures, cols, cuts, nBins: nBins.slice() };
    lanes.setQuantisation(quantisation);
    const binning = (performance.now() - started) / 1000;
    const grower = new TreeGrower(binned, params, quantisation, lanes, margin);
    const random = createRandom(params.seed);
    const trees: TreeJson[] = [];
    for (let t = 0; t < params.nTrees; t++) {
      const nSampled = params.subsample >= 1 ? n : sampleRows(rows, n, params.subsample, random, grower.inSample);
      const seed = random.nextUint32() | 0;
      grower.sampleFeatures(params.colsampleByTree, random);
      trees.push(grower.grow(nSampled, params.subsample >= 1, seed));
    }
    const model = new GbdtModel(data.featureNames, recordedParams(params), baseScore, trees);
    const total = (performance.now() - started) / 1000;
    const times = lanes.times();
    const phases = {
      gradients: times.gradients / 1000,
      histograms: times.histograms / 1000,
      splits: times.splits / 1000,
      partition: times.partition / 1000,
      stitch: times.stitch / 1000,
      leaves: times.leaves / 1000,
      waiting: times.waiting / 1000,
    };
    const accounted = binning + Object.values(phases).reduce((sum, v) => sum + v, 0);
    const profile: GbdtFitProfile = {
      threads: lanes.count,
      gradientBits: quantisation.gradientBits,
      hessianBits: quantisation.hessianBits,
      binning,
      ...phases,
      other: Math.max(0, total - accounted),
      total,
    };
    return { model, profile };
  } finally {
    lanes.close();
  }
}

function copyInto(target: Uint8Array, source: Uint8Array): Uint8Array {
  target.set(source);
  return target;
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

/** What the grower reads of the binned matrix (the row-major bins are packed; only the lanes read them). */
type GrowerBins = Pick<BinnedMatrix, 'nRows' | 'nFeatures' | 'cols' | 'cuts' | 'nBins'>;

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
  /** Rows of a node: `rows[start .. end)` (children of the last level have none). */
  private start: number[] = [];
  private end: number[] = [];
  /** Quantised gradient and hessian sums per node (exact integers). */
  private sums: number[] = [];
  /** Exact gradient and hessian sums of leaves. */
  private exact: number[] = [];
  private hist: (HistogramBuffer | null)[] = [];
  /** Leaves closed before the last level: their rows are still a contiguous range. */
  private closed: LeafRange[] = [];

  constructor(
    private readonly binned: GrowerBins,
    private readonly params: GbdtParams,
    private readonly quantisation: Quantisation,
    private readonly lanes: BoostingLanes,
    private readonly margin: Float64Array,
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
    this.lanes.setFeatures(this.features, this.nActive, {
      lambda,
      minChild: Math.max(minChildWeight, MIN_HESSIAN),
      minGain: Math.max(gamma, MIN_GAIN),
    });
  }

  /**
   * Grow one tree depth-wise over the sampled rows `rows[0 .. nSampled)` (all rows, in order, when
   * `fused`: then the gradient pass also adds the previous tree's leaf values to the margins) and
   * add it to the margins. `seed` drives the gradients' stochastic rounding.
   */
  grow(nSampled: number, fused: boolean, seed: number): TreeJson {
    this.resetTree();
    const { lanes, params } = this;
    const { shift } = this.quantisation;
    const canSplit = nSampled > 0 && this.nActive > 0;
    const rootHist = canSplit ? lanes.allocate() : null;
    const { packedTotal, split: rootSplit } = lanes.gradientsAndRoot(nSampled, fused, seed, rootHist);
    const rootGq = Math.floor(packedTotal / shift);
    const root = this.addNode(0, nSampled, rootGq, packedTotal - rootGq * shift);
    this.hist[root] = rootHist;
    let level: number[] = rootSplit === null ? [] : [root];
    let found: SplitResult[] = rootSplit === null ? [] : [rootSplit];
    if (rootSplit === null) this.closed.push({ start: 0, end: nSampled, id: root });
    const lastSplits: LeafSplit[] = [];
    for (let depth = 0; depth < params.maxDepth && level.length > 0; depth++) {
      const splitting: number[] = [];
      const splits: SplitResult[] = [];
      for (let i = 0; i < level.length; i++) {
        const node = level[i]!;
        const best = found[i]!;
        if (best.feature < 0) {
          lanes.release(this.hist[node]!);
          this.hist[node] = null;
          this.closed.push({ start: this.start[node]!, end: this.end[node]!, id: node });
          continue;
        }
        this.feature[node] = best.feature;
        this.bin[node] = best.bin;
        this.threshold[node] = this.binned.cuts[best.feature]![best.bin]!;
        this.gain[node] = best.gain;
        splitting.push(node);
        splits.push(best);
      }
      if (depth + 1 === params.maxDepth) {
        // Children of the last level are leaves: no histograms, and their rows need not move.
        for (let i = 0; i < splitting.length; i++) {
          const node = splitting[i]!;
          const best = splits[i]!;
          lanes.release(this.hist[node]!);
          this.hist[node] = null;
          const l = this.addNode(-1, -1, best.GLq, best.HLq);
          const r = this.addNode(-1, -1, this.sums[2 * node]! - best.GLq, this.sums[2 * node + 1]! - best.HLq);
          this.left[node] = l;
          this.right[node] = r;
          lastSplits.push({
            start: this.start[node]!,
            end: this.end[node]!,
            feature: best.feature,
            bin: best.bin,
            leftId: l,
            rightId: r,
          });
        }
        level = [];
        break;
      }
      const tasks: LevelSplit[] = splitting.map((node, i) => ({
        start: this.start[node]!,
        end: this.end[node]!,
        feature: splits[i]!.feature,
        bin: splits[i]!.bin,
        hist: this.hist[node]!,
        small: lanes.allocate(),
        Gq: this.sums[2 * node]!,
        Hq: this.sums[2 * node + 1]!,
        GLq: splits[i]!.GLq,
        HLq: splits[i]!.HLq,
      }));
      const result = tasks.length > 0 ? lanes.splitLevel(tasks) : { leftCounts: new Int32Array(0), found: [] };
      const next: number[] = [];
      found = [];
      for (let i = 0; i < splitting.length; i++) {
        const node = splitting[i]!;
        const task = tasks[i]!;
        const mid = task.start + result.leftCounts[i]!;
        const l = this.addNode(task.start, mid, task.GLq, task.HLq);
        const r = this.addNode(mid, task.end, task.Gq - task.GLq, task.Hq - task.HLq);
        this.left[node] = l;
        this.right[node] = r;
        // The same rule the lanes used: the smaller child (by rows) got the new buffer.
        const smallerIsLeft = mid - task.start <= task.end - mid;
        this.hist[smallerIsLeft ? l : r] = task.small;
        this.hist[smallerIsLeft ? r : l] = task.hist;
        this.hist[node] = null;
        next.push(l, r);
        found.push(result.found[2 * i]!, result.found[2 * i + 1]!);
      }
      level = next;
    }
    for (const node of level) {
      const hist = this.hist[node];
      if (hist != null) lanes.release(hist);
    }
    return this.finishTree(nSampled, fused, lastSplits);
  }

  private resetTree(): void {
    for (const list of [
      this.feature,
      this.bin,
      this.threshold,
      this.left,
      this.right,
      this.value,
      this.gain,
      this.cover,
    ])
      list.length = 0;
    this.start.length = 0;
    this.end.length = 0;
    this.sums.length = 0;
    this.exact.length = 0;
    this.hist.length = 0;
    this.closed = [];
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

  /**
   * Record every row's leaf and sum each leaf's exact gradients; leaf values from those; add them
   * to the margins (now, or in the next tree's gradient pass when fused); emit the tree.
   */
  private finishTree(nSampled: number, fused: boolean, lastSplits: readonly LeafSplit[]): TreeJson {
    const { lambda, learningRate } = this.params;
    const { splitSums, leafSums } = this.lanes.closeLeaves(lastSplits, this.closed);
    lastSplits.forEach((split, i) => {
      this.exact[2 * split.leftId] = splitSums[4 * i]!;
      this.exact[2 * split.leftId + 1] = splitSums[4 * i + 1]!;
      this.exact[2 * split.rightId] = splitSums[4 * i + 2]!;
      this.exact[2 * split.rightId + 1] = splitSums[4 * i + 3]!;
    });
    this.closed.forEach((leaf, i) => {
      this.exact[2 * leaf.id] = leafSums[2 * i]!;
      this.exact[2 * leaf.id + 1] = leafSums[2 * i + 1]!;
    });
    const nNodes = this.feature.length;
    const leafValue = this.lanes.leafValues;
    for (let node = 0; node < nNodes; node++) {
      if (this.feature[node]! >= 0) continue;
      const G = this.exact[2 * node]!;
      const H = this.exact[2 * node + 1]!;
      const v = H + lambda > 0 ? (-G / (H + lambda)) * learningRate : 0;
      this.value[node] = v;
      this.cover[node] = H;
      leafValue[node] = v;
    }
    // Without subsample the next gradient pass adds the leaf values to the margins; else add them now.
    if (!fused) this.lanes.addLeafValues(nSampled);
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
