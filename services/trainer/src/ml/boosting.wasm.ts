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
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `accumulateHistogram(bins, wordsPerRow, packed, rows, start, end, hist, wordFrom, wordTo)`, with byte addresses for the arrays. */
export type WasmAccumulate = (bins: number, wordsPerRow: number, packed: number, rows: number, start: number, end: number, hist: number, wordFrom: number, wordTo: number) => void;
/** `partitionRows` with byte addresses: `column` is the address of the split feature's column-major bins. Returns the left count. */
export type WasmPartition = (column: number, rows: number, left: number, right: number, start: number, end: number, bin: number) => number;

export interface WasmKernels {
  accumulate: WasmAccumulate;
  partition: WasmPartition;
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
    ...op.get(w), ...op.load8(q), ...op.i32(3), ...op.shl, ...op.get(slice), ...op.add, ...op.tee(cell),
    ...op.get(cell), ...op.loadF64(q << 11), ...op.get(p), ...op.addF64, ...op.storeF64(q << 11),
  ];
  const body = [
    ...op.get(start), ...op.set(i),
    ...op.block, ...op.loop,
    ...op.get(i), ...op.get(end), ...op.geU, ...op.brIf(1),
    // r = rows[i]; p = packed[r]
    ...op.get(rows), ...op.get(i), ...op.i32(2), ...op.shl, ...op.add, ...op.load32, ...op.set(r),
    ...op.get(packed), ...op.get(r), ...op.i32(3), ...op.shl, ...op.add, ...op.loadF64(0), ...op.set(p),
    // w = bins + 4 (r * words + wordFrom); wEnd = bins + 4 (r * words + wordTo); slice = hist + (wordFrom << 13)
    ...op.get(bins), ...op.get(r), ...op.get(words), ...op.mul, ...op.tee(wEnd), ...op.get(wordFrom), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...op.set(w),
    ...op.get(bins), ...op.get(wEnd), ...op.get(wordTo), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...op.set(wEnd),
    ...op.get(hist), ...op.get(wordFrom), ...op.i32(13), ...op.shl, ...op.add, ...op.set(slice),
    ...op.block, ...op.loop,
    ...op.get(w), ...op.get(wEnd), ...op.geU, ...op.brIf(1),
    ...addByte(0), ...addByte(1), ...addByte(2), ...addByte(3),
    ...op.get(w), ...op.i32(4), ...op.add, ...op.set(w),
    ...op.get(slice), ...op.i32(8192), ...op.add, ...op.set(slice),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(i), ...op.i32(1), ...op.add, ...op.set(i),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.end,
  ];
  return [...vector([[...uleb(6), I32], [...uleb(1), F64]]), ...body];
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
    ...op.get(rows), ...op.get(start), ...op.i32(2), ...op.shl, ...op.add, ...op.set(at),
    ...op.get(rows), ...op.get(end), ...op.i32(2), ...op.shl, ...op.add, ...op.set(stop),
    ...op.get(left), ...op.get(start), ...op.i32(2), ...op.shl, ...op.add, ...op.set(l),
    ...op.get(right), ...op.get(start), ...op.i32(2), ...op.shl, ...op.add, ...op.set(rr),
    ...op.block, ...op.loop,
    ...op.get(at), ...op.get(stop), ...op.geU, ...op.brIf(1),
    ...op.get(at), ...op.load32, ...op.set(r),
    ...op.get(column), ...op.get(r), ...op.add, ...op.load8(0), ...op.get(bin), ...op.leS, ...op.i32(2), ...op.shl, ...op.set(goesLeft),
    ...op.get(l), ...op.get(r), ...op.store32,
    ...op.get(rr), ...op.get(r), ...op.store32,
    ...op.get(l), ...op.get(goesLeft), ...op.add, ...op.set(l),
    ...op.get(rr), ...op.i32(4), ...op.get(goesLeft), ...op.sub, ...op.add, ...op.set(rr),
    ...op.get(at), ...op.i32(4), ...op.add, ...op.set(at),
    ...op.br(0),
    ...op.end, ...op.end,
    // (l - (left + 4 start)) / 4
    ...op.get(l), ...op.get(left), ...op.get(start), ...op.i32(2), ...op.shl, ...op.add, ...op.sub, ...op.i32(2), ...[0x76],
    ...op.end,
  ];
  return [...vector([[...uleb(6), I32]]), ...body];
}

/** The module's bytes: imports `env.mem` (shared), exports `acc` and `part`. */
export function boostingWasmBytes(): Uint8Array {
  const acc = accumulateCode();
  const part = partitionCode();
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([
      [0x60, ...vector(Array.from({ length: 9 }, () => [I32])), 0],
      [0x60, ...vector(Array.from({ length: 7 }, () => [I32])), 1, I32],
    ])),
    // Import a shared memory (limits flag 3: shared, with a maximum).
    ...section(2, vector([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vector([[0], [1]])),
    ...section(7, vector([[...name('acc'), 0x00, 0], [...name('part'), 0x00, 1]])),
    ...section(10, vector([[...uleb(acc.length), ...acc], [...uleb(part.length), ...part]])),
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
  return { accumulate: exports.acc as WasmAccumulate, partition: exports.part as WasmPartition };
}

/**
 * A bump allocator of typed arrays on one shared WebAssembly memory, which grows as needed (views
 * handed out stay valid). Nothing is freed: an arena lives as long as one fit.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private top = 0;

  constructor(initialBytes: number) {
    this.memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(initialBytes / PAGE)), maximum: MAX_PAGES, shared: true });
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
