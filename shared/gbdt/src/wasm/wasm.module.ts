/**
 * The boosting kernels' WebAssembly module: compiled from boosting.wat (text source) into
 * boosting.wasm.generated.ts by `npm run wasm:gen`. Each function mirrors a JavaScript kernel in
 * ../kernels/ with the same floating-point operations in the same order; test/wasm.kernels.test.ts
 * checks they give the same bits.
 *
 * Why WebAssembly: the JavaScript histogram loop is bound by instructions (a bounds check and index
 * arithmetic per cell); the same loop in WebAssembly uses byte loads with constant offsets and no
 * bounds checks (V8 guards 32-bit memories with virtual memory). bench/train/README.md has the
 * measurements.
 *
 * Arrays the kernels read or write are views of one shared `WebAssembly.Memory` (wasm.arena.ts),
 * so a view's `byteOffset` is its address for the kernel, and worker lanes see the same memory.
 */
import { BOOSTING_WASM_BASE64 } from './boosting.wasm.generated.js';

/** The parts of the WebAssembly API used here (the project's TypeScript lib, ES2023 + node, does not declare it). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `acc`: `accumulateHistogram(bins, wordsPerRow, packed, rows, start, end, hist, wordFrom, wordTo, lastBytes)` with byte addresses. */
export type WasmAccumulate = (
  bins: number,
  wordsPerRow: number,
  packed: number,
  rows: number,
  start: number,
  end: number,
  hist: number,
  wordFrom: number,
  wordTo: number,
  lastBytes: number,
) => void;
/** `part`: `partitionRows` with byte addresses; `column` is the split feature's column-major bins. Returns the left count. */
export type WasmPartition = (
  column: number,
  rows: number,
  left: number,
  right: number,
  start: number,
  end: number,
  bin: number,
) => number;
/**
 * `grad`: `computeGradients` for fused, unweighted rows `[from, to)`, with byte addresses for the
 * arrays (`pow2Int`, `pow2Frac`: fast-math.ts's tables, copied into the memory) and the constants
 * unpacked. Returns the sum of the packed values.
 */
export type WasmGradients = (
  margin: number,
  labels: number,
  rows: number,
  from: number,
  to: number,
  leafOf: number,
  leafValue: number,
  gh: number,
  packed: number,
  pow2Int: number,
  pow2Frac: number,
  seed: number,
  invLn2: number,
  ln2Hi: number,
  ln2Lo: number,
  invGScale: number,
  invHScale: number,
  shift: number,
) => number;
/** `leaves`: `splitIntoLeaves` with byte addresses (`column`: the split feature's column-major bins); writes [GL, HL, GR, HR] at `out`. */
export type WasmLeaves = (
  column: number,
  rows: number,
  start: number,
  end: number,
  bin: number,
  leftId: number,
  rightId: number,
  leafOf: number,
  gh: number,
  out: number,
) => void;
/** `close`: `closeLeaf` with byte addresses; writes [G, H] at `out`. */
export type WasmClose = (
  rows: number,
  start: number,
  end: number,
  id: number,
  leafOf: number,
  gh: number,
  out: number,
) => void;

/** `zero`: clear `bytes` bytes at `at`. */
export type WasmZero = (at: number, bytes: number) => void;
/** `sub`: `parent -= child` over `bytes` bytes (a multiple of 16) of doubles. */
export type WasmSubtract = (parent: number, child: number, bytes: number) => void;
/** `add`: `dst += src` over `bytes` bytes (a multiple of 16) of doubles. */
export type WasmAdd = (dst: number, src: number, bytes: number) => void;

/** `unpack`: one packed feature of `unpackHistograms`: the slot's `span` cells at `src` summed into `nb` bins at `dst` (digit multiplier `m`). */
export type WasmUnpack = (src: number, dst: number, nb: number, m: number, span: number) => void;

/** `sort`: `sortFloat64` with byte addresses (`counts`: 2048 u32); returns the address of `a` or `b`, whichever holds the result. */
export type WasmSort = (column: number, n: number, a: number, b: number, counts: number) => number;
/** `fill`: `fillBins` for at least one cut: `cuts` holds 256 doubles (the cuts padded with +Infinity), `half` the largest power of two <= their number. */
export type WasmFill = (column: number, n: number, cuts: number, half: number, out: number) => void;
/** `tcol`: one feature of `transposeBins`: rows [from, to) of byte `bins + r * stride` += `m` * the row's bin at `column + r`. */
export type WasmTransposeColumn = (
  column: number,
  bins: number,
  stride: number,
  from: number,
  to: number,
  m: number,
) => void;

/** `distinct`: `distinctCuts`' pass over the rows: the distinct values' bits into a 1024-slot table at `table` (NaN: empty); their number, or -1 past `maxBins`. */
export type WasmDistinct = (column: number, n: number, maxBins: number, table: number) => number;

/** `cuts`: `computeCuts` of the `n` ascending doubles at `sorted` into `out` (room for `maxBins - 1` doubles); returns their number. */
export type WasmCuts = (sorted: number, n: number, maxBins: number, out: number) => number;

/** The module's exports. */
export interface WasmKernels {
  accumulate: WasmAccumulate;
  zero: WasmZero;
  subtract: WasmSubtract;
  add: WasmAdd;
  unpack: WasmUnpack;
  partition: WasmPartition;
  gradients: WasmGradients;
  leaves: WasmLeaves;
  close: WasmClose;
  sort: WasmSort;
  fill: WasmFill;
  transposeColumn: WasmTransposeColumn;
  distinct: WasmDistinct;
  cuts: WasmCuts;
}

/** The module's bytes. */
export function boostingWasmBytes(): Uint8Array {
  return new Uint8Array(Buffer.from(BOOSTING_WASM_BASE64, 'base64'));
}

let compiled: WasmModule | null = null;

/** The compiled module (compiled once per thread that asks; workers receive it compiled). */
export function boostingWasmModule(): WasmModule {
  compiled ??= new wasmApi.Module(boostingWasmBytes());
  return compiled;
}

/** The kernels of an instance of the module on `memory`. */
export function instantiateWasmKernels(memory: WasmMemory, module: WasmModule = boostingWasmModule()): WasmKernels {
  const { exports } = new wasmApi.Instance(module, { env: { mem: memory } });
  return {
    accumulate: exports.acc as WasmAccumulate,
    zero: exports.zero as WasmZero,
    subtract: exports.sub as WasmSubtract,
    add: exports.add as WasmAdd,
    unpack: exports.unpack as WasmUnpack,
    partition: exports.part as WasmPartition,
    gradients: exports.grad as WasmGradients,
    leaves: exports.leaves as WasmLeaves,
    close: exports.close as WasmClose,
    sort: exports.sort as WasmSort,
    fill: exports.fill as WasmFill,
    transposeColumn: exports.tcol as WasmTransposeColumn,
    distinct: exports.distinct as WasmDistinct,
    cuts: exports.cuts as WasmCuts,
  };
}
