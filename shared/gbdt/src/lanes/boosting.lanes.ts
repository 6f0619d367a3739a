import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import {
  accumulateHistogram,
  addLeafValues,
  closeLeaf,
  computeCuts,
  computeGradients,
  distinctCuts,
  extractColumns,
  fillBins,
  findBestSplit,
  laneBarrier,
  partitionRows,
  sortFloat64,
  splitIntoLeaves,
  subtractHistogram,
  transposeBins,
  unpackHistograms,
} from '../kernels/histogram.kernel.js';
import { EXP_CONSTANTS, EXP_POW2_FRAC, EXP_POW2_INT } from '../fast-math.js';
import { planPacking } from '../histogram.packing.js';
import {
  type WasmApi,
  type WasmArena,
  type WasmKernels,
  type WasmMemory,
  type WasmModule,
  boostingWasmModule,
  instantiateWasmKernels,
} from '../wasm/wasm.module.js';
import { allocateFloat64, allocateInt32 } from '../shared-memory.js';

/**
 * Parallel lanes for the boosting kernels. Lane 0 is the calling thread; lanes 1.. are worker
 * threads driven synchronously through Atomics on shared memory, so `fit` stays a plain function
 * and a command costs a few microseconds of hand-off, not an event-loop round trip.
 *
 * A tree takes one command per level, each with one barrier inside, so lanes hand off rarely:
 *
 * - `bin`: cuts and column-major bins by feature; then (calling thread) the packing of features into
 *   the bytes of a row (histogram.packing.ts); then the row-major packed bins by rows;
 * - `gradientsAndRoot`: gradients by row, barrier, the root's histogram and split search by feature;
 * - `splitLevel`: the stable partition of each splitting node by chunks of rows, into two scratch
 *   arrays; barrier; then each lane copies its chunks back in place (left parts, then right parts),
 *   and, for its own features, builds the histogram of each node's smaller child from the scratch
 *   arrays, derives the larger child's by subtraction from the parent's, and finds both children's
 *   best splits;
 * - `closeLeaves`: the splits whose children are leaves record each row's leaf (rows do not move)
 *   and sum the exact gradients of both sides; leaves closed earlier are summed whole.
 *
 * The heaviest kernels run as WebAssembly on a shared memory (boosting.wasm.ts): the arrays they
 * touch are views of that memory, and each worker instantiates the module on it.
 *
 * Work is split so that results never depend on the lane count: histograms and split search by
 * slot (each slot, and so each feature, handled whole by one lane; ties between lanes go to the
 * lowest feature, as within a lane), gradients and margin updates by row
 * (element-wise), partitions by chunks of rows (a stable partition is the same however it is
 * chunked), exact sums by fixed-size chunks counted from the node's start and added in chunk
 * order, or by whole leaf. Quantised histogram sums are exact integers, so any order gives them.
 */

/**
 * Everything the kernels read and write; on SharedArrayBuffers when there is more than one lane.
 * `bins`, `cols`, `packed`, `rows`, `left`, `right`, `gh`, `margin`, `labels`, `leafOf` and
 * `leafValue` must be views of `arena`, where the WebAssembly kernels read them (boosting.wasm.ts).
 */
export interface LaneData {
  arena: WasmArena;
  /** Row-major feature values. */
  values: Float64Array | Float32Array;
  nRows: number;
  nFeatures: number;
  maxBins: number;
  /** Row-major packed bins, for histograms: room for `stride` bytes per row (one per feature, padded to words); `bin` packs them into fewer. */
  bins: Uint8Array;
  stride: number;
  /** The packing of features into row bytes, filled by `bin` (see PackingPlan): per feature, its slot, multiplier, slot span, histogram offset and byte in the row. */
  slotOf: Int32Array;
  mult: Int32Array;
  span: Int32Array;
  histAt: Int32Array;
  byteOffset: Int32Array;
  /** Column-major bins, `nRows` bytes per feature, for partitions. */
  cols: Uint8Array;
  /** Cuts of feature `f` at `[f * 256, f * 256 + nBins[f] - 1)`; filled by `bin`. */
  cuts: Float64Array;
  nBins: Int32Array;
  /** Exact gradient and hessian of each row, interleaved. */
  gh: Float64Array;
  /** Quantised gradient and hessian of each row, packed into one double. */
  packed: Float64Array;
  /** The sampled rows, grouped by node during a tree. */
  rows: Uint32Array;
  /** Scratch for partitions: left and right rows of each chunk. */
  left: Uint32Array;
  right: Uint32Array;
  margin: Float64Array;
  labels: Uint8Array;
  /** Length 0 when unweighted. */
  weights: Float64Array;
  /** Per row, the node id of the leaf it fell in, in the last tree grown. */
  leafOf: Uint16Array;
  /** Per node id of the last tree, its leaf value (fused margin updates). */
  leafValue: Float64Array;
}

/** A node's histogram, named by `id` across threads. */
export interface HistogramBuffer {
  readonly id: number;
  readonly data: Float64Array;
}

export interface SplitResult {
  gain: number;
  /** -1 when no split beats the minimum gain. */
  feature: number;
  bin: number;
  GLq: number;
  HLq: number;
}

export interface RowRange {
  start: number;
  end: number;
}

