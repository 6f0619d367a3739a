import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import {
  HIST_WORD_SIZE,
  accumulateHistogram,
  addToMargins,
  computeCuts,
  computeGradients,
  extractColumn,
  fillBins,
  findBestSplit,
  partitionRows,
  sortFloat64,
  subtractHistogram,
  sumGradients,
  transposeBins,
} from './boosting.kernels.js';
import { EXP_CONSTANTS, EXP_POW2_FRAC, EXP_POW2_INT } from './fast-math.js';
import { allocateFloat64, allocateInt32 } from './shared-memory.js';

/**
 * Parallel lanes for the boosting kernels. Lane 0 is the calling thread; lanes 1.. are worker
 * threads driven synchronously through Atomics on shared memory, so `fit` stays a plain function
 * and a command costs a few microseconds of hand-off, not an event-loop round trip.
 *
 * Work is split so that results never depend on the lane count: binning, histograms and split
 * search by feature (each feature handled whole by one lane), gradients and margin updates by row
 * (element-wise), partitions by fixed-size chunks of rows (a stable partition is the same however it
 * is chunked, and chunk sums are added in chunk order), leaf sums by whole leaf.
 */

/** Everything the kernels read and write; on SharedArrayBuffers when there is more than one lane. */
export interface LaneData {
  /** Row-major feature values. */
  values: Float64Array | Float32Array;
  nRows: number;
  nFeatures: number;
  maxBins: number;
  /** Row-major bins, `stride` bytes (a multiple of 4) per row, for histograms. */
  bins: Uint8Array;
  stride: number;
  /** Byte of feature `f` within a row (differs from `f` only on big-endian machines). */
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
  rows: Uint32Array;
  tmp: Uint32Array;
  margin: Float64Array;
  labels: Uint8Array;
  /** Length 0 when unweighted. */
  weights: Float64Array;
  /** Per position of `rows`, the value of the leaf it fell in (fused margin updates). */
  posValue: Float64Array;
}

/** A node's histogram, named by `id` across threads. */
export interface HistogramBuffer {
  readonly id: number;
  readonly data: Float64Array;
}

/** Build `hist` from rows `[start, end)`; then, when `parent` is given, `parent -= hist`. */
export interface HistogramTask {
  hist: HistogramBuffer;
  parent: HistogramBuffer | null;
  start: number;
  end: number;
}

