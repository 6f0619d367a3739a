/**
 * Parallel lanes for the boosting kernels. Lane 0 is the calling thread; lanes 1.. are worker
 * threads (lane.worker.ts) driven synchronously through Atomics on shared memory
 * (lane.protocol.ts), so `fit` stays a plain function and a command costs a few microseconds of
 * hand-off, not an event-loop round trip.
 *
 * A tree takes one command per level, each with one or two barriers inside, so lanes hand off rarely:
 *
 * - `bin`: cuts and column-major bins by feature; then (calling thread) the packing of features into
 *   the bytes of a row (../histogram.packing.ts); then the row-major packed bins by rows;
 * - `gradientsAndRoot`: gradients and the root's partial histogram by row, barrier, the partials
 *   summed and split search by slot;
 * - `splitLevel`: each lane owns the rows whose gradients it computed at the root (a contiguous
 *   range of row indices) for the whole tree: it partitions its rows of each splitting node,
 *   barrier, copies them back and builds the smaller children's partial histograms of its rows,
 *   barrier, then the partials summed and split search by slot. So a row's gradients, packed
 *   gradients and place in the row lists are touched by one core only (on a shared cache line
 *   each had cost a transfer between cores: a lane's half of the gradient pass took as long as
 *   one lane's whole pass);
 * - `closeLeaves`: the splits whose children are leaves record each row's leaf (rows do not move)
 *   and sum the exact gradients of both sides; leaves closed earlier are summed whole.
 *
 * What each lane does of a command, and why the results never depend on the lane count, is in
 * lane.run.ts. The heaviest kernels run as WebAssembly on the arena's shared memory; each worker
 * instantiates the module on it.
 */
import { EXP_CONSTANTS, EXP_POW2_FRAC, EXP_POW2_INT } from '../fast-math.js';
import { planPacking } from '../histogram.packing.js';
import { allocateFloat64, allocateInt32 } from '../shared-memory.js';
import type { WasmArena } from '../wasm/wasm.arena.js';
import { boostingWasmModule, instantiateWasmKernels } from '../wasm/wasm.module.js';
import { type Kernels, LANE_SCRATCH, laneKernels } from './lane.kernels.js';
import {
  CHUNK_FIELDS,
  CHUNK_ROWS,
  ChunkField,
  Command,
  type LaneContext,
  NODE_FIELDS,
  NodeField,
  RESULT_FIELDS,
  SPLIT_FIELDS,
  Slot,
  TIMERS,
  controlSlots,
} from './lane.protocol.js';
import { binScratchBytes, runLane } from './lane.run.js';
import { type LaneWorker, startLaneWorker } from './lane.threads.js';
import type {
  HistogramBuffer,
  LaneData,
  LaneLimits,
  LaneTimes,
  LeafRange,
  LeafSplit,
  LevelSplit,
  Quantisation,
  RowRange,
  SplitResult,
  SplitSettings,
} from './lane.types.js';

/** Whether buffers must live on shared memory for this lane count. */
export function needsSharedMemory(lanes: number): boolean {
  return lanes > 1;
}

/**
 * Cells (rows x features) per binning command while a worker is still starting, so that it joins
 * within about 0.1 s of coming up however many rows there are (a round of 12 features at 480k rows
 * took 0.34 s on one lane, and a worker ready early in it waited for its end); at least 2 and at
 * most 12 features (one pass over the rows extracts up to 12 columns).
 */
const BIN_ROUND_CELLS = 1 << 21;

/** A worker that is not ready within this time when lanes are awaited is given up on (tsx makes start-up slow on a busy machine). */
const READY_TIMEOUT_MS = 60_000;

/**
 * Parallel lanes over one training set. Call `close` when done. Workers start in the background
 * and join at the next command once they are up (the calling thread works alone until then);
 * results do not depend on how many lanes ran which command.
 */
