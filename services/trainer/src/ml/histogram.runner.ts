import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { HIST_WORD_SIZE, accumulateHistogram, subtractHistogram } from './histogram.kernel.js';

/** A histogram of one tree node; `id` names it across threads. */
export interface HistogramBuffer {
  readonly id: number;
  readonly data: Float64Array;
}

/** Build `hist` from the rows `[start, end)`; then, if `parent` is given, `parent -= hist`. */
export interface HistogramTask {
  hist: HistogramBuffer;
  parent: HistogramBuffer | null;
  start: number;
  end: number;
}

/**
 * Builds the histograms of one tree level, on the calling thread alone or split by feature words
 * across worker threads. The call is synchronous: workers are driven through Atomics on shared
 * memory, so `fit` stays a plain function and there is no event-loop hop per level.
 */
export interface HistogramRunner {
  /** Threads actually in use (falls back to 1 if a worker cannot start). */
  readonly threads: number;
  allocate(): HistogramBuffer;
  release(buffer: HistogramBuffer): void;
  /** Run the tasks over the active words `words[0 .. nWords)`. */
  run(tasks: readonly HistogramTask[], words: Int32Array, nWords: number): void;
  close(): void;
}

export interface HistogramRunnerInput {
  bins: Uint8Array;
  wordsPerRow: number;
  gh: Float64Array;
  rows: Uint32Array;
  threads: number;
}

/** Whether buffers must live on shared memory for this thread count. */
export function needsSharedMemory(threads: number): boolean {
  return threads > 1;
}

/** Allocate a typed array on shared memory when workers will read it. */
export function allocateFloat64(length: number, shared: boolean): Float64Array {
  return new Float64Array(shared ? new SharedArrayBuffer(length * 8) : new ArrayBuffer(length * 8));
}

/** Allocate a typed array on shared memory when workers will read it. */
export function allocateUint32(length: number, shared: boolean): Uint32Array {
  return new Uint32Array(shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
}

export function createHistogramRunner(input: HistogramRunnerInput): HistogramRunner {
  const histLength = input.wordsPerRow * HIST_WORD_SIZE;
  const shared = needsSharedMemory(input.threads);
  const bins32 = new Uint32Array(input.bins.buffer, input.bins.byteOffset, input.bins.byteLength >>> 2);
  const buffers: HistogramBuffer[] = [];
  const free: HistogramBuffer[] = [];
  const workers = shared ? startWorkers(input, input.threads - 1) : [];
  const threads = workers.length + 1;

  const allocate = (): HistogramBuffer => {
    const reused = free.pop();
    if (reused !== undefined) return reused;
    const buffer = { id: buffers.length, data: allocateFloat64(histLength, threads > 1) };
    buffers.push(buffer);
    for (const worker of workers) worker.port.postMessage({ id: buffer.id, buffer: buffer.data.buffer });
    return buffer;
  };

  const run = (tasks: readonly HistogramTask[], words: Int32Array, nWords: number): void => {
    // Thread t owns words [bound(t), bound(t + 1)); the calling thread is thread 0 and works while
    // the workers run their share.
    const bound = (t: number): number => Math.floor((t * nWords) / threads);
    for (let t = 1; t < threads; t++) workers[t - 1]!.post(tasks, words, bound(t), bound(t + 1));
    const to = bound(1);
    for (const task of tasks) {
      accumulateHistogram(bins32, input.wordsPerRow, input.gh, input.rows, task.start, task.end, task.hist.data, words, 0, to);
      if (task.parent !== null) subtractHistogram(task.parent.data, task.hist.data, words, 0, to);
    }
    for (const worker of workers) worker.wait();
  };

  return {
    threads,
    allocate,
    release: (buffer) => {
      free.push(buffer);
    },
    run,
    close: () => {
      for (const worker of workers) worker.stop();
      workers.length = 0;
    },
  };
}

// Control block slots shared with each worker.
const SEQ = 0;
const DONE = 1;
const COMMAND = 2;
const TASKS = 3;
const WORD_FROM = 4;
const WORD_TO = 5;
const FAILED = 6;
const READY = 7;
const COMMAND_BUILD = 1;
const COMMAND_EXIT = 2;
const TASK_FIELDS = 4;
const READY_TIMEOUT_MS = 10_000;

interface HistogramWorker {
  readonly port: MessagePort;
  post(tasks: readonly HistogramTask[], words: Int32Array, from: number, to: number): void;
  wait(): void;
  stop(): void;
}

function startWorkers(input: HistogramRunnerInput, count: number): HistogramWorker[] {
  const started: HistogramWorker[] = [];
  for (let i = 0; i < count; i++) {
    const worker = startWorker(input);
    if (worker === null) break;
    started.push(worker);
  }
  return started;
}

function startWorker(input: HistogramRunnerInput): HistogramWorker | null {
  const control = new Int32Array(new SharedArrayBuffer(8 * 4));
  let taskTable = new Int32Array(new SharedArrayBuffer(64 * TASK_FIELDS * 4));
  let wordTable = new Int32Array(new SharedArrayBuffer(Math.max(1, input.wordsPerRow) * 4));
  const channel = new MessageChannel();
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        control,
        bins: input.bins,
        wordsPerRow: input.wordsPerRow,
        gh: input.gh,
        rows: input.rows,
        port: channel.port2,
        tasks: taskTable.buffer,
        words: wordTable.buffer,
      },
      transferList: [channel.port2],
    });
  } catch {
    return null;
  }
  worker.unref();
  channel.port1.unref();
  if (Atomics.wait(control, READY, 0, READY_TIMEOUT_MS) === 'timed-out' && Atomics.load(control, READY) === 0) {
    void worker.terminate();
    return null;
  }
  let seq = 0;
  return {
    port: channel.port1,
    post(tasks, words, from, to) {
      if (tasks.length * TASK_FIELDS > taskTable.length) {
        taskTable = new Int32Array(new SharedArrayBuffer(tasks.length * 2 * TASK_FIELDS * 4));
        channel.port1.postMessage({ tasks: taskTable.buffer });
      }
      if (words.length > wordTable.length) {
        wordTable = new Int32Array(new SharedArrayBuffer(words.length * 4));
        channel.port1.postMessage({ words: wordTable.buffer });
      }
      for (let t = 0; t < tasks.length; t++) {
        const task = tasks[t]!;
        taskTable[t * TASK_FIELDS] = task.hist.id;
        taskTable[t * TASK_FIELDS + 1] = task.parent === null ? -1 : task.parent.id;
        taskTable[t * TASK_FIELDS + 2] = task.start;
        taskTable[t * TASK_FIELDS + 3] = task.end;
      }
      wordTable.set(words.subarray(0, to));
      control[COMMAND] = COMMAND_BUILD;
      control[TASKS] = tasks.length;
      control[WORD_FROM] = from;
      control[WORD_TO] = to;
      seq++;
      Atomics.store(control, SEQ, seq);
      Atomics.notify(control, SEQ);
    },
    wait() {
      for (;;) {
        const done = Atomics.load(control, DONE);
        if (done === seq) break;
        Atomics.wait(control, DONE, done);
      }
      if (Atomics.load(control, FAILED) !== 0) {
        throw new Error('a histogram worker failed; see its stderr');
      }
    },
    stop() {
      control[COMMAND] = COMMAND_EXIT;
      seq++;
      Atomics.store(control, SEQ, seq);
      Atomics.notify(control, SEQ);
      channel.port1.close();
    },
  };
}