/** A node to split, with its quantised gradient and hessian sums. */
export interface SplitTask {
  hist: HistogramBuffer;
  Gq: number;
  Hq: number;
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

export interface PartitionTask extends RowRange {
  feature: number;
  bin: number;
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

// Control block slots. runLane reads them as literals (it runs from source in workers).
const COMMAND = 0;
const ITEMS = 1;
const N_SPLITS = 2;
const N_FEATURES = 3;
const LANES = 4;
const FAILED = 5;
const READY = 6;
const FLAG = 7;
const SLOTS = 8;
const CMD_GRADIENTS = 1;
const CMD_HISTOGRAMS = 2;
const CMD_PARTITION = 4;
const CMD_LEAF_SUMS = 5;
const CMD_ADD_MARGINS = 6;
const CMD_BIN = 7;
const CMD_TRANSPOSE = 8;
const CMD_EXIT = 9;
const TASK_FIELDS = 5;
/** Rows per chunk of a chunked command (partition, margin updates). */
export const CHUNK_ROWS = 8192;
const RESULT_FIELDS = 5;
const READY_TIMEOUT_MS = 10_000;
/** Polls of a lane's done flag before sleeping on it (tens of microseconds: longer spins burn the CPU another busy thread needs). */
const SPIN_LIMIT = 20_000;

/** Whether buffers must live on shared memory for this lane count. */
export function needsSharedMemory(lanes: number): boolean {
  return lanes > 1;
}

/** The state a lane works on: the shared data plus the command tables. */
interface LaneContext extends LaneData {
  bins32: Uint32Array;
  wordsPerRow: number;
  control: Int32Array;
  /** [lambda, minChild, minGain]. */
  settings: Float64Array;
  /** [1 / gScale, 1 / hScale, shift, tree seed] for gradients. */
  gradQ: Float64Array;
  /** [gScale, hScale, shift] for split search. */
  splitQ: Float64Array;
  tasks: Float64Array;
  results: Float64Array;
  features: Int32Array;
  hists: Float64Array[];
  expConstants: Float64Array;
  pow2Int: Float64Array;
  pow2Frac: Float64Array;
}

/** The kernels, passed to runLane because workers cannot import them. */
interface Kernels {
  accumulate: typeof accumulateHistogram;
  subtract: typeof subtractHistogram;
  gradients: typeof computeGradients;
  partition: typeof partitionRows;
  split: typeof findBestSplit;
  sums: typeof sumGradients;
  addMargins: typeof addToMargins;
  sort: typeof sortFloat64;
  cuts: typeof computeCuts;
  fill: typeof fillBins;
  extract: typeof extractColumn;
  transpose: typeof transposeBins;
}

/** Run lane `lane`'s share of the current command. Self-contained: workers run it from source. */
function runLane(c: LaneContext, lane: number, k: Kernels): void {
  const command = c.control[0]!;
  const items = c.control[1]!;
  const lanes = c.control[4]!;
  if (command === 1) {
    const from = Math.floor((lane * items) / lanes);
    const to = Math.floor(((lane + 1) * items) / lanes);
    c.results[lane] = k.gradients(c.margin, c.labels, c.weights, c.rows, from, to, c.control[7]!, c.posValue, c.gh, c.packed, c.gradQ, c.expConstants, c.pow2Int, c.pow2Frac);
  } else if (command === 2) {
    // Histograms of this lane's words, then the best split of each node over the features in them:
    // a lane needs no other lane's histogram cells, so one hand-off serves both.
    const from = Math.floor((lane * c.wordsPerRow) / lanes);
    const to = Math.floor(((lane + 1) * c.wordsPerRow) / lanes);
    for (let t = 0; t < items; t++) {
      const hist = c.hists[c.tasks[t * 5]!]!;
      const parent = c.tasks[t * 5 + 1]!;
      k.accumulate(c.bins32, c.wordsPerRow, c.packed, c.rows, c.tasks[t * 5 + 2]!, c.tasks[t * 5 + 3]!, hist, from, to);
      if (parent >= 0) k.subtract(c.hists[parent]!, hist, from, to);
    }
    const nActive = c.control[3]!;
    let a = 0;
    while (a < nActive && c.features[a]! < 4 * from) a++;
    let b = a;
    while (b < nActive && c.features[b]! < 4 * to) b++;
    const nSplits = c.control[2]!;
    for (let t = items; t < items + nSplits; t++) {
      const at = ((t - items) * lanes + lane) * 5;
      k.split(c.hists[c.tasks[t * 5]!]!, c.tasks[t * 5 + 1]!, c.tasks[t * 5 + 2]!, c.nBins, c.features, a, b, c.splitQ, c.settings[0]!, c.settings[1]!, c.settings[2]!, c.results, at);
    }
  } else if (command === 4) {
    // Each chunk's feature and bin are packed into one field as feature * 256 + bin.
    const withSums = c.control[7]!;
    for (let t = 0; t < items; t++) {
      if (c.tasks[t * 5 + 4] !== lane) continue;
      const split = c.tasks[t * 5 + 2]!;
      k.partition(c.cols, c.nRows, c.rows, c.tmp, c.tasks[t * 5]!, c.tasks[t * 5 + 1]!, split >> 8, split & 255, withSums, c.gh, c.results, t * 5);
    }
  } else if (command === 5) {
    for (let t = 0; t < items; t++) {
      if (c.tasks[t * 5 + 4] === lane) k.sums(c.gh, c.rows, c.tasks[t * 5]!, c.tasks[t * 5 + 1]!, c.results, 2 * t);
    }
  } else if (command === 6) {
    for (let t = 0; t < items; t++) {
      if (c.tasks[t * 5 + 4] === lane) k.addMargins(c.margin, c.rows, c.tasks[t * 5]!, c.tasks[t * 5 + 1]!, c.tasks[t * 5 + 2]!);
    }
  } else if (command === 7) {
    const from = Math.floor((lane * c.nFeatures) / lanes);
    const to = Math.floor(((lane + 1) * c.nFeatures) / lanes);
    if (from === to) return;
    const column = new Float64Array(c.nRows);
    const a = new Float64Array(c.nRows);
    const b = new Float64Array(c.nRows);
    const counts = new Uint32Array(2048);
    for (let f = from; f < to; f++) {
      k.extract(c.values, c.nRows, c.nFeatures, f, column);
      const sorted = k.sort(column, c.nRows, a, b, counts);
      const nCuts = k.cuts(sorted, c.nRows, c.maxBins, c.cuts, f * 256);
      c.nBins[f] = nCuts + 1;
      k.fill(column, c.nRows, c.cuts, f * 256, nCuts, c.cols, f * c.nRows);
    }
  } else if (command === 8) {
    k.transpose(c.cols, c.nRows, c.nFeatures, c.bins, c.stride, c.byteOffset, Math.floor((lane * c.nRows) / lanes), Math.floor(((lane + 1) * c.nRows) / lanes));
  }
}

const KERNELS: Kernels = {
  accumulate: accumulateHistogram,
  subtract: subtractHistogram,
  gradients: computeGradients,
  partition: partitionRows,
  split: findBestSplit,
  sums: sumGradients,
  addMargins: addToMargins,
  sort: sortFloat64,
  cuts: computeCuts,
  fill: fillBins,
  extract: extractColumn,
  transpose: transposeBins,
};

/** Parallel lanes over one training set. Call `close` when done. */
export class BoostingLanes {
  readonly count: number;
  private readonly context: LaneContext;
  private readonly workers: LaneWorker[];
  private readonly buffers: HistogramBuffer[] = [];
  private readonly free: HistogramBuffer[] = [];
  private readonly histLength: number;
  private readonly shared: boolean;