export class BoostingLanes {
  /** Lanes that ran the last command (the calling thread and the workers ready by then). */
  private active = 1;
  /** When (performance.now()) the last worker lane joined a command; null while one has not. */
  private joinedAt: number | null = null;
  private readonly context: LaneContext;
  private readonly workers: LaneWorker[];
  private readonly buffers: HistogramBuffer[] = [];
  private readonly free: HistogramBuffer[] = [];
  /**
   * Per lane, and one past the last, the first row index it owns in this tree (set by the root):
   * a lane partitions and accumulates only its own rows, so their gradients, packed gradients and
   * row lists stay in its core's cache from tree to tree.
   */
  private readonly owners: Int32Array;
  /** Nodes per lane in the partials table (`partials[lane * partialNodes + node]`). */
  private readonly partialNodes: number;
  /** Doubles per histogram buffer; set by `bin`. */
  private histLength = 0;
  private readonly shared: boolean;
  private readonly arena: WasmArena;
  /** The kernels on the calling thread. */
  private readonly kernels: Kernels;

  /**
   * @param requested lanes wanted; fewer are used while workers start, or if they cannot.
   * @param awaitLanes wait (up to 60 s each) for the workers before the first command.
   */
  constructor(data: LaneData, requested: number, limits: LaneLimits, awaitLanes = false) {
    this.shared = needsSharedMemory(requested);
    const control = allocateInt32(controlSlots(requested), this.shared);
    // Chunks of one command: every splitting node's rows cut into CHUNK_ROWS pieces, plus leaves
    // (leaves), or each node cut into one chunk per lane (levels).
    const maxChunks =
      Math.ceil(data.nRows / CHUNK_ROWS) + requested * limits.maxNodes + limits.maxLeaves + requested + 1;
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
      partials: allocateInt32(requested * Math.max(1, limits.maxNodes), this.shared).fill(-1),
      expConstants: EXP_CONSTANTS,
      pow2Int: arena.float64(EXP_POW2_INT.length),
      pow2Frac: arena.float64(EXP_POW2_FRAC.length),
      scratch: arena.float64(LANE_SCRATCH * requested),
    };
    this.owners = new Int32Array(requested + 1);
    this.partialNodes = Math.max(1, limits.maxNodes);
    this.kernels = laneKernels(instantiateWasmKernels(arena.memory), this.context.scratch, 0);
    this.context.pow2Int.set(EXP_POW2_INT);
    this.context.pow2Frac.set(EXP_POW2_FRAC);
    this.workers = [];
    for (let lane = 1; lane < requested; lane++) {
      const worker = startLaneWorker(this.context, lane);
      if (worker === null) break;
      this.workers.push(worker);
    }
    if (awaitLanes) {
      const late = this.workers.findIndex((worker) => !worker.awaitReady(READY_TIMEOUT_MS));
      if (late >= 0) for (const worker of this.workers.splice(late)) worker.stop();
    }
    control[Slot.LANES] = 1;
  }

  /** Lanes that ran the last command. */
  get count(): number {
    return this.active;
  }

  /** Milliseconds from `since` (performance.now()) until every worker lane had joined a command: 0 without workers, -1 if one never did. */
  joinedAfter(since: number): number {
    if (this.workers.length === 0) return 0;
    return this.joinedAt === null ? -1 : this.joinedAt - since;
  }

  /** Let workers that have come up since the last command join this one (lanes stay contiguous). */
  private activate(): void {
    if (this.active > this.workers.length) return;
    while (this.active <= this.workers.length && this.workers[this.active - 1]!.ready()) this.active++;
    if (this.active > this.workers.length) this.joinedAt = performance.now();
    this.context.control[Slot.LANES] = this.active;
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
    const { context } = this;
    // While a worker is still starting, in rounds of features, so that it joins as soon as it is up.
    const round = Math.max(2, Math.min(12, Math.floor(BIN_ROUND_CELLS / Math.max(1, context.nRows))));
    // Each lane's scratch (columns, sort buffers) in the arena, where the WebAssembly kernels reach
    // it; given back afterwards, so the first histograms reuse its pages.
    const mark = this.arena.mark();
    const perLane = binScratchBytes(context.nRows);
    context.control[Slot.BIN_SCRATCH] = this.arena.uint8(perLane * (this.workers.length + 1)).byteOffset;
    for (let from = 0; from < context.nFeatures; ) {
      this.activate();
      const to = this.active > this.workers.length ? context.nFeatures : Math.min(context.nFeatures, from + round);
      context.control[Slot.ARG] = from;
      context.control[Slot.ITEMS] = to;
      this.dispatch(Command.BIN);
      from = to;
    }
    this.arena.release(mark);
    const plan = planPacking(context.nBins, pack);
    if (plan.words * 4 > context.stride)
      throw new Error(`internal: ${plan.nSlots} slots exceed the ${context.stride} bytes of a binned row`);
    context.slotOf.set(plan.slotOf);
    context.mult.set(plan.mult);
    context.span.set(plan.span);
    context.histAt.set(plan.histAt);
    context.byteOffset.set(plan.byteOffset);
    context.control[Slot.WORDS] = plan.words;
    let lastByte = 4 * plan.words - 4;
    for (let f = 0; f < context.nFeatures; f++) lastByte = Math.max(lastByte, plan.byteOffset[f]!);
    context.control[Slot.TAIL] = lastByte + 1 - (4 * plan.words - 4);
    this.histLength = plan.histLength;
    // Each worker lane's partial histogram of its rows of the root (those of a level's other nodes
    // are allocated by splitLevel as levels widen).
    for (let lane = 1; lane <= this.workers.length; lane++)
      context.partials[lane * this.partialNodes] = this.allocate().id;
    this.activate();
    this.dispatch(Command.TRANSPOSE);
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
    this.context.control[Slot.N_FEATURES] = nFeatures;
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
    control[Slot.ITEMS] = count;
    control[Slot.FLAG] = fused ? 1 : 0;
    control[Slot.ARG] = root === null ? -1 : root.id;
    this.context.gradQ[3] = seed;
    this.activate();
    this.dispatch(Command.ROOT);
    // Lane l's rows are those from position floor(l * count / lanes) of the (ascending) sampled
    // rows on: the rows whose gradients it just computed.
    const lanes = this.count;
    for (let lane = 1; lane < lanes; lane++) {
      const at = Math.floor((lane * count) / lanes);
      this.owners[lane] = at < count ? this.context.rows[at]! : this.context.nRows;
    }
    this.owners[lanes] = this.context.nRows;
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
      nodes[b + NodeField.START] = split.start;
      nodes[b + NodeField.END] = split.end;
      nodes[b + NodeField.SPLIT] = split.feature * 256 + split.bin;
      nodes[b + NodeField.HIST] = split.hist.id;
      nodes[b + NodeField.SMALL] = split.small.id;
      nodes[b + NodeField.GQ] = split.Gq;
      nodes[b + NodeField.HQ] = split.Hq;
      nodes[b + NodeField.GLQ] = split.GLq;
      nodes[b + NodeField.HLQ] = split.HLq;
      ranges.push(split);
    }
    // No lane joins within a tree: the rows are owned by the lanes that ran its root.
    for (let lane = 1; lane < this.count; lane++) {
      for (let node = 0; node < splits.length; node++) {
        const at = lane * this.partialNodes + node;
        if (this.context.partials[at]! < 0) this.context.partials[at] = this.allocate().id;
      }
    }
    const total = this.chunkLevel(ranges);
    control[Slot.ITEMS] = total;
    control[Slot.ARG] = splits.length;
    this.dispatch(Command.LEVEL);
    const leftCounts = new Int32Array(splits.length);
    for (let t = 0; t < total; t++)
      leftCounts[chunks[t * CHUNK_FIELDS + ChunkField.NODE]!]! += results[t * RESULT_FIELDS]!;
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
      nodes[b + NodeField.SPLIT] = split.feature * 256 + split.bin;
      nodes[b + NodeField.HIST] = split.leftId;
      nodes[b + NodeField.SMALL] = split.rightId;
    }
    // No lane joins within a tree (the rows' owners are the lanes of its root).
    const total = this.chunk(splits, leaves);
    control[Slot.ITEMS] = total;
    this.dispatch(Command.LEAVES);
    const splitSums = new Float64Array(4 * splits.length);
    const leafSums = new Float64Array(2 * leaves.length);
    let leaf = 0;
    for (let t = 0; t < total; t++) {
      const node = chunks[t * CHUNK_FIELDS + ChunkField.NODE]!;
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
    this.context.control[Slot.ITEMS] = count;
    this.activate();
    this.dispatch(Command.ADD_LEAF_VALUES);
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
   * The chunk table of a level: each node cut where its rows pass from one lane's to the next's
   * (a node's rows are ascending, as the sampled rows are and a stable partition keeps them), so
   * node i's chunk of lane l is chunk `lanes * i + l` (empty when the lane owns none of its rows)
   * and each lane partitions and accumulates only its own rows. Returns the number of chunks.
   */
  private chunkLevel(ranges: readonly RowRange[]): number {
    const { chunks, nodes, rows } = this.context;
    const lanes = this.count;
    let n = 0;
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!;
      nodes[i * NODE_FIELDS + NodeField.FIRST_CHUNK] = n;
      nodes[i * NODE_FIELDS + NodeField.CHUNKS] = lanes;
      let start = range.start;
      for (let lane = 0; lane < lanes; lane++) {
        // The first position at or after `start` whose row the next lane owns.
        let end = range.end;
        if (lane < lanes - 1) {
          const owner = this.owners[lane + 1]!;
          let lo = start;
          while (lo < end) {
            const mid = (lo + end) >>> 1;
            if (rows[mid]! < owner) lo = mid + 1;
            else end = mid;
          }
        }
        const at = n * CHUNK_FIELDS;
        chunks[at + ChunkField.NODE] = i;
        chunks[at + ChunkField.START] = start;
        chunks[at + ChunkField.END] = end;
        chunks[at + ChunkField.LANE] = lane;
        chunks[at + ChunkField.LEAF] = -1;
        n++;
        start = end;
      }
    }
    if (n * CHUNK_FIELDS > chunks.length) throw new Error(`internal: ${n} chunks exceed the chunk table`);
    return n;
  }

  /**
   * The chunk table of the leaves: every node range cut into chunks of at most CHUNK_ROWS rows,
   * counted from the range's start, then each leaf whole; each chunk goes to the lane that owns most of its rows
   * (the owner of its middle row: a range's rows are ascending), which wrote their gradients and
   * will read their leaves in the next gradient pass. Records each node's first chunk and chunk
   * count in the node table. Returns the number of chunks.
   */
  private chunk(ranges: readonly RowRange[], leaves: readonly LeafRange[]): number {
    const { chunks, nodes, rows } = this.context;
    const lanes = this.count;
    let n = 0;
    const laneOf = (start: number, end: number): number => {
      if (lanes === 1) return 0;
      const row = rows[(start + end - 1) >>> 1]!;
      let lane = 0;
      while (lane < lanes - 1 && row >= this.owners[lane + 1]!) lane++;
      return lane;
    };
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!;
      nodes[i * NODE_FIELDS + NodeField.FIRST_CHUNK] = n;
      for (let start = range.start; start < range.end; start += CHUNK_ROWS) {
        const end = Math.min(range.end, start + CHUNK_ROWS);
        const at = n * CHUNK_FIELDS;
        chunks[at + ChunkField.NODE] = i;
        chunks[at + ChunkField.START] = start;
        chunks[at + ChunkField.END] = end;
        chunks[at + ChunkField.LANE] = laneOf(start, end);
        chunks[at + ChunkField.LEAF] = -1;
        n++;
      }
      nodes[i * NODE_FIELDS + NodeField.CHUNKS] = n - nodes[i * NODE_FIELDS + NodeField.FIRST_CHUNK]!;
    }
    for (const leaf of leaves) {
      const at = n * CHUNK_FIELDS;
      chunks[at + ChunkField.NODE] = -1;
      chunks[at + ChunkField.START] = leaf.start;
      chunks[at + ChunkField.END] = leaf.end;
      chunks[at + ChunkField.LANE] = laneOf(leaf.start, leaf.end);
      chunks[at + ChunkField.LEAF] = leaf.id;
      n++;
    }
    if (n * CHUNK_FIELDS > chunks.length) throw new Error(`internal: ${n} chunks exceed the chunk table`);
    return n;
  }

  private dispatch(command: number): void {
    const control = this.context.control;
    control[Slot.COMMAND] = command;
    control[Slot.BARRIER] = 0;
    const running = this.workers.slice(0, this.active - 1);
    for (const worker of running) worker.start();
    let failure: unknown = null;
    try {
      runLane(this.context, 0, this.kernels);
    } catch (error) {
      // Release the other lanes from any barrier, let them finish, then report.
      failure = error;
      Atomics.store(control, Slot.FAILED, 1);
      Atomics.notify(control, Slot.BARRIER);
    }
    for (const worker of running) worker.wait();
    if (failure !== null) throw failure;
    if (Atomics.load(control, Slot.FAILED) !== 0) throw new Error('a boosting worker lane failed; see its stderr');
  }
}
