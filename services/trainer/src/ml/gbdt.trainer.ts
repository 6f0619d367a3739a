import { availableParallelism } from 'node:os';
import type { Dataset } from './dataset.js';
import { type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
import { GbdtModel } from './gbdt.model.js';
import { type BinnedMatrix, binMatrix } from './histogram.binner.js';
import {
  type HistogramBuffer,
  type HistogramRunner,
  type HistogramTask,
  allocateFloat64,
  allocateUint32,
  createHistogramRunner,
  needsSharedMemory,
} from './histogram.runner.js';
import type { TreeJson } from './model.port.js';
import { type Random, createRandom } from './random.js';

/** Below this many cells a second thread costs more (worker start-up) than it saves. */
const THREADED_MIN_CELLS = 1 << 20;
/** A child needs at least this hessian sum even with minChildWeight 0, so splits never isolate nothing. */
const MIN_HESSIAN = 1e-10;
/** Splits must gain more than this (XGBoost's kRtEps), so float noise never splits a node. */
const MIN_GAIN = 1e-6;
/** Floor of a row's hessian, as in XGBoost, so leaves of confident rows stay finite. */
const HESSIAN_FLOOR = 1e-16;
/** The prior rate is clipped so a one-class training set still has a finite base score. */
const PRIOR_CLIP = 1e-7;

/** Parameters recorded in the model JSON: everything but `threads`, which does not change the model. */
function recordedParams(params: GbdtParams): Record<string, number> {
  const { threads: _threads, ...rest } = params;
  return { ...rest };
}

/** Number of threads for histogram building. */
export function resolveThreads(requested: number, nRows: number, nFeatures: number): number {
  const words = Math.ceil(nFeatures / 4);
  const wanted = requested > 0 ? requested : nRows * nFeatures >= THREADED_MIN_CELLS ? Math.min(2, availableParallelism()) : 1;
  return Math.max(1, Math.min(wanted, words));
}

/**
 * Fit gradient-boosted trees for binary logistic loss (XGBoost `binary:logistic`, `tree_method=hist`,
 * depth-wise growth). Deterministic: the same data, parameters and seed give identical JSON.
 */
export function fitGbdt(data: Dataset, given?: Readonly<Partial<GbdtParams>> | Readonly<Record<string, unknown>>): GbdtModel {
  const params = resolveGbdtParams(given);
  const threads = resolveThreads(params.threads, data.nRows, data.nFeatures);
  const shared = needsSharedMemory(threads);
  const binned = binMatrix(data, { maxBins: params.maxBins, shared });
  const n = data.nRows;
  const gh = allocateFloat64(2 * n, shared);
  const rows = allocateUint32(n, shared);
  const runner = createHistogramRunner({ bins: binned.bins, wordsPerRow: binned.stride >>> 2, gh, rows, threads });
  try {
    const grower = new TreeGrower(binned, params, runner, gh, rows);
    const baseScore = priorLogOdds(data);
    const margin = new Float64Array(n).fill(baseScore);
    const random = createRandom(params.seed);
    const trees: TreeJson[] = [];
    for (let t = 0; t < params.nTrees; t++) {
      const nSampled = sampleRows(rows, n, params.subsample, random, grower.inSample);
      computeGradients(data, margin, rows, nSampled, gh);
      grower.sampleFeatures(params.colsampleByTree, random);
      trees.push(grower.grow(nSampled, margin));
    }
    return new GbdtModel(data.featureNames, recordedParams(params), baseScore, trees);
  } finally {
    runner.close();
  }
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

function computeGradients(data: Dataset, margin: Float64Array, rows: Uint32Array, count: number, gh: Float64Array): void {
  const { labels, weights } = data;
  for (let i = 0; i < count; i++) {
    const r = rows[i]!;
    const p = 1 / (1 + Math.exp(-margin[r]!));
    const w = weights === undefined ? 1 : weights[r]!;
    gh[r << 1] = (p - labels[r]!) * w;
    gh[(r << 1) | 1] = Math.max(p * (1 - p), HESSIAN_FLOOR) * w;
  }
}

/** Reusable state for growing trees over one binned training set. */
class TreeGrower {
  readonly inSample: Uint8Array;
  private readonly nFeatures: number;
  private readonly featureActive: Uint8Array;
  private readonly words: Int32Array;
  private nWords = 0;
  private readonly tmp: Uint32Array;
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
  // The best split found by findSplit.
  private bestFeature = -1;
  private bestBin = -1;
  private bestGain = 0;
  private bestGL = 0;
  private bestHL = 0;

  constructor(
    private readonly binned: BinnedMatrix,
    private readonly params: GbdtParams,
    private readonly runner: HistogramRunner,
    private readonly gh: Float64Array,
    private readonly rows: Uint32Array,
  ) {
    this.nFeatures = binned.nFeatures;
    this.inSample = new Uint8Array(binned.nRows);
    this.featureActive = new Uint8Array(binned.nFeatures).fill(1);
    this.words = new Int32Array(binned.stride >>> 2);
    this.tmp = new Uint32Array(binned.nRows);
    this.updateWords();
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
    this.updateWords();
  }

  private updateWords(): void {
    this.nWords = 0;
    for (let j = 0; j < this.words.length; j++) {
      let any = 0;
      for (let f = 4 * j; f < Math.min(4 * j + 4, this.nFeatures); f++) any |= this.featureActive[f]!;
      if (any !== 0) this.words[this.nWords++] = j;
    }
  }

  /** Grow one tree depth-wise over the sampled rows `rows[0 .. nSampled)`, and add it to `margin`. */
  grow(nSampled: number, margin: Float64Array): TreeJson {
    this.resetTree();
    const { gh, rows, runner, params } = this;
    let g = 0;
    let h = 0;
    for (let i = 0; i < nSampled; i++) {
      const r = rows[i]!;
      g += gh[r << 1]!;
      h += gh[(r << 1) | 1]!;
    }
    const root = this.addNode(0, nSampled, g, h);
    let level = [root];
    if (params.maxDepth > 0 && nSampled > 0) {
      const rootHist = runner.allocate();
      this.hist[root] = rootHist;
      runner.run([{ hist: rootHist, parent: null, start: 0, end: nSampled }], this.words, this.nWords);
    }
    const tasks: HistogramTask[] = [];
    for (let depth = 0; depth < params.maxDepth && level.length > 0; depth++) {
      const next: number[] = [];
      tasks.length = 0;
      const childrenNeedHistograms = depth + 1 < params.maxDepth;
      for (const node of level) {
        const hist = this.hist[node] ?? null;
        this.hist[node] = null;
        if (hist === null) continue;
        if (!this.findSplit(hist.data, this.gradSum[2 * node]!, this.gradSum[2 * node + 1]!)) {
          runner.release(hist);
          continue;
        }
        const start = this.start[node]!;
        const end = this.end[node]!;
        const mid = this.partition(start, end, this.bestFeature, this.bestBin);
        const G = this.gradSum[2 * node]!;
        const H = this.gradSum[2 * node + 1]!;
        const l = this.addNode(start, mid, this.bestGL, this.bestHL);
        const r = this.addNode(mid, end, G - this.bestGL, H - this.bestHL);
        this.feature[node] = this.bestFeature;
        this.bin[node] = this.bestBin;
        this.threshold[node] = this.binned.cuts[this.bestFeature]![this.bestBin]!;
        this.left[node] = l;
        this.right[node] = r;
        this.gain[node] = this.bestGain;
        next.push(l, r);
        if (childrenNeedHistograms) {
          // Build the smaller child; the parent's histogram minus it becomes the larger child's.
          const smallerIsLeft = mid - start <= end - mid;
          const small = runner.allocate();
          this.hist[smallerIsLeft ? l : r] = small;
          this.hist[smallerIsLeft ? r : l] = hist;
          tasks.push({ hist: small, parent: hist, start: smallerIsLeft ? start : mid, end: smallerIsLeft ? mid : end });
        } else {
          runner.release(hist);
        }
      }
      if (tasks.length > 0) runner.run(tasks, this.words, this.nWords);
      level = next;
    }
    for (const node of level) {
      const hist = this.hist[node];
      if (hist != null) runner.release(hist);
    }
    return this.finishTree(nSampled, margin);
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
    this.gradSum.push(g, h);
    this.hist.push(null);
    return id;
  }

  /** Best split of a node from its histogram; false when no split gains more than gamma. */
  private findSplit(hist: Float64Array, G: number, H: number): boolean {
    const { lambda, gamma } = this.params;
    const minChild = Math.max(this.params.minChildWeight, MIN_HESSIAN);
    if (H < 2 * minChild) return false;
    const parentScore = (G * G) / (H + lambda);
    let bestGain = Math.max(gamma, MIN_GAIN);
    let found = false;
    const nBins = this.binned.nBins;
    for (let f = 0; f < this.nFeatures; f++) {
      if (this.featureActive[f] === 0) continue;
      const last = (f << 9) + ((nBins[f]! - 1) << 1);
      let gl = 0;
      let hl = 0;
      for (let k = f << 9; k < last; k += 2) {
        gl += hist[k]!;
        hl += hist[k + 1]!;
        if (hl < minChild) continue;
        const hr = H - hl;
        if (hr < minChild) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          found = true;
          this.bestFeature = f;
          this.bestBin = (k - (f << 9)) >> 1;
          this.bestGL = gl;
          this.bestHL = hl;
        }
      }
    }
    this.bestGain = bestGain;
    return found;
  }

  /** Stable in-place partition of `rows[start .. end)`: rows whose bin is <= `bin` first. */
  private partition(start: number, end: number, feature: number, bin: number): number {
    const { rows, tmp } = this;
    const { bins, stride } = this.binned;
    const offset = this.binned.byteOffset[feature]!;
    let l = start;
    let nRight = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      if (bins[r * stride + offset]! <= bin) rows[l++] = r;
      else tmp[nRight++] = r;
    }
    rows.set(tmp.subarray(0, nRight), l);
    return l;
  }

  /** Set leaf values, add them to the margins of every row, and emit the tree. */
  private finishTree(nSampled: number, margin: Float64Array): TreeJson {
    const { lambda, learningRate } = this.params;
    const { rows } = this;
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
    if (nSampled < this.binned.nRows) this.addToUnsampled(margin);
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
  private addToUnsampled(margin: Float64Array): void {
    const { bins, stride, byteOffset, nRows } = this.binned;
    for (let r = 0; r < nRows; r++) {
      if (this.inSample[r] === 1) continue;
      let node = 0;
      while (this.feature[node]! >= 0) {
        const f = this.feature[node]!;
        node = bins[r * stride + byteOffset[f]!]! <= this.bin[node]! ? this.left[node]! : this.right[node]!;
      }
      margin[r]! += this.value[node]!;
    }
  }
}