  /**
   * @param requested lanes wanted; fewer are used if workers cannot start.
   * @param maxTasks most tasks in one command (nodes of a level, times lanes for chunked commands).
   */
  constructor(data: LaneData, requested: number, maxTasks: number) {
    this.shared = needsSharedMemory(requested);
    const wordsPerRow = data.stride >>> 2;
    this.histLength = wordsPerRow * HIST_WORD_SIZE;
    const control = allocateInt32(SLOTS + 2 * requested, this.shared);
    this.context = {
      ...data,
      bins32: new Uint32Array(data.bins.buffer, data.bins.byteOffset, data.bins.byteLength >>> 2),
      wordsPerRow,
      control,
      settings: allocateFloat64(4, this.shared),
      gradQ: allocateFloat64(4, this.shared),
      splitQ: allocateFloat64(4, this.shared),
      tasks: allocateFloat64(Math.max(2, maxTasks) * TASK_FIELDS, this.shared),
      results: allocateFloat64(Math.max(2, maxTasks) * RESULT_FIELDS, this.shared),
      features: allocateInt32(data.nFeatures, this.shared),
      hists: [],
      expConstants: EXP_CONSTANTS,
      pow2Int: EXP_POW2_INT,
      pow2Frac: EXP_POW2_FRAC,
    };
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
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const buffer = { id: this.buffers.length, data: allocateFloat64(this.histLength, this.shared) };
    this.buffers.push(buffer);
    this.context.hists[buffer.id] = buffer.data;
    for (const worker of this.workers) worker.port.postMessage({ id: buffer.id, buffer: buffer.data.buffer });
    return buffer;
  }

  release(buffer: HistogramBuffer): void {
    this.free.push(buffer);
  }

