/**
 * The histogram and partition kernels (`accumulateHistogram`, `partitionRows` in
 * boosting.kernels.ts) as WebAssembly, and the shared WebAssembly memory their arrays live in.
 *
 * Why: the JavaScript kernel costs about 1 ns per (row, byte) cell, bound by instructions (a bounds
 * check and index arithmetic per cell); the same loop in WebAssembly (byte loads with constant
 * offsets, no bounds checks: V8 guards 32-bit memories with virtual memory) measured 8 against
 * 20 ns per row for 3 words of the churn matrix on shared memory, 15 against 25 on a node's scattered
 * rows. The module is assembled here from its instructions, so there is no binary or build step to
 * keep in sync; `boosting.wasm.test.ts` checks it against the JavaScript kernels.
 *
 * Arrays the kernels read or write (row-major and column-major bins, packed gradients, row lists,
 * histograms) are
 * views of one shared `WebAssembly.Memory`, so a view's `byteOffset` is its address for the kernel,
 * and worker lanes see the same memory. The memory is shared even for one lane: a shared memory
 * grows without detaching the views already handed out.
 */

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
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `accumulateHistogram(bins, wordsPerRow, packed, rows, start, end, hist, wordFrom, wordTo)`, with byte addresses for the arrays. */
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
) => void;
/** `partitionRows` with byte addresses: `column` is the address of the split feature's column-major bins. Returns the left count. */
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
 * `computeGradients` for fused, unweighted rows `[from, to)`, with byte addresses for the arrays
 * (`pow2Int`, `pow2Frac`: fast-math.ts's tables, copied into the arena) and the constants unpacked.
 * Returns the sum of the packed values.
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

/** `splitIntoLeaves` with byte addresses (`column`: the split feature's column-major bins); writes [GL, HL, GR, HR] at `out`. */
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
/** `closeLeaf` with byte addresses; writes [G, H] at `out`. */
export type WasmClose = (
  rows: number,
  start: number,
  end: number,
  id: number,
  leafOf: number,
  gh: number,
  out: number,
) => void;

export interface WasmKernels {
  accumulate: WasmAccumulate;
  partition: WasmPartition;
  gradients: WasmGradients;
  leaves: WasmLeaves;
  close: WasmClose;
}

const PAGE = 65536;
/** The most a 32-bit memory can address. */
const MAX_PAGES = 65536;
const ALIGN = 64;

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vector = (items: readonly (readonly number[])[]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: readonly number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (text: string): number[] => [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];

const I32 = 0x7f;
const F64 = 0x7c;
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geU: [0x4f],
  leS: [0x4c],
  sub: [0x6b],
  store32: [0x36, 2, 0],
  load32: [0x28, 2, 0],
  load8: (offset: number) => [0x2d, 0, ...uleb(offset)],
  loadF64: (offset: number) => [0x2b, 3, ...uleb(offset)],
  storeF64: (offset: number) => [0x39, 3, ...uleb(offset)],
  addF64: [0xa0],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  br: (depth: number) => [0x0c, depth],
  f64: (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)],
  subF64: [0xa1],
  mulF64: [0xa2],
  divF64: [0xa3],
  negF64: [0x9a],
  ltF64: [0x63],
  gtF64: [0x64],
  floorF64: [0x9c],
  fromI32: [0xb7],
  fromU32: [0xb8],
  /** i32.trunc_sat_f64_s: like JavaScript's `| 0` for doubles within the int32 range. */
  truncSat: [0xfc, 0x02],
  select: [0x1b],
  xor: [0x73],
  and: [0x71],
  shrS: [0x75],
  shrU: [0x76],
  load16: [0x2f, 1, 0],
  store16: [0x3b, 1, 0],
};

/**
 * The histogram kernel's code. Per row: its packed gradient, then for each word of the range, each
 * of its four bytes `q` adds the gradient to the double at `hist + (word << 13) + (q << 11) +
 * (byte << 3)` (the layout of boosting.kernels.ts).
 */