/** A node split at a level whose children split again. */
export interface LevelSplit extends RowRange {
  feature: number;
  bin: number;
  /** The node's histogram; becomes its larger child's. */
  hist: HistogramBuffer;
  /** A free buffer for the smaller child's histogram. */
  small: HistogramBuffer;
  /** Quantised sums of the node and of its left child. */
  Gq: number;
  Hq: number;
  GLq: number;
  HLq: number;
}

/** A node split into two leaves (ids of the tree's nodes). */
export interface LeafSplit extends RowRange {
  feature: number;
  bin: number;
  leftId: number;
  rightId: number;
}

/** A leaf closed before the last level: its rows are `rows[start .. end)`. */
export interface LeafRange extends RowRange {
  id: number;
}

/** How gradients are quantised: see boosting.kernels.ts. */
export interface Quantisation {
  gScale: number;
  hScale: number;
  shift: number;
}

export interface SplitSettings {
  lambda: number;
  minChild: number;
  minGain: number;
}

/** Where lane 0 (the calling thread) spent its time, in milliseconds. */
export interface LaneTimes {
  gradients: number;
  partition: number;
  /** Waiting at barriers for other lanes. */
  waiting: number;
  /** Copying partitioned rows back in place. */
  stitch: number;
  histograms: number;
  splits: number;
  leaves: number;
}

// Control block slots. runLane reads them as literals (it runs from source in workers).
const COMMAND = 0;
const ITEMS = 1;
const ARG = 2;
const N_FEATURES = 3;
const LANES = 4;
const FAILED = 5;
const READY = 6;
const FLAG = 7;
const BARRIER = 8;
/** 32-bit words per packed binned row, set by `bin`. */
const WORDS = 9;
const SLOTS = 10;
const CMD_ROOT = 1;
const CMD_LEVEL = 2;
const CMD_LEAVES = 3;
const CMD_ADD_LEAF_VALUES = 4;
const CMD_BIN = 7;
const CMD_TRANSPOSE = 8;
const CMD_EXIT = 9;
/** Fields of a node in the node table: start, end, feature * 256 + bin, hist (or left id), small hist (or right id), Gq, Hq, GLq, HLq, first chunk, chunks. */
const NODE_FIELDS = 11;
/** Fields of a chunk: node (-1 for a whole leaf), start, end, lane, leaf id. */
const CHUNK_FIELDS = 5;
const RESULT_FIELDS = 4;
const SPLIT_FIELDS = 5;
/** Timers per lane (see LaneTimes, in that order). */
const TIMERS = 8;
/** Rows per chunk of a chunked command (partitions, leaves, margin updates). */
export const CHUNK_ROWS = 8192;
const READY_TIMEOUT_MS = 10_000;
/** Polls of a lane's done flag before sleeping on it (tens of microseconds: longer spins burn the CPU another busy thread needs). */
const SPIN_LIMIT = 20_000;

/** Whether buffers must live on shared memory for this lane count. */
export function needsSharedMemory(lanes: number): boolean {
  return lanes > 1;
}

/** The state a lane works on: the shared data plus the command tables. */
interface LaneContext extends Omit<LaneData, 'arena'> {
  /** The arena's memory and the WebAssembly module, for workers to instantiate its kernels on. */
  memory: WasmMemory;
  wasmModule: WasmModule;
  bins32: Uint32Array;
  control: Int32Array;
  /** [lambda, minChild, minGain]. */
  settings: Float64Array;
  /** [1 / gScale, 1 / hScale, shift, tree seed] for gradients. */
  gradQ: Float64Array;
  /** [gScale, hScale, shift] for split search. */
  splitQ: Float64Array;
  nodes: Float64Array;
  chunks: Float64Array;
  results: Float64Array;
  splitOut: Float64Array;
  features: Int32Array;
  timers: Float64Array;
  hists: Float64Array[];
  expConstants: Float64Array;
  pow2Int: Float64Array;
  pow2Frac: Float64Array;
  /** Per lane, 4 doubles where the WebAssembly leaf kernels write their sums. */
  scratch: Float64Array;
}

/** The kernels, passed to runLane because workers cannot import them. */
interface Kernels {
  accumulate: typeof accumulateHistogram;
  subtract: typeof subtractHistogram;
  gradients: typeof computeGradients;
  partition: typeof partitionRows;
  leaves: typeof splitIntoLeaves;
  close: typeof closeLeaf;
  addLeaves: typeof addLeafValues;
  split: typeof findBestSplit;
  unpack: typeof unpackHistograms;
  barrier: typeof laneBarrier;
  sort: typeof sortFloat64;
  cuts: typeof computeCuts;
  distinct: typeof distinctCuts;
  fill: typeof fillBins;
  extract: typeof extractColumns;
  transpose: typeof transposeBins;
}