  /** Quantise every feature into bins: cuts, column-major and row-major bins. */
  bin(): void {
    this.dispatch(CMD_BIN);
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

  /**
   * Gradients of the rows at positions `[0, count)`. When `fused` (no subsample), first add each
   * position's `posValue` to its row's margin and reset `rows` to 0, 1, 2 …. `seed` drives the
   * stochastic rounding of this tree. Returns the sum of the packed gradients (the root's sums; an
   * exact integer, so the lanes' partial sums add up the same in any order).
   */
  gradients(count: number, fused: boolean, seed: number): number {
    this.context.control[ITEMS] = count;
    this.context.control[FLAG] = fused ? 1 : 0;
    this.context.gradQ[3] = seed;
    this.dispatch(CMD_GRADIENTS);
    let total = 0;
    for (let lane = 0; lane < this.count; lane++) total += this.context.results[lane]!;
    return total;
  }

  /** Active features for split search: `features[0 .. nFeatures)`, ascending. */
  setFeatures(features: Int32Array, nFeatures: number, settings: SplitSettings): void {
    this.context.features.set(features.subarray(0, nFeatures));
    this.context.control[N_FEATURES] = nFeatures;
    this.context.settings[0] = settings.lambda;
    this.context.settings[1] = settings.minChild;
    this.context.settings[2] = settings.minGain;
  }

  /**
   * Build the histograms of `builds` (with the subtraction trick), then find the best split of each
   * node of `splits` over the active features. Each lane does both for its own feature words.
   */
  histogramsAndSplits(builds: readonly HistogramTask[], splits: readonly SplitTask[]): SplitResult[] {
    const { control, tasks: table, results } = this.context;
    control[ITEMS] = builds.length;
    control[N_SPLITS] = splits.length;
    for (let t = 0; t < builds.length; t++) {
      const task = builds[t]!;
      table[t * TASK_FIELDS] = task.hist.id;
      table[t * TASK_FIELDS + 1] = task.parent === null ? -1 : task.parent.id;
      table[t * TASK_FIELDS + 2] = task.start;
      table[t * TASK_FIELDS + 3] = task.end;
    }
    for (let i = 0; i < splits.length; i++) {
      const t = builds.length + i;
      const task = splits[i]!;
      table[t * TASK_FIELDS] = task.hist.id;
      table[t * TASK_FIELDS + 1] = task.Gq;
      table[t * TASK_FIELDS + 2] = task.Hq;
    }
    this.dispatch(CMD_HISTOGRAMS);
    const out: SplitResult[] = [];
    for (let t = 0; t < splits.length; t++) {
      // Lanes hold consecutive feature ranges, so taking the first strictly better lane keeps the
      // lowest feature on ties, as a single lane would.
      let best = t * this.count * RESULT_FIELDS;
      for (let lane = 1; lane < this.count; lane++) {
        const at = (t * this.count + lane) * RESULT_FIELDS;
        if (results[at + 1]! >= 0 && (results[best + 1]! < 0 || results[at]! > results[best]!)) best = at;
      }
      out.push({ gain: results[best]!, feature: results[best + 1]!, bin: results[best + 2]!, GLq: results[best + 3]!, HLq: results[best + 4]! });
    }
    return out;
  }

  /**
   * Stable partition of each task's rows. Returns each task's left count and, `withSums`, the exact
   * gradient and hessian sums of its left and right rows ([GL, HL, GR, HR] per task). Rows are cut
   * into fixed-size chunks spread over the lanes and stitched back together here; the sums add the
   * chunks' sums in chunk order, so they do not depend on the number of lanes either.
   */
  partition(tasks: readonly PartitionTask[], withSums: boolean): { leftCounts: Int32Array; sums: Float64Array } {
    const { control, tasks: table, results, rows, tmp } = this.context;
    const chunks = this.chunk(tasks, (task, _t, c) => {
      table[c * TASK_FIELDS + 2] = task.feature * 256 + task.bin;
    });
    control[ITEMS] = chunks.total;
    control[FLAG] = withSums ? 1 : 0;
    this.dispatch(CMD_PARTITION);
    const leftCounts = new Int32Array(tasks.length);
    const sums = new Float64Array(withSums ? 4 * tasks.length : 0);
    let chunk = 0;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      const firstChunk = chunk;
      const lastChunk = firstChunk + chunks.perTask[t]!;
      // Left parts to the front, in chunk order; then the right parts from tmp.
      let l = task.start;
      for (; chunk < lastChunk; chunk++) {
        const s = table[chunk * TASK_FIELDS]!;
        const left = results[chunk * RESULT_FIELDS]!;
        if (l !== s) rows.copyWithin(l, s, s + left);
        l += left;
        if (withSums) for (let j = 0; j < 4; j++) sums[4 * t + j]! += results[chunk * RESULT_FIELDS + 1 + j]!;
      }
      leftCounts[t] = l - task.start;
      for (let c = firstChunk; c < lastChunk; c++) {
        const s = table[c * TASK_FIELDS]!;
        const right = table[c * TASK_FIELDS + 1]! - s - results[c * RESULT_FIELDS]!;
        rows.set(tmp.subarray(s, s + right), l);
        l += right;
      }
    }
    return { leftCounts, sums };
  }

