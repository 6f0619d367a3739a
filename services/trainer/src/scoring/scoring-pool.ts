/**
 * Scoring a chunk of rows on several cores from a synchronous call (DuckDB's scalar-function
 * callback, where the engine's threads wait for the JavaScript thread): the caller's thread copies
 * the other threads' shares of the chunk's columns into shared memory, wakes them, scores its own
 * share, and blocks on `Atomics.wait` until they are done. The workers run the same generated
 * functions (the compiled forest's source text), so every row gets the same bits whichever thread
 * scored it.
 *
 * Workers start once per process and stay, asleep on a futex between chunks, holding the last few
 * forests compiled (a forest scored again starts warm there too). They are unref'd: they never keep
 * the process alive.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What a worker needs to score with a forest: its generated functions' bodies and base score. */
export interface ForestSource {
  /** Distinct per forest of the process (workers keep compiled forests by it). */
  readonly id: number;
  readonly baseScore: number;
  /** Columns a row needs, in the order the functions read them (`columns[slot]`). */
  readonly width: number;
  /** Bodies of `(columns, sum, n, at) => void` functions adding their trees to `sum[0..n)`. */
  readonly bodies: readonly string[];
}

/** Rows the shared buffers hold (DuckDB's chunks are 2,048 rows). */
const CAPACITY = 2048;
/** Rows a thread claims at a time. */
const BLOCK = 256;
/** Below this many rows a chunk is scored by the caller alone (waking a worker costs more). */
const MIN_PARALLEL_ROWS = 512;
/** Bytes of a forest's source a worker can be handed at once. */
const SOURCE_BYTES = 1 << 22;
const MAX_WIDTH = 256;
/** Forests a worker keeps compiled. */
const KEPT = 4;

// The chunk's words, shared by every thread (Int32Array over a SharedArrayBuffer).
const NEXT = 0; // next block to claim
const ROWS = 1; // rows of the chunk
const FOREST = 2; // forest id

// A worker's control words.
const SEQ = 0; // bumped by the caller for each command
const DONE = 1; // set to SEQ by the worker when the command is done
const COMMAND = 2; // 1: load a forest (LENGTH bytes of source), 2: score blocks of the chunk
const LENGTH = 3; // bytes of source, or of the error message
const FAILED = 4; // 1 when the command failed (message in the source buffer)

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { job, control, input, output, source, capacity, block } = workerData;
const chunk = new Int32Array(job);
const ctl = new Int32Array(control);
const x = new Float64Array(input);
const out = new Float64Array(output);
const text = new Uint8Array(source);
const forests = new Map();
const sum = new Float64Array(block);
function sigmoid(m) { return m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m)); }
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  let failed = 0;
  try {
    if (ctl[${COMMAND}] === 1) {
      const spec = JSON.parse(new TextDecoder().decode(text.slice(0, ctl[${LENGTH}])));
      const fns = spec.bodies.map((body) => new Function('columns', 'sum', 'n', 'at', body));
      const columns = [];
      for (let c = 0; c < spec.width; c++) columns.push(x.subarray(c * capacity, (c + 1) * capacity));
      forests.set(spec.id, { base: spec.baseScore, columns, fns });
      if (forests.size > ${KEPT}) forests.delete(forests.keys().next().value);
    } else {
      const forest = forests.get(chunk[${FOREST}]);
      if (!forest) throw new Error('no forest ' + chunk[${FOREST}] + ' loaded');
      const rows = chunk[${ROWS}];
      for (;;) {
        const at = Atomics.add(chunk, ${NEXT}, 1) * block;
        if (at >= rows) break;
        const n = Math.min(block, rows - at);
        sum.fill(forest.base);
        for (const add of forest.fns) add(forest.columns, sum, n, at);
        for (let r = 0; r < n; r++) out[at + r] = sigmoid(sum[r]);
      }
    }
  } catch (error) {
    failed = 1;
    const message = new TextEncoder().encode(String(error && error.message ? error.message : error));
    const length = Math.min(message.length, text.length);
    text.set(message.subarray(0, length));
    ctl[${LENGTH}] = length;
  }
  ctl[${FAILED}] = failed;
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