/**
 * The worker's loop. Like the kernels, it is run from its source text, so it references nothing but
 * its parameter and the kernels that the worker source declares beside it.
 */
function histogramWorkerLoop(threads: typeof import('node:worker_threads')): void {
  const data = threads.workerData as {
    control: Int32Array;
    bins: Uint8Array;
    wordsPerRow: number;
    gh: Float64Array;
    rows: Uint32Array;
    port: MessagePort;
    tasks: SharedArrayBuffer;
    words: SharedArrayBuffer;
  };
  const control = data.control;
  const bins32 = new Uint32Array(data.bins.buffer, data.bins.byteOffset, data.bins.byteLength >>> 2);
  const hists: Float64Array[] = [];
  let taskTable = new Int32Array(data.tasks);
  let wordTable = new Int32Array(data.words);
  let seen = 0;
  Atomics.store(control, 7, 1);
  Atomics.notify(control, 7);
  for (;;) {
    Atomics.wait(control, 0, seen);
    seen = Atomics.load(control, 0);
    if (control[2] === 2) break;
    try {
      for (let m = threads.receiveMessageOnPort(data.port); m !== undefined; m = threads.receiveMessageOnPort(data.port)) {
        const message = m.message as { id?: number; buffer?: SharedArrayBuffer; tasks?: SharedArrayBuffer; words?: SharedArrayBuffer };
        if (message.buffer !== undefined && message.id !== undefined) hists[message.id] = new Float64Array(message.buffer);
        if (message.tasks !== undefined) taskTable = new Int32Array(message.tasks);
        if (message.words !== undefined) wordTable = new Int32Array(message.words);
      }
      const nTasks = control[3]!;
      const from = control[4]!;
      const to = control[5]!;
      for (let t = 0; t < nTasks; t++) {
        const hist = hists[taskTable[t * 4]!]!;
        const parentId = taskTable[t * 4 + 1]!;
        accumulateHistogram(bins32, data.wordsPerRow, data.gh, data.rows, taskTable[t * 4 + 2]!, taskTable[t * 4 + 3]!, hist, wordTable, from, to);
        if (parentId >= 0) subtractHistogram(hists[parentId]!, hist, wordTable, from, to);
      }
    } catch (error) {
      Atomics.store(control, 6, 1);
      console.error(error);
    }
    Atomics.store(control, 1, seen);
    Atomics.notify(control, 1);
  }
}

const WORKER_SOURCE = [
  // Transpilers that keep function names may emit calls to a `__name` helper; make it harmless.
  'var __name = function (f) { return f; };',
  accumulateHistogram.toString(),
  subtractHistogram.toString(),
  `(${histogramWorkerLoop.toString()})(require('node:worker_threads'));`,
].join('\n');