/** Run lane `lane`'s share of the current command. Self-contained: workers run it from source. */
function runLane(c: LaneContext, lane: number, k: Kernels): void {
  const control = c.control;
  const command = control[0]!;
  const items = control[1]!;
  const lanes = control[4]!;
  const T = c.timers;
  const tb = lane * 8;
  // This lane's histogram words, and the active features whose slots live in them (features are
  // ordered by slot).
  const words = control[9]!;
  const wf = Math.floor((lane * words) / lanes);
  const wt = Math.floor(((lane + 1) * words) / lanes);
  const nActive = control[3]!;
  let fa = 0;
  while (fa < nActive && c.slotOf[c.features[fa]!]! < 4 * wf) fa++;
  let fb = fa;
  while (fb < nActive && c.slotOf[c.features[fb]!]! < 4 * wt) fb++;
  const lambda = c.settings[0]!;
  const minChild = c.settings[1]!;
  const minGain = c.settings[2]!;
  const N = c.nodes;
  const C = c.chunks;
  const R = c.results;
  if (command === 1) {
    // Gradients of this lane's rows; then the root's histogram and split search on this lane's words.
    const t0 = performance.now();
    c.results[lane] = k.gradients(
      c.margin,
      c.labels,
      c.weights,
      c.rows,
      Math.floor((lane * items) / lanes),
      Math.floor(((lane + 1) * items) / lanes),
      control[7]!,
      c.leafOf,
      c.leafValue,
      c.gh,
      c.packed,
      c.gradQ,
      c.expConstants,
      c.pow2Int,
      c.pow2Frac,
    );
    const t1 = performance.now();
    T[tb] = T[tb]! + (t1 - t0);
    const root = control[2]!;
    if (root < 0) return;
    k.barrier(control, 8, 5, lanes);
    const t2 = performance.now();
    T[tb + 2] = T[tb + 2]! + (t2 - t1);
    let total = 0;
    for (let l = 0; l < lanes; l++) total += c.results[l]!;
    const shift = c.splitQ[2]!;
    const Gq = Math.floor(total / shift);
    const hist = c.hists[root]!;
    hist.fill(0, wf << 10, wt << 10);
    k.accumulate(c.bins32, words, c.packed, c.rows, 0, items, hist, wf, wt);
    k.unpack(hist, c.features, fa, fb, c.slotOf, c.mult, c.span, c.nBins, c.histAt);
    const t3 = performance.now();
    T[tb + 4] = T[tb + 4]! + (t3 - t2);
    k.split(
      hist,
      Gq,
      total - Gq * shift,
      c.nBins,
      c.histAt,
      c.features,
      fa,
      fb,
      c.splitQ,
      lambda,
      minChild,
      minGain,
      c.splitOut,
      lane * 5,
    );
    T[tb + 5] = T[tb + 5]! + (performance.now() - t3);
  } else if (command === 2) {
    const nNodes = control[2]!;
    const t0 = performance.now();
    for (let t = 0; t < items; t++) {
      if (C[t * 5 + 3] !== lane) continue;
      const split = N[C[t * 5]! * 11 + 2]!;
      R[t * 4] = k.partition(
        c.cols,
        c.nRows,
        c.rows,
        c.left,
        c.right,
        C[t * 5 + 1]!,
        C[t * 5 + 2]!,
        split >> 8,
        split & 255,
      );
    }
    const t1 = performance.now();
    T[tb + 1] = T[tb + 1]! + (t1 - t0);
    k.barrier(control, 8, 5, lanes);
    const t2 = performance.now();
    T[tb + 2] = T[tb + 2]! + (t2 - t1);
    // Each of this lane's chunks back in place: the node's left parts in chunk order from its
    // start, then its right parts.
    const leftTotal = new Int32Array(nNodes);
    for (let t = 0; t < items; t++) leftTotal[C[t * 5]!]! += R[t * 4]!;
    const leftAt = new Int32Array(nNodes);
    const rightAt = new Int32Array(nNodes);
    for (let node = 0; node < nNodes; node++) {
      leftAt[node] = N[node * 11]!;
      rightAt[node] = N[node * 11]! + leftTotal[node]!;
    }
    for (let t = 0; t < items; t++) {
      const node = C[t * 5]!;
      const s = C[t * 5 + 1]!;
      const nl = R[t * 4]!;
      const nr = C[t * 5 + 2]! - s - nl;
      if (C[t * 5 + 3] === lane) {
        c.rows.set(c.left.subarray(s, s + nl), leftAt[node]!);
        c.rows.set(c.right.subarray(s, s + nr), rightAt[node]!);
      }
      leftAt[node] = leftAt[node]! + nl;
      rightAt[node] = rightAt[node]! + nr;
    }
    const t3 = performance.now();
    T[tb + 3] = T[tb + 3]! + (t3 - t2);
    // The smaller child's histogram from its rows (still in the scratch arrays), the larger
    // child's as parent minus smaller, then both children's best splits.
    let tHist = 0;
    let tSplit = 0;
    for (let node = 0; node < nNodes; node++) {
      const b = node * 11;
      const nl = leftTotal[node]!;
      const smallLeft = nl <= N[b + 1]! - N[b]! - nl;
      const parent = c.hists[N[b + 3]!]!;
      const small = c.hists[N[b + 4]!]!;
      const u0 = performance.now();
      small.fill(0, wf << 10, wt << 10);
      const first = N[b + 9]!;
      const last = first + N[b + 10]!;
      for (let t = first; t < last; t++) {
        const s = C[t * 5 + 1]!;
        const cl = R[t * 4]!;
        if (smallLeft) k.accumulate(c.bins32, words, c.packed, c.left, s, s + cl, small, wf, wt);
        else k.accumulate(c.bins32, words, c.packed, c.right, s, C[t * 5 + 2]! - cl, small, wf, wt);
      }
      k.subtract(parent, small, wf, wt);
      k.unpack(small, c.features, fa, fb, c.slotOf, c.mult, c.span, c.nBins, c.histAt);
      k.unpack(parent, c.features, fa, fb, c.slotOf, c.mult, c.span, c.nBins, c.histAt);
      const u1 = performance.now();
      const GLq = N[b + 7]!;
      const HLq = N[b + 8]!;
      k.split(
        smallLeft ? small : parent,
        GLq,
        HLq,
        c.nBins,
        c.histAt,
        c.features,
        fa,
        fb,
        c.splitQ,
        lambda,
        minChild,
        minGain,
        c.splitOut,
        (2 * node * lanes + lane) * 5,
      );
      k.split(
        smallLeft ? parent : small,
        N[b + 5]! - GLq,
        N[b + 6]! - HLq,
        c.nBins,
        c.histAt,
        c.features,
        fa,
        fb,
        c.splitQ,
        lambda,
        minChild,
        minGain,
        c.splitOut,
        ((2 * node + 1) * lanes + lane) * 5,
      );
      tHist += u1 - u0;
      tSplit += performance.now() - u1;
    }
    T[tb + 4] = T[tb + 4]! + tHist;
    T[tb + 5] = T[tb + 5]! + tSplit;
  } else if (command === 3) {
    const t0 = performance.now();
    for (let t = 0; t < items; t++) {
      if (C[t * 5 + 3] !== lane) continue;
      const node = C[t * 5]!;
      if (node >= 0) {
        const b = node * 11;
        k.leaves(
          c.cols,
          c.nRows,
          c.rows,
          C[t * 5 + 1]!,
          C[t * 5 + 2]!,
          N[b + 2]! >> 8,
          N[b + 2]! & 255,
          N[b + 3]!,
          N[b + 4]!,
          c.leafOf,
          c.gh,
          R,
          t * 4,
        );
      } else {
        k.close(c.rows, C[t * 5 + 1]!, C[t * 5 + 2]!, C[t * 5 + 4]!, c.leafOf, c.gh, R, t * 4);
      }
    }
    T[tb + 6] = T[tb + 6]! + (performance.now() - t0);
  } else if (command === 4) {
    k.addLeaves(
      c.margin,
      c.rows,
      Math.floor((lane * items) / lanes),
      Math.floor(((lane + 1) * items) / lanes),
      c.leafOf,
      c.leafValue,
    );
  } else if (command === 7) {
    // Features lane, lane + lanes, …: wide features (which need a sort) tend to come together in
    // a table, and interleaving spreads them. Columns are extracted up to 12 per pass over the rows.
    const mine = Math.ceil((c.nFeatures - lane) / lanes);
    if (mine <= 0) return;
    const n = c.nRows;
    const block = Math.ceil(mine / Math.ceil(mine / 12));
    const columns = new Float64Array(block * n);
    let a: Float64Array | null = null;
    let b: Float64Array | null = null;
    const counts = new Uint32Array(2048);
    for (let i0 = 0; i0 < mine; i0 += block) {
      const count = Math.min(block, mine - i0);
      k.extract(c.values, n, c.nFeatures, lane + i0 * lanes, lanes, count, columns);
      for (let j = 0; j < count; j++) {
        const f = lane + (i0 + j) * lanes;
        const column = columns.subarray(j * n, (j + 1) * n);
        let nCuts = k.distinct(column, n, c.maxBins, c.cuts, f * 256);
        if (nCuts < 0) {
          if (a === null || b === null) {
            a = new Float64Array(n);
            b = new Float64Array(n);
          }
          nCuts = k.cuts(k.sort(column, n, a, b, counts), n, c.maxBins, c.cuts, f * 256);
        }
        c.nBins[f] = nCuts + 1;
        k.fill(column, n, c.cuts, f * 256, nCuts, c.cols, f * n);
      }
    }
  } else if (command === 8) {
    k.transpose(
      c.cols,
      c.nRows,
      c.nFeatures,
      c.bins,
      4 * words,
      c.byteOffset,
      c.mult,
      Math.floor((lane * c.nRows) / lanes),
      Math.floor(((lane + 1) * c.nRows) / lanes),
    );
  }
}

