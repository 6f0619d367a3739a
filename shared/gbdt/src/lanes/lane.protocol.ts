/**
 * How lanes talk: a control block of Int32 slots on shared memory, command tables of doubles, and
 * a barrier. Lane 0 (the calling thread) writes a command and its tables, bumps each worker's
 * sequence slot, runs its own share and waits for each worker's done slot.
 */
import type { WasmMemory, WasmModule } from '../wasm/wasm.module.js';
import type { LaneData } from './lane.types.js';

/** Slots of the control block. */
export const Slot = {
  /** The command to run (Command). */
  COMMAND: 0,
  /** Items of the command: rows (gradients, margin updates), chunks (levels, leaves), or the end of the features to bin. */
  ITEMS: 1,
  /** The command's argument: the root's histogram id (-1: none), the number of nodes, or the first feature to bin. */
  ARG: 2,
  /** Active features for split search. */
  N_FEATURES: 3,
  /** Lanes running the command. */
  LANES: 4,
  /** Set by a lane that failed. */
  FAILED: 5,
  /**
   * Bytes of a binned row's last word that hold slots (1-4), set by `bin`: the others are always 0,
   * and histograms do not accumulate them (27 slots, as in churn, leave one byte of 28 idle).
   */
  TAIL: 6,
  /** 1 when the gradient pass is fused (every row, margins updated on the way). */
  FLAG: 7,
  /** Lanes arrived at the command's barrier. */
  BARRIER: 8,
  /** 32-bit words per packed binned row, set by `bin`. */
  WORDS: 9,
  /**
   * Byte address in the arena of lane 0's binning scratch (the BIN command's columns, sort buffers
   * and counts; lane l's is `binScratchBytes(nRows)` bytes further on), set by `bin`.
   */
  BIN_SCRATCH: 10,
  /**
   * Then per worker lane three slots: its command sequence number, the last one it finished, and 1
   * once it is ready for commands.
   */
  LANE_BASE: 11,
} as const;

/** Control-block slots for `lanes` lanes. */
export function controlSlots(lanes: number): number {
  return Slot.LANE_BASE + 3 * lanes;
}
/** A worker lane's slots: command sequence number, last finished, ready. */
export function laneSlots(lane: number): { sequence: number; done: number; ready: number } {
  const sequence = Slot.LANE_BASE + 3 * lane;
  return { sequence, done: sequence + 1, ready: sequence + 2 };
}

export const Command = {
  /** Gradients and the root's partial histogram by row; barrier; the partials summed and split search by slot. */
  ROOT: 1,
  /**
   * Partitions of each lane's own rows of every node; barrier; stitching and the smaller children's
   * partial histograms of those rows; barrier; the partials summed and split search by slot.
   */
  LEVEL: 2,
  /** Leaf ids and exact leaf sums by chunk. */
  LEAVES: 3,
  /** Margin updates by row (when the gradient pass is not fused). */
  ADD_LEAF_VALUES: 4,
  /** Cuts and column-major bins of features [ARG, ITEMS), by feature. */
  BIN: 7,
  /** Row-major packed bins by row. */
  TRANSPOSE: 8,
  EXIT: 9,
} as const;

/** Fields of a node in the node table. */
export const NodeField = {
  START: 0,
  END: 1,
  /** feature * 256 + bin. */
  SPLIT: 2,
  /** The node's histogram id (levels), or its left leaf's id (leaves). */
  HIST: 3,
  /** The smaller child's histogram id (levels), or the right leaf's id (leaves). */
  SMALL: 4,
  GQ: 5,
  HQ: 6,
  GLQ: 7,
  HLQ: 8,
  FIRST_CHUNK: 9,
  CHUNKS: 10,
} as const;
export const NODE_FIELDS = 11;

/** Fields of a chunk in the chunk table. */
export const ChunkField = {
  /** The node it belongs to, or -1 for a whole leaf. */
  NODE: 0,
  START: 1,
  END: 2,
  LANE: 3,
  /** The leaf's id, for a whole leaf. */
  LEAF: 4,
} as const;
export const CHUNK_FIELDS = 5;
/** Doubles per chunk in the results table (a left count, or up to four sums). */
export const RESULT_FIELDS = 4;
/** Doubles per split found: gain, feature, bin, GLq, HLq. */
export const SPLIT_FIELDS = 5;

/** Per-lane timers, in milliseconds (LaneTimes in this order). */
export const Timer = {
  GRADIENTS: 0,
  PARTITION: 1,
  WAITING: 2,
  STITCH: 3,
  HISTOGRAMS: 4,
  SPLITS: 5,
  LEAVES: 6,
} as const;
export const TIMERS = 8;

/** Rows per chunk of the leaves' exact sums (a fixed size, so the float sums never depend on the lane count). */
export const CHUNK_ROWS = 8192;
/** Polls of a flag before sleeping on it (tens of microseconds: longer spins burn the CPU another busy thread needs). */
export const SPIN_LIMIT = 20_000;

/** The state a lane works on: the shared data plus the command tables. */
export interface LaneContext extends Omit<LaneData, 'arena'> {
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
  /** Histogram buffers by id (workers learn of new ones by message). */
  hists: Float64Array[];
  /** Per lane (1 ..) and node of a level (`lane * maxNodes + node`), the id of its partial histogram of its rows of the node (node 0: also the root's). */
  partials: Int32Array;
  expConstants: Float64Array;
  pow2Int: Float64Array;
  pow2Frac: Float64Array;
  /** Per lane, 4 doubles where the WebAssembly leaf kernels write their sums. */
  scratch: Float64Array;
}

/** A new histogram buffer, as announced to workers. */
export interface HistogramMessage {
  id: number;
  buffer: SharedArrayBuffer;
  offset: number;
  length: number;
}

/**
 * Wait until every lane of the command has arrived at its barrier number `round` (1, 2, …; this
 * one included). Spins briefly, then sleeps; gives up when a lane reports failure.
 */
export function laneBarrier(control: Int32Array, round = 1): void {
  const lanes = control[Slot.LANES]!;
  if (lanes <= 1) return;
  const target = round * lanes;
  const arrived = Atomics.add(control, Slot.BARRIER, 1) + 1;
  if (arrived >= target) {
    Atomics.notify(control, Slot.BARRIER);
    return;
  }
  for (let spin = 0; spin < SPIN_LIMIT; spin++) if (Atomics.load(control, Slot.BARRIER) >= target) return;
  for (;;) {
    const seen = Atomics.load(control, Slot.BARRIER);
    if (seen >= target) return;
    if (Atomics.load(control, Slot.FAILED) !== 0) throw new Error('another boosting lane failed');
    Atomics.wait(control, Slot.BARRIER, seen, 50);
  }
}
