import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { EXP_CONSTANTS, EXP_POW2_FRAC, EXP_POW2_INT } from './fast-math.js';
import { allocateFloat64, allocateInt32 } from './shared-memory.js';
import {
  HIST_WORD_SIZE,
  accumulateHistogram,
  computeGradients,
  findBestSplit,
  partitionRows,
  subtractHistogram,
} from './boosting.kernels.js';

/**
 * Parallel lanes for the boosting kernels. Lane 0 is the calling thread; lanes 1.. are worker
 * threads driven synchronously through Atomics on shared memory, so `fit` stays a plain function
 * and a level of the tree costs a few microseconds of hand-off, not an event-loop round trip.
 *
 * Work is split so that the result never depends on the lane count: histograms and split search by
 * feature (each feature summed by one lane, rows in the same order), gradients and partitions by
 * row (element-wise, and a stable partition is the same however it is chunked).
 */

/** Everything the kernels read and write; on SharedArrayBuffers when there is more than one lane. */
export interface LaneData {
  /** Row-major bins, `wordsPerRow` 32-bit words per row (histograms). */
  bins: Uint8Array;
  wordsPerRow: number;
  /** Column-major bins, `nRows` bytes per feature (partitions). */
  cols: Uint8Array;
  nRows: number;
  nBins: Int32Array;
  gh: Float64Array;
  rows: Uint32Array;
  tmp: Uint32Array;
  margin: Float64Array;
  labels: Uint8Array;
  /** Length 0 when unweighted. */
  weights: Float64Array;
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

export interface SplitTask {
  hist: HistogramBuffer;
  G: number;
  H: number;
}

export interface SplitResult {
  gain: number;
  /** -1 when no split beats the minimum gain. */
  feature: number;
  bin: number;
  GL: number;
  HL: number;
}

export interface PartitionTask {
  start: number;
  end: number;
  feature: number;
  bin: number;
}

export interface SplitSettings {
  lambda: number;
  minChild: number;
  minGain: number;
}

const COMMAND = 0;
const ITEMS = 1;
const N_WORDS = 2;
const N_FEATURES = 3;
const LANES = 4;
const FAILED = 5;
const READY = 6;
const SLOTS = 8;
const CMD_GRADIENTS = 1;
const CMD_HISTOGRAMS = 2;
const CMD_SPLITS = 3;
const CMD_PARTITION = 4;
const CMD_EXIT = 9;
const TASK_FIELDS = 5;
const RESULT_FIELDS = 5;
const READY_TIMEOUT_MS = 10_000;

/** Whether buffers must live on shared memory for this lane count. */
export function needsSharedMemory(lanes: number): boolean {
  return lanes > 1;
}

/** The state a lane works on: the shared data plus the command tables. */
interface LaneContext {
  bins32: Uint32Array;
  wordsPerRow: number;
  cols: Uint8Array;
  nRows: number;
  nBins: Int32Array;
  gh: Float64Array;
  rows: Uint32Array;
  tmp: Uint32Array;
  margin: Float64Array;
  labels: Uint8Array;
  weights: Float64Array;
  control: Int32Array;
  settings: Float64Array;
  tasks: Float64Array;
  results: Float64Array;
  words: Int32Array;
  features: Int32Array;
  hists: Float64Array[];
  expConstants: Float64Array;
  pow2Int: Float64Array;
  pow2Frac: Float64Array;
}

/**
 * Run lane `lane`'s share of the current command. Self-contained like the kernels (workers run it
 * from source), so command numbers and table layouts are literals here; they match the constants
 * above.
 */
function runLane(
  c: LaneContext,
  lane: number,
  accumulate: typeof accumulateHistogram,
  subtract: typeof subtractHistogram,
  gradients: typeof computeGradients,
  partition: typeof partitionRows,
  split: typeof findBestSplit,
): void {
  const command = c.control[0]!;
  const items = c.control[1]!;
  const lanes = c.control[4]!;
  if (command === 1) {
    gradients(c.margin, c.labels, c.weights, c.rows, Math.floor((lane * items) / lanes), Math.floor(((lane + 1) * items) / lanes), c.gh, c.expConstants, c.pow2Int, c.pow2Frac);
  } else if (command === 2) {
    const nWords = c.control[2]!;
    const from = Math.floor((lane * nWords) / lanes);
    const to = Math.floor(((lane + 1) * nWords) / lanes);
    if (from === to) return;
    for (let t = 0; t < items; t++) {
      const hist = c.hists[c.tasks[t * 5]!]!;
      const parent = c.tasks[t * 5 + 1]!;
      accumulate(c.bins32, c.wordsPerRow, c.gh, c.rows, c.tasks[t * 5 + 2]!, c.tasks[t * 5 + 3]!, hist, c.words, from, to);
      if (parent >= 0) subtract(c.hists[parent]!, hist, c.words, from, to);
    }
  } else if (command === 3) {
    const nFeatures = c.control[3]!;
    const from = Math.floor((lane * nFeatures) / lanes);
    const to = Math.floor(((lane + 1) * nFeatures) / lanes);
    for (let t = 0; t < items; t++) {
      const hist = c.hists[c.tasks[t * 5]!]!;
      split(hist, c.tasks[t * 5 + 1]!, c.tasks[t * 5 + 2]!, c.nBins, c.features, from, to, c.settings[0]!, c.settings[1]!, c.settings[2]!, c.results, (t * lanes + lane) * 5);
    }
  } else if (command === 4) {
    for (let t = 0; t < items; t++) {
      if (c.tasks[t * 5 + 4] !== lane) continue;
      c.results[t] = partition(c.cols, c.nRows, c.rows, c.tmp, c.tasks[t * 5]!, c.tasks[t * 5 + 1]!, c.tasks[t * 5 + 2]!, c.tasks[t * 5 + 3]!);
    }
  }
}

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
   * @param maxTasks most tasks in one command (nodes of a level times lanes).
   */
  constructor(data: LaneData, requested: number, maxTasks: number) {
    this.shared = needsSharedMemory(requested);
    this.histLength = data.wordsPerRow * HIST_WORD_SIZE;
    const control = allocateInt32(SLOTS + 2 * requested, this.shared);
    const nFeatures = data.nBins.length;
    this.context = {
      bins32: new Uint32Array(data.bins.buffer, data.bins.byteOffset, data.bins.byteLength >>> 2),
      wordsPerRow: data.wordsPerRow,
      cols: data.cols,
      nRows: data.nRows,
      nBins: data.nBins,
      gh: data.gh,
      rows: data.rows,
      tmp: data.tmp,
      margin: data.margin,
      labels: data.labels,
      weights: data.weights,
      control,
      settings: allocateFloat64(4, this.shared),
      tasks: allocateFloat64(maxTasks * TASK_FIELDS, this.shared),
      results: allocateFloat64(maxTasks * RESULT_FIELDS, this.shared),
      words: allocateInt32(data.wordsPerRow, this.shared),
      features: allocateInt32(nFeatures, this.shared),
      hists: [],
      expConstants: EXP_CONSTANTS,
      pow2Int: EXP_POW2_INT,
      pow2Frac: EXP_POW2_FRAC,
    };
    this.workers = [];
    for (let lane = 1; lane < requested; lane++) {
      const worker = startWorker(this.context, data, lane);
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

  /** Gradients and hessians of the rows at positions `[0, count)`. */
  gradients(count: number): void {
    this.context.control[ITEMS] = count;
    this.dispatch(CMD_GRADIENTS);
  }

  /** Build histograms over the active words `words[0 .. nWords)`. */
  histograms(tasks: readonly HistogramTask[], words: Int32Array, nWords: number): void {
    const { control, tasks: table } = this.context;
    this.context.words.set(words.subarray(0, nWords));
    control[N_WORDS] = nWords;
    control[ITEMS] = tasks.length;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      table[t * TASK_FIELDS] = task.hist.id;
      table[t * TASK_FIELDS + 1] = task.parent === null ? -1 : task.parent.id;
      table[t * TASK_FIELDS + 2] = task.start;
      table[t * TASK_FIELDS + 3] = task.end;
    }
    this.dispatch(CMD_HISTOGRAMS);
  }

  /** Best split of each node over the active features `features[0 .. nFeatures)`. */
  splits(tasks: readonly SplitTask[], features: Int32Array, nFeatures: number, settings: SplitSettings): SplitResult[] {
    const { control, tasks: table, results } = this.context;
    this.context.features.set(features.subarray(0, nFeatures));
    this.context.settings[0] = settings.lambda;
    this.context.settings[1] = settings.minChild;
    this.context.settings[2] = settings.minGain;
    control[N_FEATURES] = nFeatures;
    control[ITEMS] = tasks.length;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      table[t * TASK_FIELDS] = task.hist.id;
      table[t * TASK_FIELDS + 1] = task.G;
      table[t * TASK_FIELDS + 2] = task.H;
    }
    this.dispatch(CMD_SPLITS);
    const out: SplitResult[] = [];
    for (let t = 0; t < tasks.length; t++) {
      // Lanes hold consecutive feature ranges, so taking the first strictly better lane keeps the
      // lowest feature on ties, as one lane would.
      let best = (t * this.count) * RESULT_FIELDS;
      for (let lane = 1; lane < this.count; lane++) {
        const at = (t * this.count + lane) * RESULT_FIELDS;
        if (results[at + 1]! >= 0 && (results[best + 1]! < 0 || results[at]! > results[best]!)) best = at;
      }
      out.push({ gain: results[best]!, feature: results[best + 1]!, bin: results[best + 2]!, GL: results[best + 3]!, HL: results[best + 4]! });
    }
    return out;
  }