const KERNELS: Kernels = {
  accumulate: accumulateHistogram,
  subtract: subtractHistogram,
  gradients: computeGradients,
  partition: partitionRows,
  leaves: splitIntoLeaves,
  close: closeLeaf,
  addLeaves: addLeafValues,
  split: findBestSplit,
  unpack: unpackHistograms,
  barrier: laneBarrier,
  sort: sortFloat64,
  cuts: computeCuts,
  distinct: distinctCuts,
  fill: fillBins,
  extract: extractColumns,
  transpose: transposeBins,
};

/**
 * The WebAssembly kernels behind the JavaScript kernels' signatures: arrays are arena views, so
 * their byte offsets are addresses. Also run from source in the workers, so it references only its
 * parameters: `jsGradients` is the JavaScript loop for the gradient cases WebAssembly does not run.
 */
function wasmKernels(
  { accumulate: acc, partition: part, gradients: grad, leaves, close }: WasmKernels,
  scratch: Float64Array,
  lane: number,
  jsGradients: Kernels['gradients'],
): Pick<Kernels, 'accumulate' | 'partition' | 'gradients' | 'leaves' | 'close'> {
  const sums = 4 * lane;
  return {
    leaves: (cols, nRows, rows, start, end, feature, bin, leftId, rightId, leafOf, gh, out, at) => {
      leaves(
        cols.byteOffset + feature * nRows,
        rows.byteOffset,
        start,
        end,
        bin,
        leftId,
        rightId,
        leafOf.byteOffset,
        gh.byteOffset,
        scratch.byteOffset + 8 * sums,
      );
      for (let j = 0; j < 4; j++) out[at + j] = scratch[sums + j]!;
    },
    close: (rows, start, end, id, leafOf, gh, out, at) => {
      close(rows.byteOffset, start, end, id, leafOf.byteOffset, gh.byteOffset, scratch.byteOffset + 8 * sums);
      out[at] = scratch[sums]!;
      out[at + 1] = scratch[sums + 1]!;
    },
    // The common case (no subsample, no weights); the general loop stays in JavaScript.
    gradients: (
      margin,
      labels,
      weights,
      rows,
      from,
      to,
      fused,
      leafOf,
      leafValue,
      gh,
      packed,
      q,
      expConstants,
      pow2Int,
      pow2Frac,
    ) =>
      fused !== 1 || weights.length > 0
        ? jsGradients(
            margin,
            labels,
            weights,
            rows,
            from,
            to,
            fused,
            leafOf,
            leafValue,
            gh,
            packed,
            q,
            expConstants,
            pow2Int,
            pow2Frac,
          )
        : grad(
            margin.byteOffset,
            labels.byteOffset,
            rows.byteOffset,
            from,
            to,
            leafOf.byteOffset,
            leafValue.byteOffset,
            gh.byteOffset,
            packed.byteOffset,
            pow2Int.byteOffset,
            pow2Frac.byteOffset,
            q[3]! | 0,
            expConstants[0]!,
            expConstants[1]!,
            expConstants[2]!,
            q[0]!,
            q[1]!,
            q[2]!,
          ),
    accumulate: (bins32, wordsPerRow, packed, rows, start, end, hist, wordFrom, wordTo) =>
      acc(
        bins32.byteOffset,
        wordsPerRow,
        packed.byteOffset,
        rows.byteOffset,
        start,
        end,
        hist.byteOffset,
        wordFrom,
        wordTo,
      ),
    partition: (cols, nRows, rows, left, right, start, end, feature, bin) =>
      part(cols.byteOffset + feature * nRows, rows.byteOffset, left.byteOffset, right.byteOffset, start, end, bin),
  };
}

