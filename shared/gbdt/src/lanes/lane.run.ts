/**
 * One lane's share of a command (lane.protocol.ts). Work is split so that results never depend on
 * the lane count: histograms by rows (each lane its rows into its own buffer, the buffers summed
 * after a barrier: quantised histogram sums are exact integers, so any split of the rows and any
 * order gives the same sums), split search by slot (each feature searched whole by one lane; ties
 * between lanes go to the lowest feature, as within a lane), gradients and margin updates by row
 * (element-wise), partitions by each lane's own rows of a node (a
 * stable partition is the same however it is chunked), exact sums by fixed-size chunks counted
 * from the node's start and added in chunk order, or by whole leaf.
 */
import type { Kernels } from './lane.kernels.js';
import {
  CHUNK_FIELDS,
  ChunkField,
  Command,
  type LaneContext,
  NODE_FIELDS,
  NodeField,
  RESULT_FIELDS,
  SPLIT_FIELDS,
  Slot,
  TIMERS,
  Timer,
  laneBarrier,
} from './lane.protocol.js';

/** What a lane owns of the current command: its rows, histogram words and active features. */
interface LaneShare {
  lane: number;
  lanes: number;
  /** This lane's histogram words `[wordFrom, wordTo)`. */
  wordFrom: number;
  wordTo: number;
  /** The active features whose slots live in those words, `features[featureFrom .. featureTo)` (ordered by slot). */
  featureFrom: number;
  featureTo: number;
}