  /**
   * Stable partition of each task's rows; returns each task's left count. A node is cut into
   * row chunks, one per lane, and the chunks are stitched back together here.
   */
  partition(tasks: readonly PartitionTask[]): Int32Array {
    const { control, tasks: table, results, rows, tmp } = this.context;
    const lanes = this.count;
    let total = 0;
    for (const task of tasks) total += task.end - task.start;
    // Cut the concatenated rows of all tasks into equal lane shares.
    let n = 0;
    let seen = 0;
    const chunks = new Int32Array(tasks.length);
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      let start = task.start;
      while (start < task.end) {
        const lane = Math.min(lanes - 1, Math.floor((seen * lanes) / Math.max(1, total)));
        const laneEnd = Math.floor(((lane + 1) * total) / lanes);
        const end = Math.min(task.end, start + Math.max(1, laneEnd - seen));
        table[n * TASK_FIELDS] = start;
        table[n * TASK_FIELDS + 1] = end;
        table[n * TASK_FIELDS + 2] = task.feature;
        table[n * TASK_FIELDS + 3] = task.bin;
        table[n * TASK_FIELDS + 4] = lane;
        seen += end - start;
        start = end;
        n++;
        chunks[t]!++;
      }
    }
    control[ITEMS] = n;
    this.dispatch(CMD_PARTITION);
    const leftCounts = new Int32Array(tasks.length);
    let chunk = 0;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      // Left parts to the front, in chunk order; then the right parts from tmp.
      let l = task.start;
      const firstChunk = chunk;
      for (; chunk < firstChunk + chunks[t]!; chunk++) {
        const s = table[chunk * TASK_FIELDS]!;
        const left = results[chunk]!;
        if (l !== s) rows.copyWithin(l, s, s + left);
        l += left;
      }
      leftCounts[t] = l - task.start;
      for (let c = firstChunk; c < chunk; c++) {
        const s = table[c * TASK_FIELDS]!;
        const e = table[c * TASK_FIELDS + 1]!;
        const right = e - s - results[c]!;
        rows.set(tmp.subarray(s, s + right), l);
        l += right;
      }
    }
    return leftCounts;
  }

  close(): void {
    for (const worker of this.workers) worker.stop();
    this.workers.length = 0;
  }

  private dispatch(command: number): void {
    this.context.control[COMMAND] = command;
    for (const worker of this.workers) worker.start();
    runLane(this.context, 0, accumulateHistogram, subtractHistogram, computeGradients, partitionRows, findBestSplit);
    for (const worker of this.workers) worker.wait();
  }
}