/** Limits that size the command tables. */
export interface LaneLimits {
  /** Most nodes one level splits. */
  maxNodes: number;
  /** Most leaves of a tree. */
  maxLeaves: number;
  /** Node ids of a tree (the leaf-value table). */
  maxTreeNodes: number;
}

/** Parallel lanes over one training set. Call `close` when done. */
export class BoostingLanes {
  readonly count: number;
  private readonly context: LaneContext;
  private readonly workers: LaneWorker[];
  private readonly buffers: HistogramBuffer[] = [];
  private readonly free: HistogramBuffer[] = [];
  /** Doubles per histogram buffer; set by `bin`. */
  private histLength = 0;
  private readonly shared: boolean;
  private readonly arena: WasmArena;
  /** The kernels on the calling thread: KERNELS with the WebAssembly histogram, partition and gradient kernels. */
  private readonly kernels: Kernels;

  /** @param requested lanes wanted; fewer are used if workers cannot start. */
  constructor(data: LaneData, requested: number, limits: LaneLimits) {
    this.shared = needsSharedMemory(requested);
    const control = allocateInt32(SLOTS + 2 * requested, this.shared);
    // Chunks of one command: every splitting node's rows cut into CHUNK_ROWS pieces, plus leaves.
    const maxChunks = Math.ceil(data.nRows / CHUNK_ROWS) + limits.maxNodes + limits.maxLeaves + 1;
    const { arena, ...arrays } = data;
    this.arena = arena;
    this.context = {
      ...arrays,
      memory: arena.memory,
      wasmModule: boostingWasmModule(),
      bins32: new Uint32Array(data.bins.buffer, data.bins.byteOffset, data.bins.byteLength >>> 2),
      control,
      settings: allocateFloat64(4, this.shared),
      gradQ: allocateFloat64(4, this.shared),
      splitQ: allocateFloat64(4, this.shared),
      nodes: allocateFloat64(Math.max(1, limits.maxNodes) * NODE_FIELDS, this.shared),
      chunks: allocateFloat64(maxChunks * CHUNK_FIELDS, this.shared),
      results: allocateFloat64(Math.max(maxChunks, requested) * RESULT_FIELDS, this.shared),
      splitOut: allocateFloat64(Math.max(1, 2 * limits.maxNodes) * requested * SPLIT_FIELDS, this.shared),
      features: allocateInt32(data.nFeatures, this.shared),
      timers: allocateFloat64(requested * TIMERS, this.shared),
      hists: [],
      expConstants: EXP_CONSTANTS,
      pow2Int: arena.float64(EXP_POW2_INT.length),
      pow2Frac: arena.float64(EXP_POW2_FRAC.length),
      scratch: arena.float64(4 * requested),
    };
    this.kernels = {
      ...KERNELS,
      ...wasmKernels(instantiateWasmKernels(arena.memory), this.context.scratch, 0, KERNELS.gradients),
    };
    this.context.pow2Int.set(EXP_POW2_INT);
    this.context.pow2Frac.set(EXP_POW2_FRAC);
    this.workers = [];
    for (let lane = 1; lane < requested; lane++) {
      const worker = startWorker(this.context, lane, lane);
      if (worker === null) break;
      this.workers.push(worker);
    }
    this.count = this.workers.length + 1;
    control[LANES] = this.count;
  }