function accumulateCode(): number[] {
  // Parameters 0-8 as in WasmAccumulate; locals: 9 i, 10 r, 11 word address, 12 end of the row's words, 13 hist slice, 14 cell address (i32), 15 gradient (f64).
  const [bins, words, packed, rows, start, end, hist, wordFrom, wordTo] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, r, w, wEnd, slice, cell, p] = [9, 10, 11, 12, 13, 14, 15];
  const addByte = (q: number): number[] => [
    ...op.get(w),
    ...op.load8(q),
    ...op.i32(3),
    ...op.shl,
    ...op.get(slice),
    ...op.add,
    ...op.tee(cell),
    ...op.get(cell),
    ...op.loadF64(q << 11),
    ...op.get(p),
    ...op.addF64,
    ...op.storeF64(q << 11),
  ];
  const body = [
    ...op.get(start),
    ...op.set(i),
    ...op.block,
    ...op.loop,
    ...op.get(i),
    ...op.get(end),
    ...op.geU,
    ...op.brIf(1),
    // r = rows[i]; p = packed[r]
    ...op.get(rows),
    ...op.get(i),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.load32,
    ...op.set(r),
    ...op.get(packed),
    ...op.get(r),
    ...op.i32(3),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.set(p),
    // w = bins + 4 (r * words + wordFrom); wEnd = bins + 4 (r * words + wordTo); slice = hist + (wordFrom << 13)
    ...op.get(bins),
    ...op.get(r),
    ...op.get(words),
    ...op.mul,
    ...op.tee(wEnd),
    ...op.get(wordFrom),
    ...op.add,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(w),
    ...op.get(bins),
    ...op.get(wEnd),
    ...op.get(wordTo),
    ...op.add,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(wEnd),
    ...op.get(hist),
    ...op.get(wordFrom),
    ...op.i32(13),
    ...op.shl,
    ...op.add,
    ...op.set(slice),
    ...op.block,
    ...op.loop,
    ...op.get(w),
    ...op.get(wEnd),
    ...op.geU,
    ...op.brIf(1),
    ...addByte(0),
    ...addByte(1),
    ...addByte(2),
    ...addByte(3),
    ...op.get(w),
    ...op.i32(4),
    ...op.add,
    ...op.set(w),
    ...op.get(slice),
    ...op.i32(8192),
    ...op.add,
    ...op.set(slice),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(i),
    ...op.i32(1),
    ...op.add,
    ...op.set(i),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
  ];
  return [
    ...vector([
      [...uleb(6), I32],
      [...uleb(1), F64],
    ]),
    ...body,
  ];
}

/**
 * The partition kernel's code: branch-free like the JavaScript one, each row stored to both sides
 * and the side's cursor advanced by 4 bytes or 0.
 */
function partitionCode(): number[] {
  // Parameters 0-6 as in WasmPartition; locals: 7 row address, 8 end address, 9 left cursor, 10 right cursor, 11 r, 12 goes left.
  const [column, rows, left, right, start, end, bin] = [0, 1, 2, 3, 4, 5, 6];
  const [at, stop, l, rr, r, goesLeft] = [7, 8, 9, 10, 11, 12];
  const body = [
    ...op.get(rows),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(at),
    ...op.get(rows),
    ...op.get(end),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(stop),
    ...op.get(left),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(l),
    ...op.get(right),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(rr),
    ...op.block,
    ...op.loop,
    ...op.get(at),
    ...op.get(stop),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(at),
    ...op.load32,
    ...op.set(r),
    ...op.get(column),
    ...op.get(r),
    ...op.add,
    ...op.load8(0),
    ...op.get(bin),
    ...op.leS,
    ...op.i32(2),
    ...op.shl,
    ...op.set(goesLeft),
    ...op.get(l),
    ...op.get(r),
    ...op.store32,
    ...op.get(rr),
    ...op.get(r),
    ...op.store32,
    ...op.get(l),
    ...op.get(goesLeft),
    ...op.add,
    ...op.set(l),
    ...op.get(rr),
    ...op.i32(4),
    ...op.get(goesLeft),
    ...op.sub,
    ...op.add,
    ...op.set(rr),
    ...op.get(at),
    ...op.i32(4),
    ...op.add,
    ...op.set(at),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // (l - (left + 4 start)) / 4
    ...op.get(l),
    ...op.get(left),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.sub,
    ...op.i32(2),
    ...[0x76],
    ...op.end,
  ];
  return [...vector([[...uleb(6), I32]]), ...body];
}

