import type { WasmArena } from '../wasm/wasm.arena.js';

/**
 * Everything the kernels read and write; on SharedArrayBuffers when there is more than one lane.
 * `bins`, `cols`, `packed`, `rows`, `left`, `right`, `gh`, `margin`, `labels`, `leafOf` and
 * `leafValue` must be views of `arena`, where the WebAssembly kernels read them.
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

/** Limits that size the command tables. */
export interface LaneLimits {
  /** Most nodes one level splits. */
  maxNodes: number;
  /** Most leaves of a tree. */
  maxLeaves: number;
  /** Node ids of a tree (the leaf-value table). */
  maxTreeNodes: number;
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

/** How gradients are quantised: see kernels/gradient.kernel.ts. */
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