  allocate(): HistogramBuffer {
    if (this.histLength === 0) throw new Error('internal: histograms allocated before bin()');
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const buffer = { id: this.buffers.length, data: this.arena.float64(this.histLength) };
    this.buffers.push(buffer);
    this.context.hists[buffer.id] = buffer.data;
    const { data } = buffer;
    for (const worker of this.workers)
      worker.port.postMessage({ id: buffer.id, buffer: data.buffer, offset: data.byteOffset, length: data.length });
    return buffer;
  }

  release(buffer: HistogramBuffer): void {
    this.free.push(buffer);
  }

  /**
   * Quantise every feature into bins: cuts and column-major bins; the packing of features into the
   * bytes of a row (with `pack` false, one byte per feature); then the row-major packed bins.
   */
  bin(pack = true): void {
    this.dispatch(CMD_BIN);
    const { context } = this;
    const plan = planPacking(context.nBins, pack);
    if (plan.words * 4 > context.stride)
      throw new Error(`internal: ${plan.nSlots} slots exceed the ${context.stride} bytes of a binned row`);
    context.slotOf.set(plan.slotOf);
    context.mult.set(plan.mult);
    context.span.set(plan.span);
    context.histAt.set(plan.histAt);
    context.byteOffset.set(plan.byteOffset);
    context.control[WORDS] = plan.words;
    this.histLength = plan.histLength;
    this.dispatch(CMD_TRANSPOSE);
  }

  setQuantisation(q: Quantisation): void {
    this.context.gradQ[0] = 1 / q.gScale;
    this.context.gradQ[1] = 1 / q.hScale;
    this.context.gradQ[2] = q.shift;
    this.context.splitQ[0] = q.gScale;
    this.context.splitQ[1] = q.hScale;
    this.context.splitQ[2] = q.shift;
  }

  /** Active features for split search: `features[0 .. nFeatures)` (after `bin`, which decides their slots). */
  setFeatures(features: Int32Array, nFeatures: number, settings: SplitSettings): void {
    // Ordered by slot, so each lane's features are a contiguous run.
    const { slotOf } = this.context;
    const ordered = Int32Array.from(features.subarray(0, nFeatures)).sort((a, b) => slotOf[a]! - slotOf[b]! || a - b);
    this.context.features.set(ordered);
    this.context.control[N_FEATURES] = nFeatures;
    this.context.settings[0] = settings.lambda;
    this.context.settings[1] = settings.minChild;
    this.context.settings[2] = settings.minGain;
  }

  /**
   * Gradients of the rows at positions `[0, count)`. When `fused` (no subsample), first add the
   * last tree's leaf values to the margins and reset `rows` to 0, 1, 2 …. `seed` drives the
   * stochastic rounding of this tree. Then, given `root`, build the root's histogram in it over
   * those rows and find its best split. Returns the sum of the packed gradients (the root's sums;
   * an exact integer, so the lanes' partial sums add up the same in any order).
   */
  gradientsAndRoot(
    count: number,
    fused: boolean,
    seed: number,
    root: HistogramBuffer | null,
  ): { packedTotal: number; split: SplitResult | null } {
    const { control, results } = this.context;
    control[ITEMS] = count;
    control[FLAG] = fused ? 1 : 0;
    control[ARG] = root === null ? -1 : root.id;
    this.context.gradQ[3] = seed;
    this.dispatch(CMD_ROOT);
    let packedTotal = 0;
    for (let lane = 0; lane < this.count; lane++) packedTotal += results[lane]!;
    return { packedTotal, split: root === null ? null : this.bestSplit(0) };
  }

  /**
   * Split the nodes of one level whose children split again: partition each node's rows (left
   * child first, stable), build the smaller child's histogram in `small` and turn the node's into
   * the larger child's, and find both children's best splits. Returns each node's left count and
   * the splits of its left and right child (`2 * i`, `2 * i + 1`).
   */
  splitLevel(splits: readonly LevelSplit[]): { leftCounts: Int32Array; found: SplitResult[] } {
    const { control, nodes, chunks, results } = this.context;
    const ranges: RowRange[] = [];
    for (let i = 0; i < splits.length; i++) {
      const split = splits[i]!;
      const b = i * NODE_FIELDS;
      nodes[b] = split.start;
      nodes[b + 1] = split.end;
      nodes[b + 2] = split.feature * 256 + split.bin;
      nodes[b + 3] = split.hist.id;
      nodes[b + 4] = split.small.id;
      nodes[b + 5] = split.Gq;
      nodes[b + 6] = split.Hq;
      nodes[b + 7] = split.GLq;
      nodes[b + 8] = split.HLq;
      ranges.push(split);
    }
    const total = this.chunk(ranges, []);
    control[ITEMS] = total;
    control[ARG] = splits.length;
    this.dispatch(CMD_LEVEL);
    const leftCounts = new Int32Array(splits.length);
    for (let t = 0; t < total; t++) leftCounts[chunks[t * CHUNK_FIELDS]!]! += results[t * RESULT_FIELDS]!;
    const found: SplitResult[] = [];
    for (let i = 0; i < 2 * splits.length; i++) found.push(this.bestSplit(i));
    return { leftCounts, found };
  }