  /** Exact gradient and hessian sums of each range (each summed whole by one lane). */
  sums(ranges: readonly RowRange[]): Float64Array {
    const { control, tasks: table, results } = this.context;
    let total = 0;
    for (const range of ranges) total += range.end - range.start;
    let seen = 0;
    for (let t = 0; t < ranges.length; t++) {
      const range = ranges[t]!;
      table[t * TASK_FIELDS] = range.start;
      table[t * TASK_FIELDS + 1] = range.end;
      table[t * TASK_FIELDS + 4] = Math.min(this.count - 1, Math.floor((seen * this.count) / Math.max(1, total)));
      seen += range.end - range.start;
    }
    control[ITEMS] = ranges.length;
    this.dispatch(CMD_LEAF_SUMS);
    return results.slice(0, 2 * ranges.length);
  }

  /** Add each range's value to the margins of its rows. */
  addToMargins(ranges: readonly RowRange[], values: readonly number[]): void {
    const { control, tasks: table } = this.context;
    const chunks = this.chunk(ranges, (_, t, c) => {
      table[c * TASK_FIELDS + 2] = values[t]!;
    });
    control[ITEMS] = chunks.total;
    this.dispatch(CMD_ADD_MARGINS);
  }

  close(): void {
    for (const worker of this.workers) worker.stop();
    this.workers.length = 0;
  }

  /**
   * Cut every range into chunks of at most CHUNK_ROWS rows, counted from the range's start (so the
   * chunks do not depend on the lane count), and give each lane a contiguous run of chunks. Writes
   * [start, end, ·, ·, lane] per chunk; `fill(range, rangeIndex, chunkIndex)` adds the task's fields.
   */
  private chunk<T extends RowRange>(ranges: readonly T[], fill: (range: T, t: number, c: number) => void): { total: number; perTask: Int32Array } {
    const table = this.context.tasks;
    let total = 0;
    for (const range of ranges) total += Math.ceil((range.end - range.start) / CHUNK_ROWS);
    if (total * TASK_FIELDS > table.length) throw new Error(`internal: ${total} chunks exceed the task table`);
    const perTask = new Int32Array(ranges.length);
    let n = 0;
    for (let t = 0; t < ranges.length; t++) {
      const range = ranges[t]!;
      for (let start = range.start; start < range.end; start += CHUNK_ROWS) {
        table[n * TASK_FIELDS] = start;
        table[n * TASK_FIELDS + 1] = Math.min(range.end, start + CHUNK_ROWS);
        table[n * TASK_FIELDS + 4] = Math.min(this.count - 1, Math.floor((n * this.count) / total));
        fill(range, t, n);
        n++;
        perTask[t]!++;
      }
    }
    return { total: n, perTask };
  }

  private dispatch(command: number): void {
    this.context.control[COMMAND] = command;
    for (const worker of this.workers) worker.start();
    runLane(this.context, 0, KERNELS);
    for (const worker of this.workers) worker.wait();
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
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { lane, port: channel.port2, context: shared }, transferList: [channel.port2] });
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
      if (Atomics.load(control, FAILED) !== 0) throw new Error(`boosting worker lane ${lane} failed; see its stderr`);
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
function laneWorkerMain(threads: typeof WorkerThreads, run: typeof runLane, kernels: Kernels): void {
  const init = threads.workerData as { lane: number; port: MessagePort; context: LaneContext };
  const context = init.context;
  context.hists = [];
  const control = context.control;
  const seqSlot = 8 + 2 * init.lane;
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
      for (let m = threads.receiveMessageOnPort(init.port); m !== undefined; m = threads.receiveMessageOnPort(init.port)) {
        const message = m.message as { id: number; buffer: SharedArrayBuffer };
        context.hists[message.id] = new Float64Array(message.buffer);
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
  // Bundlers rename imported bindings inside functions, so everything is passed in as arguments.
  `(${laneWorkerMain.toString()})(require('node:worker_threads'), ${runLane.name}, { ${Object.entries(KERNELS)
    .map(([key, f]) => `${key}: ${f.name}`)
    .join(', ')} });`,
].join('\n');
