/**
 * One lane's share of a command (lane.protocol.ts). Work is split so that results never depend on
 * the lane count: histograms and split search by slot (each slot, and so each feature, handled
 * whole by one lane; ties between lanes go to the lowest feature, as within a lane), gradients and
 * margin updates by row (element-wise), partitions by chunks of rows (a stable partition is the
 * same however it is chunked), exact sums by fixed-size chunks counted from the node's start and
 * added in chunk order, or by whole leaf. Quantised histogram sums are exact integers, so any
 * order gives them.
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

/** Gradients of this lane's rows; barrier; then the root's histogram and split search on this lane's words. */
function runRoot(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { control } = c;
  const { lane, lanes } = s;
  const items = control[Slot.ITEMS]!;
  const t0 = performance.now();
  c.results[lane] = k.gradients(
    c.margin,
    c.labels,
    c.weights,
    c.rows,
    Math.floor((lane * items) / lanes),
    Math.floor(((lane + 1) * items) / lanes),
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
  laneBarrier(control);
  const t2 = performance.now();
  addTime(c, lane, Timer.WAITING, t2 - t1);
  // The packed total is an exact integer, so the lanes' partial sums add up the same in any order.
  let total = 0;
  for (let l = 0; l < lanes; l++) total += c.results[l]!;
  const shift = c.splitQ[2]!;
  const Gq = Math.floor(total / shift);
  const hist = c.hists[root]!;
  k.clear(hist, s.wordFrom, s.wordTo);
  k.accumulate(c.bins32, control[Slot.WORDS]!, c.packed, c.rows, 0, items, hist, s.wordFrom, s.wordTo);
  unpack(c, s, k, hist);
  const t3 = performance.now();
  addTime(c, lane, Timer.HISTOGRAMS, t3 - t2);
  splitNode(c, s, k, hist, Gq, total - Gq * shift, lane);
  addTime(c, lane, Timer.SPLITS, performance.now() - t3);
}

function unpack(c: LaneContext, s: LaneShare, k: Kernels, hist: Float64Array): void {
  k.unpack(hist, c.features, s.featureFrom, s.featureTo, c.slotOf, c.mult, c.span, c.nBins, c.histAt);
}

/**
 * One level: the stable partition of each splitting node by chunks, into the scratch arrays;
 * barrier; each lane copies its chunks back in place (left parts, then right parts) and, for its
 * own words, builds the smaller child's histogram from the scratch arrays, derives the larger
 * child's by subtraction from the parent's (slots and unpacked features alike), and finds both
 * children's best splits.
 */
function runLevel(c: LaneContext, s: LaneShare, k: Kernels): void {
  const { control, nodes: N, chunks: C, results: R } = c;
  const { lane, lanes } = s;
  const items = control[Slot.ITEMS]!;
  const nNodes = control[Slot.ARG]!;
  const t0 = performance.now();
  for (let t = 0; t < items; t++) {
    const chunk = t * CHUNK_FIELDS;
    if (C[chunk + ChunkField.LANE] !== lane) continue;
    const split = N[C[chunk + ChunkField.NODE]! * NODE_FIELDS + NodeField.SPLIT]!;
    R[t * RESULT_FIELDS] = k.partition(
      c.cols,
      c.nRows,
      c.rows,
      c.left,
      c.right,
      C[chunk + ChunkField.START]!,
      C[chunk + ChunkField.END]!,
      split >> 8,
      split & 255,
    );
  }
  const t1 = performance.now();
  addTime(c, lane, Timer.PARTITION, t1 - t0);
  laneBarrier(control);
  const t2 = performance.now();
  addTime(c, lane, Timer.WAITING, t2 - t1);
  // Each of this lane's chunks back in place: the node's left parts in chunk order from its
  // start, then its right parts.
  const leftTotal = new Int32Array(nNodes);
  for (let t = 0; t < items; t++) leftTotal[C[t * CHUNK_FIELDS + ChunkField.NODE]!]! += R[t * RESULT_FIELDS]!;
  const leftAt = new Int32Array(nNodes);
  const rightAt = new Int32Array(nNodes);
  for (let node = 0; node < nNodes; node++) {
    leftAt[node] = N[node * NODE_FIELDS + NodeField.START]!;
    rightAt[node] = N[node * NODE_FIELDS + NodeField.START]! + leftTotal[node]!;
  }
  for (let t = 0; t < items; t++) {
    const chunk = t * CHUNK_FIELDS;
    const node = C[chunk + ChunkField.NODE]!;
    const start = C[chunk + ChunkField.START]!;
    const nl = R[t * RESULT_FIELDS]!;
    const nr = C[chunk + ChunkField.END]! - start - nl;
    if (C[chunk + ChunkField.LANE] === lane) {
      c.rows.set(c.left.subarray(start, start + nl), leftAt[node]!);
      c.rows.set(c.right.subarray(start, start + nr), rightAt[node]!);
    }
    leftAt[node] = leftAt[node]! + nl;
    rightAt[node] = rightAt[node]! + nr;
  }
  const t3 = performance.now();
  addTime(c, lane, Timer.STITCH, t3 - t2);
  // The smaller child's histogram from its rows (still in the scratch arrays), the larger
  // child's as parent minus smaller, then both children's best splits.
  const words = control[Slot.WORDS]!;
  let tHist = 0;
  let tSplit = 0;
  for (let node = 0; node < nNodes; node++) {
    const b = node * NODE_FIELDS;
    const nl = leftTotal[node]!;
    const smallLeft = nl <= N[b + NodeField.END]! - N[b + NodeField.START]! - nl;
    const parent = c.hists[N[b + NodeField.HIST]!]!;
    const small = c.hists[N[b + NodeField.SMALL]!]!;
    const u0 = performance.now();
    k.clear(small, s.wordFrom, s.wordTo);
    const first = N[b + NodeField.FIRST_CHUNK]!;
    const last = first + N[b + NodeField.CHUNKS]!;
    for (let t = first; t < last; t++) {
      const start = C[t * CHUNK_FIELDS + ChunkField.START]!;
      const nl = R[t * RESULT_FIELDS]!;
      if (smallLeft) k.accumulate(c.bins32, words, c.packed, c.left, start, start + nl, small, s.wordFrom, s.wordTo);
      else {
        const end = C[t * CHUNK_FIELDS + ChunkField.END]! - nl;
        k.accumulate(c.bins32, words, c.packed, c.right, start, end, small, s.wordFrom, s.wordTo);
      }
    }
    // The parent's unpacked histograms (of its level) become the larger child's by subtraction
    // too, once the smaller child's are unpacked.
    unpack(c, s, k, small);
    k.subtract(parent, small, s.wordFrom, s.wordTo);
    k.subtractUnpacked(parent, small, c.features, s.featureFrom, s.featureTo, c.slotOf, c.nBins, c.histAt);
    const u1 = performance.now();
    const GLq = N[b + NodeField.GLQ]!;
    const HLq = N[b + NodeField.HLQ]!;
    splitNode(c, s, k, smallLeft ? small : parent, GLq, HLq, 2 * node * lanes + lane);
    const GRq = N[b + NodeField.GQ]! - GLq;
    const HRq = N[b + NodeField.HQ]! - HLq;
    splitNode(c, s, k, smallLeft ? parent : small, GRq, HRq, (2 * node + 1) * lanes + lane);
    tHist += u1 - u0;
    tSplit += performance.now() - u1;
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
  const block = Math.ceil(mine / Math.ceil(mine / 12));
  const columns = new Float64Array(block * n);
  let a: Float64Array | null = null;
  let b: Float64Array | null = null;
  const counts = new Uint32Array(2048);
  for (let i0 = 0; i0 < mine; i0 += block) {
    const count = Math.min(block, mine - i0);
    k.extract(c.values, n, c.nFeatures, from + lane + i0 * lanes, lanes, count, columns);
    for (let j = 0; j < count; j++) {
      const f = from + lane + (i0 + j) * lanes;
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
}