  /**
   * Close the tree: for each split into two leaves, record each row's leaf and sum the exact
   * gradients and hessians of both sides ([GL, HL, GR, HR] per split); for each leaf closed
   * earlier, record its rows' leaf and sum them ([G, H] per leaf). Sums are added in chunk order,
   * chunks counted from each node's start, so they do not depend on the number of lanes.
   */
  closeLeaves(
    splits: readonly LeafSplit[],
    leaves: readonly LeafRange[],
  ): { splitSums: Float64Array; leafSums: Float64Array } {
    const { control, nodes, chunks, results } = this.context;
    for (let i = 0; i < splits.length; i++) {
      const split = splits[i]!;
      const b = i * NODE_FIELDS;
      nodes[b + 2] = split.feature * 256 + split.bin;
      nodes[b + 3] = split.leftId;
      nodes[b + 4] = split.rightId;
    }
    const total = this.chunk(splits, leaves);
    control[ITEMS] = total;
    this.dispatch(CMD_LEAVES);
    const splitSums = new Float64Array(4 * splits.length);
    const leafSums = new Float64Array(2 * leaves.length);
    let leaf = 0;
    for (let t = 0; t < total; t++) {
      const node = chunks[t * CHUNK_FIELDS]!;
      if (node >= 0) {
        for (let j = 0; j < 4; j++) splitSums[4 * node + j]! += results[t * RESULT_FIELDS + j]!;
      } else {
        leafSums[2 * leaf] = results[t * RESULT_FIELDS]!;
        leafSums[2 * leaf + 1] = results[t * RESULT_FIELDS + 1]!;
        leaf++;
      }
    }
    return { splitSums, leafSums };
  }

  /** Without fused updates (subsample): add each sampled row's leaf value to its margin. */
  addLeafValues(count: number): void {
    this.context.control[ITEMS] = count;
    this.dispatch(CMD_ADD_LEAF_VALUES);
  }

  /** Per node id of the last tree, its leaf value (written by the grower, read by the next gradient pass). */
  get leafValues(): Float64Array {
    return this.context.leafValue;
  }

  /** The calling thread's time per phase so far, in milliseconds. */
  times(): LaneTimes {
    const t = this.context.timers;
    return {
      gradients: t[0]!,
      partition: t[1]!,
      waiting: t[2]!,
      stitch: t[3]!,
      histograms: t[4]!,
      splits: t[5]!,
      leaves: t[6]!,
    };
  }

  close(): void {
    for (const worker of this.workers) worker.stop();
    this.workers.length = 0;
  }

  /** The best of the lanes' splits; on equal gains the lowest feature, as a single lane would choose. */
  private bestSplit(i: number): SplitResult {
    const out = this.context.splitOut;
    let best = i * this.count * SPLIT_FIELDS;
    for (let lane = 1; lane < this.count; lane++) {
      const at = (i * this.count + lane) * SPLIT_FIELDS;
      if (
        out[at + 1]! >= 0 &&
        (out[best + 1]! < 0 || out[at]! > out[best]! || (out[at] === out[best] && out[at + 1]! < out[best + 1]!))
      )
        best = at;
    }
    return { gain: out[best]!, feature: out[best + 1]!, bin: out[best + 2]!, GLq: out[best + 3]!, HLq: out[best + 4]! };
  }

  /**
   * The chunk table: every node range cut into chunks of at most CHUNK_ROWS rows, counted from the
   * range's start, then each leaf whole; lanes get contiguous runs of about equal rows. Records
   * each node's first chunk and chunk count in the node table. Returns the number of chunks.
   */
  private chunk(ranges: readonly RowRange[], leaves: readonly LeafRange[]): number {
    const { chunks, nodes } = this.context;
    let rows = 0;
    for (const range of ranges) rows += range.end - range.start;
    for (const leaf of leaves) rows += leaf.end - leaf.start;
    let n = 0;
    let seen = 0;
    const laneOf = (size: number): number => {
      const lane = Math.min(this.count - 1, Math.floor(((seen + size / 2) * this.count) / Math.max(1, rows)));
      seen += size;
      return lane;
    };
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!;
      nodes[i * NODE_FIELDS + 9] = n;
      for (let start = range.start; start < range.end; start += CHUNK_ROWS) {
        const end = Math.min(range.end, start + CHUNK_ROWS);
        const at = n * CHUNK_FIELDS;
        chunks[at] = i;
        chunks[at + 1] = start;
        chunks[at + 2] = end;
        chunks[at + 3] = laneOf(end - start);
        chunks[at + 4] = -1;
        n++;
      }
      nodes[i * NODE_FIELDS + 10] = n - nodes[i * NODE_FIELDS + 9]!;
    }
    for (const leaf of leaves) {
      const at = n * CHUNK_FIELDS;
      chunks[at] = -1;
      chunks[at + 1] = leaf.start;
      chunks[at + 2] = leaf.end;
      chunks[at + 3] = laneOf(leaf.end - leaf.start);
      chunks[at + 4] = leaf.id;
      n++;
    }
    if (n * CHUNK_FIELDS > chunks.length) throw new Error(`internal: ${n} chunks exceed the chunk table`);
    return n;
  }

  private dispatch(command: number): void {
    const control = this.context.control;
    control[COMMAND] = command;
    control[BARRIER] = 0;
    for (const worker of this.workers) worker.start();
    let failure: unknown = null;
    try {
      runLane(this.context, 0, this.kernels);
    } catch (error) {
      // Release the other lanes from any barrier, let them finish, then report.
      failure = error;
      Atomics.store(control, FAILED, 1);
      Atomics.notify(control, BARRIER);
    }
    for (const worker of this.workers) worker.wait();
    if (failure !== null) throw failure;
    if (Atomics.load(control, FAILED) !== 0) throw new Error('a boosting worker lane failed; see its stderr');
  }
}