/** The chunk being scored, in memory every thread of the pool sees. */
const chunk = new Int32Array(new SharedArrayBuffer(4 * 4));
const input = new Float64Array(new SharedArrayBuffer(CAPACITY * MAX_WIDTH * 8));
const output = new Float64Array(new SharedArrayBuffer(CAPACITY * 8));

/** One worker, its control words and the buffer its forests' sources (or its errors) cross in. */
class PoolWorker {
  private readonly control = new Int32Array(new SharedArrayBuffer(8 * 4));
  private readonly source = new Uint8Array(new SharedArrayBuffer(SOURCE_BYTES));
  private readonly loaded: number[] = [];
  private pending = 0;

  constructor() {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        job: chunk.buffer,
        control: this.control.buffer,
        input: input.buffer,
        output: output.buffer,
        source: this.source.buffer,
        capacity: CAPACITY,
        block: BLOCK,
      },
    });
    worker.unref();
  }

  /** Starts a command; `finish` waits for it. */
  command(command: number, length = 0): void {
    const ctl = this.control;
    ctl[COMMAND] = command;
    ctl[LENGTH] = length;
    this.pending = Atomics.add(ctl, SEQ, 1) + 1;
    Atomics.notify(ctl, SEQ);
  }

  /** Blocks until the last command is done; throws its error. */
  finish(): void {
    const ctl = this.control;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === this.pending) break;
      Atomics.wait(ctl, DONE, done);
    }
    if (ctl[FAILED] === 1)
      throw new Error(`a scoring worker failed: ${new TextDecoder().decode(this.source.slice(0, ctl[LENGTH]))}`);
  }

  /** Hands the forest over unless the worker holds it already (it keeps the last `KEPT`). */
  ensure(forest: ForestSource): void {
    if (this.loaded.includes(forest.id)) return;
    const bytes = new TextEncoder().encode(
      JSON.stringify({ id: forest.id, baseScore: forest.baseScore, width: forest.width, bodies: forest.bodies }),
    );
    if (bytes.length > SOURCE_BYTES) throw new RangeError(`a forest's source of ${bytes.length} bytes is too large`);
    this.source.set(bytes);
    this.command(1, bytes.length);
    this.finish();
    this.loaded.push(forest.id);
    if (this.loaded.length > KEPT) this.loaded.shift();
  }
}

let workers: PoolWorker[] | undefined;

function pool(): PoolWorker[] {
  workers ??= Array.from({ length: Math.max(0, Math.min(availableParallelism() - 1, 3)) }, () => new PoolWorker());
  return workers;
}

/** When the load average was last read, and whether the cores had room then. */
let checkedAt = -Infinity;
let idleCores = true;

/**
 * Whether the machine may have a core to spare: when the cores are oversubscribed (load average at
 * least twice the core count; this process's own DuckDB threads, caller and worker make up to about
 * the core count plus one), a worker is often descheduled holding a claimed block and the caller
 * waits for it, so the split costs more than it saves (bench/model's README). Read at most once a
 * second.
 */
function coresToSpare(): boolean {
  const now = performance.now();
  if (now - checkedAt > 1000) {
    checkedAt = now;
    idleCores = loadavg()[0]! < 2 * availableParallelism();
  }
  return idleCores;
}

/**
 * When chunks are split over the scoring threads: `when-faster` while the machine has a core to
 * spare and splitting has lately taken the caller's thread less time per row than scoring alone
 * (`SplitChooser`), `always` whatever the load (tests and benchmarks).
 */
export type ParallelScoring = 'when-faster' | 'always';

/** Whether large chunks of this forest may be split over threads on this machine now. */
export function parallelScoring(forest: ForestSource, mode: ParallelScoring): boolean {
  return forest.width <= MAX_WIDTH && (mode === 'always' || coresToSpare()) && pool().length > 0;
}