interface LaneWorker {
  readonly port: MessagePort;
  start(): void;
  wait(): void;
  stop(): void;
}

function startWorker(context: LaneContext, data: LaneData, lane: number): LaneWorker | null {
  const control = context.control;
  const seqSlot = SLOTS + 2 * lane;
  const doneSlot = seqSlot + 1;
  const channel = new MessageChannel();
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        lane,
        port: channel.port2,
        data: { ...data },
        control,
        settings: context.settings,
        tasks: context.tasks,
        results: context.results,
        words: context.words,
        features: context.features,
        expConstants: context.expConstants,
        pow2Int: context.pow2Int,
        pow2Frac: context.pow2Frac,
      },
      transferList: [channel.port2],
    });
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  // Wait for the worker to start; READY counts started workers.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(control, READY);
    if (ready >= lane) break;
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
function laneWorkerMain(
  threads: typeof WorkerThreads,
  run: typeof runLane,
  accumulate: typeof accumulateHistogram,
  subtract: typeof subtractHistogram,
  gradients: typeof computeGradients,
  partition: typeof partitionRows,
  split: typeof findBestSplit,
): void {
  const init = threads.workerData as {
    lane: number;
    port: MessagePort;
    data: LaneData;
    control: Int32Array;
    settings: Float64Array;
    tasks: Float64Array;
    results: Float64Array;
    words: Int32Array;
    features: Int32Array;
    expConstants: Float64Array;
    pow2Int: Float64Array;
    pow2Frac: Float64Array;
  };
  const d = init.data;
  const context: LaneContext = {
    bins32: new Uint32Array(d.bins.buffer, d.bins.byteOffset, d.bins.byteLength >>> 2),
    wordsPerRow: d.wordsPerRow,
    cols: d.cols,
    nRows: d.nRows,
    nBins: d.nBins,
    gh: d.gh,
    rows: d.rows,
    tmp: d.tmp,
    margin: d.margin,
    labels: d.labels,
    weights: d.weights,
    control: init.control,
    settings: init.settings,
    tasks: init.tasks,
    results: init.results,
    words: init.words,
    features: init.features,
    hists: [],
    expConstants: init.expConstants,
    pow2Int: init.pow2Int,
    pow2Frac: init.pow2Frac,
  };
  const control = init.control;
  const seqSlot = 8 + 2 * init.lane;
  let seen = 0;
  Atomics.add(control, 6, 1);
  Atomics.notify(control, 6);
  for (;;) {
    Atomics.wait(control, seqSlot, seen);
    seen = Atomics.load(control, seqSlot);
    if (control[0] === 9) break;
    try {
      for (let m = threads.receiveMessageOnPort(init.port); m !== undefined; m = threads.receiveMessageOnPort(init.port)) {
        const message = m.message as { id: number; buffer: SharedArrayBuffer };
        context.hists[message.id] = new Float64Array(message.buffer);
      }
      run(context, init.lane, accumulate, subtract, gradients, partition, split);
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
  accumulateHistogram.toString(),
  subtractHistogram.toString(),
  computeGradients.toString(),
  partitionRows.toString(),
  findBestSplit.toString(),
  runLane.toString(),
  // Bundlers rename imported bindings inside functions, so everything is passed in as arguments.
  `(${laneWorkerMain.toString()})(require('node:worker_threads'), ${[runLane, accumulateHistogram, subtractHistogram, computeGradients, partitionRows, findBestSplit].map((f) => f.name).join(', ')});`,
].join('\n');