interface LaneWorker {
  readonly port: MessagePort;
  start(): void;
  wait(): void;
  stop(): void;
}

function startWorker(context: LaneContext, lane: number, expectedReady: number): LaneWorker | null {
  const control = context.control;
  const seqSlot = SLOTS + 2 * lane;
  const doneSlot = seqSlot + 1;
  const channel = new MessageChannel();
  const { hists: _hists, ...shared } = context;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { lane, port: channel.port2, context: shared },
      transferList: [channel.port2],
    });
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  // READY counts started workers; give up on this one (and run with fewer lanes) after a timeout.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(control, READY);
    if (ready >= expectedReady) break;
    if (Date.now() > deadline) {
      void worker.terminate();
      return null;
    }
    Atomics.wait(control, READY, ready, 50);
  }
  let seq = 0;
  return {
    port: channel.port1,
    start() {
      seq++;
      Atomics.store(control, seqSlot, seq);
      Atomics.notify(control, seqSlot);
    },
    wait() {
      // Spin a little before sleeping: a lane usually finishes within microseconds of the calling
      // thread, and a sleeping thread may wait a whole scheduler slice to run again on a busy machine.
      for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(control, doneSlot) !== seq; spin++);
      for (;;) {
        const done = Atomics.load(control, doneSlot);
        if (done === seq) break;
        Atomics.wait(control, doneSlot, done);
      }
    },
    stop() {
      control[COMMAND] = CMD_EXIT;
      seq++;
      Atomics.store(control, seqSlot, seq);
      Atomics.notify(control, seqSlot);
      channel.port1.close();
    },
  };
}

/** The worker's loop; run from source, so it references only its parameters. */
function laneWorkerMain(
  threads: typeof WorkerThreads,
  run: typeof runLane,
  bindWasm: typeof wasmKernels,
  kernels: Kernels,
): void {
  const init = threads.workerData as { lane: number; port: MessagePort; context: LaneContext };
  const context = init.context;
  context.hists = [];
  // The WebAssembly kernels on the shared arena.
  const { exports } = new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Instance(context.wasmModule, {
    env: { mem: context.memory },
  });
  const wasm = {
    accumulate: exports.acc,
    partition: exports.part,
    gradients: exports.grad,
    leaves: exports.leaves,
    close: exports.close,
  } as WasmKernels;
  Object.assign(kernels, bindWasm(wasm, context.scratch, init.lane, kernels.gradients));
  const control = context.control;
  const seqSlot = 10 + 2 * init.lane;
  let seen = 0;
  Atomics.add(control, 6, 1);
  Atomics.notify(control, 6);
  for (;;) {
    // Spin before sleeping, as the calling thread does (see LaneWorker.wait); the limit is a literal
    // here because this function runs from source. Atomics.wait can return without the value having
    // changed (it did, about once in 10^5 commands, re-running a command), so loop until it has.
    let next = Atomics.load(control, seqSlot);
    for (let spin = 0; spin < 20000 && next === seen; spin++) next = Atomics.load(control, seqSlot);
    while (next === seen) {
      Atomics.wait(control, seqSlot, seen);
      next = Atomics.load(control, seqSlot);
    }
    seen = next;
    if (control[0] === 9) break;
    try {
      for (
        let m = threads.receiveMessageOnPort(init.port);
        m !== undefined;
        m = threads.receiveMessageOnPort(init.port)
      ) {
        const message = m.message as { id: number; buffer: SharedArrayBuffer; offset: number; length: number };
        context.hists[message.id] = new Float64Array(message.buffer, message.offset, message.length);
      }
      run(context, init.lane, kernels);
    } catch (error) {
      Atomics.store(control, 5, 1);
      console.error(error);
    }
    Atomics.store(control, seqSlot + 1, seen);
    Atomics.notify(control, seqSlot + 1);
  }
}

const WORKER_SOURCE = [
  // Transpilers that keep function names may emit calls to a `__name` helper; make it harmless.
  'var __name = function (f) { return f; };',
  ...Object.values(KERNELS).map((f) => f.toString()),
  runLane.toString(),
  wasmKernels.toString(),
  // Bundlers rename imported bindings inside functions, so everything is passed in as arguments.
  `(${laneWorkerMain.toString()})(require('node:worker_threads'), ${runLane.name}, ${wasmKernels.name}, { ${Object.entries(
    KERNELS,
  )
    .map(([key, f]) => `${key}: ${f.name}`)
    .join(', ')} });`,
].join('\n');