/** Whether `scoreInParallel` would split a chunk of `rows` rows of this forest (else it scores alone). */
export function splits(forest: ForestSource, columns: number, rows: number): boolean {
  return rows >= MIN_PARALLEL_ROWS && rows <= CAPACITY && columns === forest.width && pool().length > 0;
}

/** Chunks between two tries of the way that measured slower. */
const PROBE_EVERY = 8;
/** Weight of a chunk's time in the running mean of its way. */
const WEIGHT = 0.5;

/**
 * Chooses, chunk by chunk, between scoring on the caller's thread alone and splitting over the
 * scoring threads, by the wall time per row each took the caller lately (its thread is the
 * statement's critical path: DuckDB's threads wait for it). The load average only says whether the
 * machine is busy, not whether this process gets a second core: on a quiet machine the split
 * competes with the process's own DuckDB threads, on a loaded one the worker is descheduled holding
 * a block. So each way is timed: the first chunk alone, the next split, then the faster of the two,
 * with the slower one tried again every `PROBE_EVERY` chunks (a cold start or a change of load is
 * seen within a few chunks).
 */
export class SplitChooser {
  /** Running mean of ms per row: alone, split (NaN until measured). */
  private readonly perRow = [Number.NaN, Number.NaN];
  private chunks = 0;

  /** Whether the next chunk is to be split. */
  next(): boolean {
    const [alone, split] = this.perRow as [number, number];
    if (Number.isNaN(alone)) return false;
    if (Number.isNaN(split)) return true;
    this.chunks += 1;
    const faster = split < alone;
    return this.chunks % PROBE_EVERY === 0 ? !faster : faster;
  }

  /** A chunk of `rows` rows took `ms` on the caller's thread, split or not. */
  record(split: boolean, ms: number, rows: number): void {
    if (!(rows > 0) || !(ms >= 0)) return;
    const way = split ? 1 : 0;
    const value = ms / rows;
    const mean = this.perRow[way]!;
    this.perRow[way] = Number.isNaN(mean) ? value : mean + WEIGHT * (value - mean);
  }

  /** The running means (ms per row), for the log and tests. */
  means(): { alone: number; split: number } {
    return { alone: this.perRow[0]!, split: this.perRow[1]! };
  }
}

/** Shared views of the chunk's columns, by width. */
const views = new Map<number, Float64Array[]>();

/**
 * Scores `rows` rows of `columns` into `out[0..rows)` over the caller's thread and the workers:
 * the columns are copied into shared memory, then every thread claims blocks of `BLOCK` rows until
 * none is left and scores each, the caller with `scoreBlock(columns, at, n, out)`, a worker with
 * the same generated functions; a worker slow to wake only takes fewer blocks. Chunks too small or
 * too large to split are scored by `scoreAll` alone.
 */
export function scoreInParallel(
  forest: ForestSource,
  columns: readonly Float64Array[],
  rows: number,
  out: Float64Array,
  scoreAll: () => void,
  scoreBlock: (columns: readonly Float64Array[], at: number, n: number, out: Float64Array) => void,
): void {
  const threads = pool();
  if (rows < MIN_PARALLEL_ROWS || rows > CAPACITY || threads.length === 0 || columns.length !== forest.width) {
    scoreAll();
    return;
  }
  for (const worker of threads) worker.ensure(forest);
  let shared = views.get(forest.width);
  if (!shared) {
    shared = Array.from({ length: forest.width }, (_, c) => input.subarray(c * CAPACITY, (c + 1) * CAPACITY));
    views.set(forest.width, shared);
  }
  for (let c = 0; c < columns.length; c++) shared[c]!.set(columns[c]!.subarray(0, rows));
  chunk[ROWS] = rows;
  chunk[FOREST] = forest.id;
  Atomics.store(chunk, NEXT, 0);
  for (const worker of threads) worker.command(2);
  for (;;) {
    const at = Atomics.add(chunk, NEXT, 1) * BLOCK;
    if (at >= rows) break;
    scoreBlock(shared, at, Math.min(BLOCK, rows - at), output);
  }
  for (const worker of threads) worker.finish();
  out.set(output.subarray(0, rows));
}
