import type { GbdtParams } from './gbdt.params.js';
import type { BinnedMatrix } from './histogram.binner.js';
import type { BoostingLanes } from './lanes/boosting.lanes.js';
import type {
  HistogramBuffer,
  LeafRange,
  LeafSplit,
  LevelSplit,
  Quantisation,
  SplitResult,
} from './lanes/lane.types.js';
import type { TreeJson } from './model.port.js';
import type { Random } from './random.js';

/** A child needs at least this hessian sum even with minChildWeight 0, so a split never isolates nothing. */
const MIN_HESSIAN = 1e-10;
/** Splits must gain more than this (XGBoost's kRtEps), so float noise never splits a node. */
const MIN_GAIN = 1e-6;

/** What the grower reads of the binned matrix (the row-major bins are packed; only the lanes read them). */
export type GrowerBins = Pick<BinnedMatrix, 'nRows' | 'nFeatures' | 'cols' | 'cuts' | 'nBins'>;

/** Reusable state for growing trees over one binned training set. */
export class TreeGrower {
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
      // Built by push onto one literal, not by `map`: the arrays `map` returns carried maps
      // (elements kinds) that the optimised `grow` and `splitLevel` had not seen, so both were
      // thrown away ("wrong map") and compiled again in every fresh fit.
      const tasks: LevelSplit[] = [];
      for (let i = 0; i < splitting.length; i++) {
        const node = splitting[i]!;
        tasks.push({
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
        });
      }
      const result = splitting.length > 0 ? lanes.splitLevel(tasks) : { leftCounts: new Int32Array(0), found: [] };
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