/**
 * The gradient kernel's code for its common case (fused margin update, no weights): the same IEEE
 * operations in the same order as `computeGradients`, so the same bits (the trainer's tests compare
 * it with the weighted JavaScript loop at unit weights).
 */
function gradientsCode(): number[] {
  // Parameters as in WasmGradients; locals: 18 r, 19 biased, 20 z (i32); 21 m, 22 x, 23 t, 24 k, 25 p, 26 g, 27 h, 28 v, 29 total, 30 e (f64).
  const [margin, labels, rows, from, to, leafOf, leafValue, gh, packed, pow2Int, pow2Frac, seed] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ];
  const [invLn2, ln2Hi, ln2Lo, invG, invH, shift] = [12, 13, 14, 15, 16, 17];
  const [r, biased, z] = [18, 19, 20];
  const [m, x, t, k, p, g, h, v, total, e] = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];
  const scaled = (bytes: number): number[] => [...op.get(r), ...op.i32(bytes === 1 ? 0 : Math.log2(bytes)), ...op.shl];
  const mix = (constant: number, by: number): number[] => [
    ...op.get(z),
    ...op.get(z),
    ...op.i32(by),
    ...op.shrU,
    ...op.xor,
    ...op.i32(constant | 0),
    ...op.mul,
    ...op.set(z),
  ];
  const body = [
    ...op.f64(0),
    ...op.set(total),
    ...op.get(from),
    ...op.set(r),
    ...op.block,
    ...op.loop,
    ...op.get(r),
    ...op.get(to),
    ...op.geU,
    ...op.brIf(1),
    // m = margin[r] + leafValue[leafOf[r]]; margin[r] = m; rows[r] = r
    ...op.get(margin),
    ...scaled(8),
    ...op.add,
    ...op.get(margin),
    ...scaled(8),
    ...op.add,
    ...op.loadF64(0),
    ...op.get(leafValue),
    ...op.get(leafOf),
    ...scaled(2),
    ...op.add,
    ...op.load16,
    ...op.i32(3),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.addF64,
    ...op.tee(m),
    ...op.storeF64(0),
    ...op.get(rows),
    ...scaled(4),
    ...op.add,
    ...op.get(r),
    ...op.store32,
    // x = m < -700 ? 700 : m > 700 ? -700 : -m
    ...op.f64(700),
    ...op.f64(-700),
    ...op.get(m),
    ...op.negF64,
    ...op.get(m),
    ...op.f64(700),
    ...op.gtF64,
    ...op.select,
    ...op.get(m),
    ...op.f64(-700),
    ...op.ltF64,
    ...op.select,
    ...op.set(x),
    // biased = (x * invLn2 + 70400.5) | 0; k = biased - 70400; t = x - k * ln2Hi - k * ln2Lo
    ...op.get(x),
    ...op.get(invLn2),
    ...op.mulF64,
    ...op.f64(70400.5),
    ...op.addF64,
    ...op.truncSat,
    ...op.set(biased),
    ...op.get(biased),
    ...op.i32(70400),
    ...op.sub,
    ...op.fromI32,
    ...op.set(k),
    ...op.get(x),
    ...op.get(k),
    ...op.get(ln2Hi),
    ...op.mulF64,
    ...op.subF64,
    ...op.get(k),
    ...op.get(ln2Lo),
    ...op.mulF64,
    ...op.subF64,
    ...op.set(t),
    // e = pow2Int[biased >> 6] * pow2Frac[biased & 63] * (1 + t * (1 + t * (0.5 + t * (1/6 + t * (1/24 + t / 120)))))
    ...op.get(pow2Int),
    ...op.get(biased),
    ...op.i32(6),
    ...op.shrS,
    ...op.i32(3),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.get(pow2Frac),
    ...op.get(biased),
    ...op.i32(63),
    ...op.and,
    ...op.i32(3),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.mulF64,
    ...op.f64(1),
    ...op.get(t),
    ...op.f64(1),
    ...op.get(t),
    ...op.f64(0.5),
    ...op.get(t),
    ...op.f64(0.16666666666666666),
    ...op.get(t),
    ...op.f64(0.041666666666666664),
    ...op.get(t),
    ...op.f64(0.008333333333333333),
    ...op.mulF64,
    ...op.addF64,
    ...op.mulF64,
    ...op.addF64,
    ...op.mulF64,
    ...op.addF64,
    ...op.mulF64,
    ...op.addF64,
    ...op.mulF64,
    ...op.addF64,
    ...op.mulF64,
    ...op.set(e),
    // p = 1 / (1 + e); g = p - label; h = max(p (1 - p), 1e-16) as the JavaScript ternary
    ...op.f64(1),
    ...op.f64(1),
    ...op.get(e),
    ...op.addF64,
    ...op.divF64,
    ...op.set(p),
    ...op.get(p),
    ...op.get(labels),
    ...op.get(r),
    ...op.add,
    ...op.load8(0),
    ...op.fromU32,
    ...op.subF64,
    ...op.set(g),
    ...op.get(p),
    ...op.f64(1),
    ...op.get(p),
    ...op.subF64,
    ...op.mulF64,
    ...op.tee(h),
    ...op.f64(1e-16),
    ...op.get(h),
    ...op.f64(1e-16),
    ...op.gtF64,
    ...op.select,
    ...op.set(h),
    ...op.get(gh),
    ...scaled(16),
    ...op.add,
    ...op.get(g),
    ...op.storeF64(0),
    ...op.get(gh),
    ...scaled(16),
    ...op.add,
    ...op.get(h),
    ...op.storeF64(8),
    // z: the row's hash under the tree's seed
    ...op.get(r),
    ...op.get(seed),
    ...op.xor,
    ...op.i32(0x9e3779b1 | 0),
    ...op.mul,
    ...op.set(z),
    ...mix(0x85ebca6b, 16),
    ...mix(0xc2b2ae35, 13),
    ...op.get(z),
    ...op.get(z),
    ...op.i32(16),
    ...op.shrU,
    ...op.xor,
    ...op.set(z),
    // v = floor(g * invG + (z & 0xffff) * 2^-16) * shift + floor(h * invH + (z >>> 16) * 2^-16)
    ...op.get(g),
    ...op.get(invG),
    ...op.mulF64,
    ...op.get(z),
    ...op.i32(0xffff),
    ...op.and,
    ...op.fromI32,
    ...op.f64(1.52587890625e-5),
    ...op.mulF64,
    ...op.addF64,
    ...op.floorF64,
    ...op.get(shift),
    ...op.mulF64,
    ...op.get(h),
    ...op.get(invH),
    ...op.mulF64,
    ...op.get(z),
    ...op.i32(16),
    ...op.shrU,
    ...op.fromU32,
    ...op.f64(1.52587890625e-5),
    ...op.mulF64,
    ...op.addF64,
    ...op.floorF64,
    ...op.addF64,
    ...op.set(v),
    ...op.get(packed),
    ...scaled(8),
    ...op.add,
    ...op.get(v),
    ...op.storeF64(0),
    ...op.get(total),
    ...op.get(v),
    ...op.addF64,
    ...op.set(total),
    ...op.get(r),
    ...op.i32(1),
    ...op.add,
    ...op.set(r),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(total),
    ...op.end,
  ];
  return [
    ...vector([
      [...uleb(3), I32],
      [...uleb(10), F64],
    ]),
    ...body,
  ];
}

