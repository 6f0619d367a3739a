import { availableParallelism } from 'node:os';
import { BoostingLanes, needsSharedMemory } from './lanes/boosting.lanes.js';
import type { Quantisation } from './lanes/lane.types.js';
import type { Dataset } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import { type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
import { GbdtModel } from './gbdt.model.js';
import { MAX_BINS_LIMIT, binStride } from './histogram.binner.js';
import { HIST_WORD_SIZE } from './kernels/histogram.kernel.js';
import type { TreeJson } from './model.port.js';
import { type Random, createRandom } from './random.js';
import { allocateFloat64, allocateInt32, shareFloat64 } from './shared-memory.js';
import { type GrowerBins, TreeGrower } from './tree.grower.js';
import { WasmArena } from './wasm/wasm.arena.js';

/**
 * Below this many cells (rows x features) a second lane costs more than it saves: its start-up,
 * its binning with cold code, and a hand-off per level of every tree outweigh the halved kernels
 * (measured: slower on 1.2M cells, faster on 3.8M; see bench/train/README.md).
 */
export const THREADED_MIN_CELLS = 1 << 21;
/** The prior rate is clipped so a one-class training set still has a finite base score. */
const PRIOR_CLIP = 1e-7;
/** Fewest bits for a quantised gradient plus hessian; below this, splits would get too coarse. */
const MIN_QUANTISATION_BITS = 6;

/** Where a fit spent its time, in seconds (for the benchmark's "where the time goes"). */
export interface GbdtFitProfile {
  /** Lanes (threads) that ran the last command: fewer than asked while workers were starting, or if they could not. */
  threads: number;
  /** Seconds from the start of the fit until every worker lane had joined a command (0 without workers, -1 if one never did). */
  lanesJoined: number;
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

/**
 * Number of lanes for a fit: at most `requested` (0: two on a multi-core machine), and one below
 * THREADED_MIN_CELLS; with `exact`, `requested` itself (tests of the lanes).
 */
export function resolveThreads(requested: number, nRows: number, nFeatures: number, exact = false): number {
  if (exact && requested > 0) return requested;
  if (nRows * nFeatures < THREADED_MIN_CELLS) return 1;
  return requested > 0 ? requested : Math.min(2, availableParallelism());
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
  /**
   * Wait for the worker lanes to start before binning (default false: the calling thread starts
   * alone and workers join as they come up). Tests use it to be sure every lane ran; it implies
   * `exactThreads`.
   */
  awaitLanes?: boolean;
  /** Run on `threads` lanes even when the data is too small for them to pay (tests of the lanes). */
  exactThreads?: boolean;
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
  const threads = resolveThreads(
    params.threads,
    n,
    nFeatures,
    options.awaitLanes === true || options.exactThreads === true,
  );
  const shared = needsSharedMemory(threads);
  const stride = binStride(nFeatures);
  let values = data.values;
  // Workers read the values from shared memory. The copy is filled after the workers are started
  // (they read nothing before their first command), so that they come up while it is made: at
  // 480k x 50 rows it takes 0.11 s, and a worker started after it joined binning 0.23-0.25 s in.
  let unshared: Float64Array | Float32Array | null = null;
  if (shared && !(values.buffer instanceof SharedArrayBuffer)) {
    unshared = values;
    values =
      values instanceof Float32Array
        ? new Float32Array(new SharedArrayBuffer(values.byteLength))
        : allocateFloat64(values.length, true);
  }
  const baseScore = priorLogOdds(data);
  // What the WebAssembly kernels read lives in their arena, with room for the histograms of a few levels.
  const arena = new WasmArena(
    WasmArena.bytesFor(n * stride, n * nFeatures, 8 * n, 4 * n, 4 * n, 4 * n, 8 * n, 16 * n, n, 2 * n) +
      64 * 8 * ((stride / 4) * HIST_WORD_SIZE + nFeatures * 256),
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
    options.awaitLanes ?? false,
  );
  if (unshared !== null) values.set(unshared);
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
    const joined = lanes.joinedAfter(started);
    const accounted = binning + Object.values(phases).reduce((sum, v) => sum + v, 0);
    const profile: GbdtFitProfile = {
      threads: lanes.count,
      lanesJoined: joined < 0 ? -1 : joined / 1000,
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