/** Run lane `lane`'s share of the current command. */
export function runLane(c: LaneContext, lane: number, k: Kernels): void {
  const { control } = c;
  const lanes = control[Slot.LANES]!;
  const words = control[Slot.WORDS]!;
  const wordFrom = Math.floor((lane * words) / lanes);
  const wordTo = Math.floor(((lane + 1) * words) / lanes);
  const nActive = control[Slot.N_FEATURES]!;
  let featureFrom = 0;
  while (featureFrom < nActive && c.slotOf[c.features[featureFrom]!]! < 4 * wordFrom) featureFrom++;
  let featureTo = featureFrom;
  while (featureTo < nActive && c.slotOf[c.features[featureTo]!]! < 4 * wordTo) featureTo++;
  const share: LaneShare = { lane, lanes, wordFrom, wordTo, featureFrom, featureTo };
  switch (control[Slot.COMMAND]) {
    case Command.ROOT:
      return runRoot(c, share, k);
    case Command.LEVEL:
      return runLevel(c, share, k);
    case Command.LEAVES:
      return runLeaves(c, share, k);
    case Command.ADD_LEAF_VALUES: {
      const items = control[Slot.ITEMS]!;
      const from = Math.floor((lane * items) / lanes);
      const to = Math.floor(((lane + 1) * items) / lanes);
      return k.addLeaves(c.margin, c.rows, from, to, c.leafOf, c.leafValue);
    }
    case Command.BIN:
      return runBin(c, share, k);
    case Command.TRANSPOSE:
      return k.transpose(
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

function addTime(c: LaneContext, lane: number, timer: number, ms: number): void {
  c.timers[lane * TIMERS + timer] = c.timers[lane * TIMERS + timer]! + ms;
}

/** Best split of the node whose histogram is `hist` and sums `Gq`, `Hq`, over this lane's features, into `splitOut` entry `entry`. */
function splitNode(
  c: LaneContext,
  s: LaneShare,
  k: Kernels,
  hist: Float64Array,
  Gq: number,
  Hq: number,
  entry: number,
) {
  k.split(
    hist,
    Gq,
    Hq,
    c.nBins,
    c.histAt,
    c.features,
    s.featureFrom,
    s.featureTo,
    c.splitQ,
    c.settings[0]!,
    c.settings[1]!,
    c.settings[2]!,
    c.splitOut,
    entry * SPLIT_FIELDS,
  );
}

/**
 * Gradients of this lane's rows, and their histogram (the root's own buffer on lane 0, the lane's
 * partial histogram on the others) while they are in cache; barrier; then, on this lane's words,
 * the partials summed into the root's, and its split search.
 */
function runRoot(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { control } = c;
  const { lane, lanes } = s;
  const items = control[Slot.ITEMS]!;
  const from = Math.floor((lane * items) / lanes);
  const to = Math.floor(((lane + 1) * items) / lanes);
  const t0 = performance.now();
  c.results[lane] = k.gradients(
    c.margin,
    c.labels,
    c.weights,
    c.rows,
    from,
    to,
    control[Slot.FLAG]!,
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
  addTime(c, lane, Timer.GRADIENTS, t1 - t0);
  const root = control[Slot.ARG]!;
  if (root < 0) return;
  const words = control[Slot.WORDS]!;
  const hist = c.hists[root]!;
  const own = lane === 0 ? hist : c.hists[c.partials[lane * partialNodes(c)]!]!;
  k.clear(own, 0, words);
  k.accumulate(c.bins32, words, c.packed, c.rows, from, to, own, 0, words, control[Slot.TAIL]!);
  const t2 = performance.now();
  addTime(c, lane, Timer.HISTOGRAMS, t2 - t1);
  laneBarrier(control);
  const t3 = performance.now();
  addTime(c, lane, Timer.WAITING, t3 - t2);
  // The packed total is an exact integer, so the lanes' partial sums add up the same in any order.
  let total = 0;
  for (let l = 0; l < lanes; l++) total += c.results[l]!;
  const shift = c.splitQ[2]!;
  const Gq = Math.floor(total / shift);
  for (let l = 1; l < lanes; l++) k.add(hist, c.hists[c.partials[l * partialNodes(c)]!]!, s.wordFrom, s.wordTo);
  unpack(c, k, hist, s.featureFrom, s.featureTo);
  const t4 = performance.now();
  addTime(c, lane, Timer.HISTOGRAMS, t4 - t3);
  splitNode(c, s, k, hist, Gq, total - Gq * shift, lane);
  addTime(c, lane, Timer.SPLITS, performance.now() - t4);
}

/** Nodes per lane in the partials table. */
function partialNodes(c: LaneContext): number {
  return c.nodes.length / NODE_FIELDS;
}

function unpack(c: LaneContext, k: Kernels, hist: Float64Array, from: number, to: number): void {
  k.unpack(hist, c.features, from, to, c.slotOf, c.mult, c.span, c.nBins, c.histAt);
}

/**
 * Node `node`'s children, once this lane's words of its smaller child's histogram are complete:
 * unpack the smaller child's packed slots, turn the node's histogram into the larger child's by
 * subtraction (slots and unpacked features alike), and find both children's best splits, all on
 * this lane's words and features, into this lane's split entry of each child. Returns when the
 * histogram work ended (performance.now()).
 */
function finishNode(c: LaneContext, s: LaneShare, k: Kernels, node: number, smallLeft: boolean): number {
  const N = c.nodes;
  const b = node * NODE_FIELDS;
  const parent = c.hists[N[b + NodeField.HIST]!]!;
  const small = c.hists[N[b + NodeField.SMALL]!]!;
  unpack(c, k, small, s.featureFrom, s.featureTo);
  k.subtract(parent, small, s.wordFrom, s.wordTo);
  k.subtractUnpacked(parent, small, c.features, s.featureFrom, s.featureTo, c.slotOf, c.nBins, c.histAt);
  const u1 = performance.now();
  const GLq = N[b + NodeField.GLQ]!;
  const HLq = N[b + NodeField.HLQ]!;
  const GRq = N[b + NodeField.GQ]! - GLq;
  const HRq = N[b + NodeField.HQ]! - HLq;
  const { lane, lanes } = s;
  splitNode(c, s, k, smallLeft ? small : parent, GLq, HLq, 2 * node * lanes + lane);
  splitNode(c, s, k, smallLeft ? parent : small, GRq, HRq, (2 * node + 1) * lanes + lane);
  return u1;
}

/**
 * One level, each lane on its own rows (chunk `lanes * node + lane` of each node, BoostingLanes'
 * chunkLevel): the stable partition of its chunks into the scratch arrays; barrier (for the left
 * counts); its chunks back in place; the smaller children's histograms of its rows (lane 0 into
 * the child's buffer, the others into their partials; one lane finishes each node at once, while
 * it is in cache); barrier; then on its words the partials summed and, on its slots, every node
 * finished (finishNode).
 */
function runLevel(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { control, nodes: N, chunks: C, results: R } = c;
  const { lane, lanes } = s;
  const nNodes = control[Slot.ARG]!;
  const t0 = performance.now();
  for (let node = 0; node < nNodes; node++) {
    const t = N[node * NODE_FIELDS + NodeField.FIRST_CHUNK]! + lane;
    const split = N[node * NODE_FIELDS + NodeField.SPLIT]!;
    R[t * RESULT_FIELDS] = k.partition(
      c.cols,
      c.nRows,
      c.rows,
      c.left,
      c.right,
      C[t * CHUNK_FIELDS + ChunkField.START]!,
      C[t * CHUNK_FIELDS + ChunkField.END]!,
      split >> 8,
      split & 255,
    );
  }
  const t1 = performance.now();
  addTime(c, lane, Timer.PARTITION, t1 - t0);
  laneBarrier(control);
  const t2 = performance.now();
  addTime(c, lane, Timer.WAITING, t2 - t1);
  const words = control[Slot.WORDS]!;
  const tail = control[Slot.TAIL]!;
  const perLane = partialNodes(c);
  const smallLeft = new Uint8Array(nNodes);
  let tStitch = 0;
  let tSplit = 0;
  for (let node = 0; node < nNodes; node++) {
    const u0 = performance.now();
    const b = node * NODE_FIELDS;
    const first = N[b + NodeField.FIRST_CHUNK]!;
    const nodeStart = N[b + NodeField.START]!;
    let nl = 0;
    let nlBefore = 0;
    let nrBefore = 0;
    for (let l = 0; l < lanes; l++) {
      const t = first + l;
      const left = R[t * RESULT_FIELDS]!;
      nl += left;
      if (l < lane) {
        nlBefore += left;
        nrBefore += C[t * CHUNK_FIELDS + ChunkField.END]! - C[t * CHUNK_FIELDS + ChunkField.START]! - left;
      }
    }
    const n = N[b + NodeField.END]! - nodeStart;
    smallLeft[node] = nl <= n - nl ? 1 : 0;
    // This lane's chunk back in place: its left part after the earlier lanes' left parts, its
    // right part after the node's left rows and the earlier lanes' right parts.
    const t = first + lane;
    const start = C[t * CHUNK_FIELDS + ChunkField.START]!;
    const ml = R[t * RESULT_FIELDS]!;
    const mr = C[t * CHUNK_FIELDS + ChunkField.END]! - start - ml;
    c.rows.set(c.left.subarray(start, start + ml), nodeStart + nlBefore);
    c.rows.set(c.right.subarray(start, start + mr), nodeStart + nl + nrBefore);
    const u1 = performance.now();
    tStitch += u1 - u0;
    const own = lane === 0 ? c.hists[N[b + NodeField.SMALL]!]! : c.hists[c.partials[lane * perLane + node]!]!;
    k.clear(own, 0, words);
    if (smallLeft[node] === 1) k.accumulate(c.bins32, words, c.packed, c.left, start, start + ml, own, 0, words, tail);
    else k.accumulate(c.bins32, words, c.packed, c.right, start, start + mr, own, 0, words, tail);
    if (lanes === 1) {
      const u2 = finishNode(c, s, k, node, smallLeft[node] === 1);
      tSplit += performance.now() - u2;
    }
  }
  const t3 = performance.now();
  addTime(c, lane, Timer.STITCH, tStitch);
  addTime(c, lane, Timer.HISTOGRAMS, t3 - t2 - tStitch - tSplit);
  addTime(c, lane, Timer.SPLITS, tSplit);
  if (lanes === 1) return;
  laneBarrier(control, 2);
  const t4 = performance.now();
  addTime(c, lane, Timer.WAITING, t4 - t3);
  let tHist = 0;
  tSplit = 0;
  for (let node = 0; node < nNodes; node++) {
    const v0 = performance.now();
    const small = c.hists[N[node * NODE_FIELDS + NodeField.SMALL]!]!;
    for (let l = 1; l < lanes; l++) k.add(small, c.hists[c.partials[l * perLane + node]!]!, s.wordFrom, s.wordTo);
    const v1 = finishNode(c, s, k, node, smallLeft[node] === 1);
    tHist += v1 - v0;
    tSplit += performance.now() - v1;
  }
  addTime(c, lane, Timer.HISTOGRAMS, tHist);
  addTime(c, lane, Timer.SPLITS, tSplit);
}

/** The last splits (each row's leaf and both sides' exact sums, rows unmoved) and the leaves closed earlier (whole). */
function runLeaves(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { control, nodes: N, chunks: C, results: R } = c;
  const items = control[Slot.ITEMS]!;
  const t0 = performance.now();
  for (let t = 0; t < items; t++) {
    const chunk = t * CHUNK_FIELDS;
    if (C[chunk + ChunkField.LANE] !== s.lane) continue;
    const node = C[chunk + ChunkField.NODE]!;
    const start = C[chunk + ChunkField.START]!;
    const end = C[chunk + ChunkField.END]!;
    if (node >= 0) {
      const b = node * NODE_FIELDS;
      const split = N[b + NodeField.SPLIT]!;
      const leftId = N[b + NodeField.HIST]!;
      const rightId = N[b + NodeField.SMALL]!;
      k.leaves(
        c.cols,
        c.nRows,
        c.rows,
        start,
        end,
        split >> 8,
        split & 255,
        leftId,
        rightId,
        c.leafOf,
        c.gh,
        R,
        t * RESULT_FIELDS,
      );
    } else {
      k.close(c.rows, start, end, C[chunk + ChunkField.LEAF]!, c.leafOf, c.gh, R, t * RESULT_FIELDS);
    }
  }
  addTime(c, s.lane, Timer.LEAVES, performance.now() - t0);
}

/** Columns extracted per pass over the rows in binning. */
const BIN_BLOCK = 12;

function alignBytes(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Bytes of one lane's binning scratch for `nRows` rows: BIN_BLOCK columns, two sort buffers, 2,048 counts. */
export function binScratchBytes(nRows: number): number {
  return alignBytes(8 * BIN_BLOCK * nRows) + 2 * alignBytes(8 * nRows) + 8192;
}

/**
 * Cuts and column-major bins of features from + lane, from + lane + lanes, … below `to` (the
 * command's ARG and ITEMS): wide features (which need a sort) tend to come together in a table,
 * and interleaving spreads them. Columns are extracted up to 12 per pass over the rows.
 */
function runBin(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { lane, lanes } = s;
  const from = c.control[Slot.ARG]!;
  const mine = Math.ceil((c.control[Slot.ITEMS]! - from - lane) / lanes);
  if (mine <= 0) return;
  const n = c.nRows;
  const block = Math.ceil(mine / Math.ceil(mine / BIN_BLOCK));
  // This lane's scratch in the arena (BoostingLanes.bin), laid out as binScratchBytes counts it.
  const buffer = c.memory.buffer;
  const at = (c.control[Slot.BIN_SCRATCH]! >>> 0) + lane * binScratchBytes(n);
  const columns = new Float64Array(buffer, at, block * n);
  const a = new Float64Array(buffer, at + alignBytes(8 * BIN_BLOCK * n), n);
  const b = new Float64Array(buffer, at + alignBytes(8 * BIN_BLOCK * n) + alignBytes(8 * n), n);
  const counts = new Uint32Array(buffer, at + alignBytes(8 * BIN_BLOCK * n) + 2 * alignBytes(8 * n), 2048);
  for (let i0 = 0; i0 < mine; i0 += block) {
    const count = Math.min(block, mine - i0);
    k.extract(c.values, n, c.nFeatures, from + lane + i0 * lanes, lanes, count, columns);
    for (let j = 0; j < count; j++) {
      const f = from + lane + (i0 + j) * lanes;
      const column = columns.subarray(j * n, (j + 1) * n);
      let nCuts = k.distinct(column, n, c.maxBins, c.cuts, f * 256);
      if (nCuts < 0) {
        nCuts = k.cuts(k.sort(column, n, a, b, counts), n, c.maxBins, c.cuts, f * 256);
      }
      c.nBins[f] = nCuts + 1;
      k.fill(column, n, c.cuts, f * 256, nCuts, c.cols, f * n);
    }
  }
}