/**
 * The last split's code (`splitIntoLeaves`): each row's leaf id into `leafOf`, and the exact
 * gradient and hessian sums of both sides at `out`, multiplied by 0 or 1 and added in row order as
 * the JavaScript loop does (so the same bits).
 */
function leavesCode(): number[] {
  // Parameters 0-9 as in WasmLeaves; locals: 10 row address, 11 end, 12 r, 13 goes left (i32); 14 left, 15 right, 16 g, 17 h, 18 lg, 19 lh, 20 rg, 21 rh (f64).
  const [column, rows, start, end, bin, leftId, rightId, leafOf, gh, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [at, stop, r, goesLeft] = [10, 11, 12, 13];
  const [left, right, g, h, lg, lh, rg, rh] = [14, 15, 16, 17, 18, 19, 20, 21];
  const body = [
    ...op.f64(0),
    ...op.set(lg),
    ...op.f64(0),
    ...op.set(lh),
    ...op.f64(0),
    ...op.set(rg),
    ...op.f64(0),
    ...op.set(rh),
    ...op.get(rows),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(at),
    ...op.get(rows),
    ...op.get(end),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(stop),
    ...op.block,
    ...op.loop,
    ...op.get(at),
    ...op.get(stop),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(at),
    ...op.load32,
    ...op.set(r),
    ...op.get(column),
    ...op.get(r),
    ...op.add,
    ...op.load8(0),
    ...op.get(bin),
    ...op.leS,
    ...op.set(goesLeft),
    // leafOf[r] = goesLeft ? leftId : rightId
    ...op.get(leafOf),
    ...op.get(r),
    ...op.i32(1),
    ...op.shl,
    ...op.add,
    ...op.get(leftId),
    ...op.get(rightId),
    ...op.get(goesLeft),
    ...op.select,
    ...op.store16,
    ...op.get(goesLeft),
    ...op.fromI32,
    ...op.set(left),
    ...op.f64(1),
    ...op.get(left),
    ...op.subF64,
    ...op.set(right),
    ...op.get(gh),
    ...op.get(r),
    ...op.i32(4),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.set(g),
    ...op.get(gh),
    ...op.get(r),
    ...op.i32(4),
    ...op.shl,
    ...op.add,
    ...op.loadF64(8),
    ...op.set(h),
    ...op.get(lg),
    ...op.get(g),
    ...op.get(left),
    ...op.mulF64,
    ...op.addF64,
    ...op.set(lg),
    ...op.get(lh),
    ...op.get(h),
    ...op.get(left),
    ...op.mulF64,
    ...op.addF64,
    ...op.set(lh),
    ...op.get(rg),
    ...op.get(g),
    ...op.get(right),
    ...op.mulF64,
    ...op.addF64,
    ...op.set(rg),
    ...op.get(rh),
    ...op.get(h),
    ...op.get(right),
    ...op.mulF64,
    ...op.addF64,
    ...op.set(rh),
    ...op.get(at),
    ...op.i32(4),
    ...op.add,
    ...op.set(at),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(out),
    ...op.get(lg),
    ...op.storeF64(0),
    ...op.get(out),
    ...op.get(lh),
    ...op.storeF64(8),
    ...op.get(out),
    ...op.get(rg),
    ...op.storeF64(16),
    ...op.get(out),
    ...op.get(rh),
    ...op.storeF64(24),
    ...op.end,
  ];
  return [
    ...vector([
      [...uleb(4), I32],
      [...uleb(8), F64],
    ]),
    ...body,
  ];
}

/** A leaf closed early (`closeLeaf`): its rows' leaf id, and their exact sums at `out`, in row order. */
function closeCode(): number[] {
  // Parameters 0-6 as in WasmClose; locals: 7 row address, 8 end, 9 r (i32); 10 g, 11 h (f64).
  const [rows, start, end, id, leafOf, gh, out] = [0, 1, 2, 3, 4, 5, 6];
  const [at, stop, r, g, h] = [7, 8, 9, 10, 11];
  const body = [
    ...op.f64(0),
    ...op.set(g),
    ...op.f64(0),
    ...op.set(h),
    ...op.get(rows),
    ...op.get(start),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(at),
    ...op.get(rows),
    ...op.get(end),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(stop),
    ...op.block,
    ...op.loop,
    ...op.get(at),
    ...op.get(stop),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(at),
    ...op.load32,
    ...op.set(r),
    ...op.get(leafOf),
    ...op.get(r),
    ...op.i32(1),
    ...op.shl,
    ...op.add,
    ...op.get(id),
    ...op.store16,
    ...op.get(g),
    ...op.get(gh),
    ...op.get(r),
    ...op.i32(4),
    ...op.shl,
    ...op.add,
    ...op.loadF64(0),
    ...op.addF64,
    ...op.set(g),
    ...op.get(h),
    ...op.get(gh),
    ...op.get(r),
    ...op.i32(4),
    ...op.shl,
    ...op.add,
    ...op.loadF64(8),
    ...op.addF64,
    ...op.set(h),
    ...op.get(at),
    ...op.i32(4),
    ...op.add,
    ...op.set(at),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(out),
    ...op.get(g),
    ...op.storeF64(0),
    ...op.get(out),
    ...op.get(h),
    ...op.storeF64(8),
    ...op.end,
  ];
  return [
    ...vector([
      [...uleb(3), I32],
      [...uleb(2), F64],
    ]),
    ...body,
  ];
}

/** The module's bytes: imports `env.mem` (shared), exports `acc`, `part`, `grad`, `leaves` and `close`. */
export function boostingWasmBytes(): Uint8Array {
  const acc = accumulateCode();
  const part = partitionCode();
  const grad = gradientsCode();
  const leaves = leavesCode();
  const close = closeCode();
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(
      1,
      vector([
        [0x60, ...vector(Array.from({ length: 9 }, () => [I32])), 0],
        [0x60, ...vector(Array.from({ length: 7 }, () => [I32])), 1, I32],
        [
          0x60,
          ...vector([...Array.from({ length: 12 }, () => [I32]), ...Array.from({ length: 6 }, () => [F64])]),
          1,
          F64,
        ],
        [0x60, ...vector(Array.from({ length: 10 }, () => [I32])), 0],
        [0x60, ...vector(Array.from({ length: 7 }, () => [I32])), 0],
      ]),
    ),
    // Import a shared memory (limits flag 3: shared, with a maximum).
    ...section(2, vector([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vector([[0], [1], [2], [3], [4]])),
    ...section(
      7,
      vector([
        [...name('acc'), 0x00, 0],
        [...name('part'), 0x00, 1],
        [...name('grad'), 0x00, 2],
        [...name('leaves'), 0x00, 3],
        [...name('close'), 0x00, 4],
      ]),
    ),
    ...section(10, vector([acc, part, grad, leaves, close].map((code) => [...uleb(code.length), ...code]))),
  ]);
}

let compiled: WasmModule | null = null;

/** The compiled module (compiled once per thread that asks). */
export function boostingWasmModule(): WasmModule {
  compiled ??= new wasm.Module(boostingWasmBytes());
  return compiled;
}

/** The kernels of an instance of the module on `memory`. */
export function instantiateWasmKernels(memory: WasmMemory, module: WasmModule = boostingWasmModule()): WasmKernels {
  const { exports } = new wasm.Instance(module, { env: { mem: memory } });
  return {
    accumulate: exports.acc as WasmAccumulate,
    partition: exports.part as WasmPartition,
    gradients: exports.grad as WasmGradients,
    leaves: exports.leaves as WasmLeaves,
    close: exports.close as WasmClose,
  };
}

/**
 * A bump allocator of typed arrays on one shared WebAssembly memory, which grows as needed (views
 * handed out stay valid). Nothing is freed: an arena lives as long as one fit.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private top = 0;

  constructor(initialBytes: number) {
    this.memory = new wasm.Memory({
      initial: Math.max(1, Math.ceil(initialBytes / PAGE)),
      maximum: MAX_PAGES,
      shared: true,
    });
  }

  float64(length: number): Float64Array {
    const at = this.take(length * 8);
    // After take, which may grow the memory and so replace its buffer.
    return new Float64Array(this.memory.buffer, at, length);
  }

  uint32(length: number): Uint32Array {
    const at = this.take(length * 4);
    return new Uint32Array(this.memory.buffer, at, length);
  }

  uint16(length: number): Uint16Array {
    const at = this.take(length * 2);
    return new Uint16Array(this.memory.buffer, at, length);
  }

  uint8(length: number): Uint8Array {
    const at = this.take(length);
    return new Uint8Array(this.memory.buffer, at, length);
  }

  /** Bytes needed for arrays of these byte lengths, with the arena's alignment. */
  static bytesFor(...byteLengths: number[]): number {
    return byteLengths.reduce((sum, bytes) => sum + Math.ceil(bytes / ALIGN) * ALIGN, 0);
  }

  private take(bytes: number): number {
    const at = this.top;
    const end = at + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > MAX_PAGES * PAGE) throw new Error(`internal: the histogram arena would exceed 4 GiB (${end} bytes)`);
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return at;
  }
}
