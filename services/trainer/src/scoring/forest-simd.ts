/**
 * A GBDT forest compiled to one WebAssembly SIMD function over a chunk of feature columns, with no
 * data-dependent branch (bench/model's README has the profile: the compiled JavaScript trees cost
 * their branch mispredictions more than their compares).
 *
 * 1. Bins: each feature's value is replaced by its rank among the distinct thresholds the trees
 *    split it on, `bin(x) = #{j : !(x <= t_j)}`, counted four rows at a time (two `f64x2.le` per
 *    threshold, its value loaded once). With the thresholds ascending, `x <= t_j` exactly when
 *    `bin(x) <= j`; NaN is above every threshold (it goes right, as in the model), and -0 and 0
 *    compare as the doubles do.
 * 2. Trees: 16 rows at a time in bytes (`i8x16`) when every feature has fewer than 255
 *    thresholds and every tree at most 31 leaves (depth-4 trees), else 8 in 16 bits (`i16x8`);
 *    every node's test `bin <= j` a lane mask (one signed `j + 1 > bin` when ranks stay below the
 *    lane's sign bit), each subtree's leaf (its value's byte offset among the tree's) chosen by
 *    `v128.bitselect` from the bottom up, so each row ends in the leaf its path reaches, with no
 *    branch. Each tree runs over the whole chunk before the next (its leaves kept per row), so the
 *    code that runs at a time is one tree's, not the forest's (which overflowed the instruction
 *    cache); the constants are loaded from a table rather than spelled in the code.
 * 3. Sums: each row's margin is the base score plus its leaves' values in the model's tree order,
 *    in doubles (8 rows side by side, a loop over the trees), so it is the model's sum to the last
 *    bit. The sigmoid is left to JavaScript (`Math.exp`), where the model's `predictProba`
 *    computes it.
 *
 * The chunk's columns lie in the module's memory, column `slot` at `slot * CAPACITY` doubles.
 */
import type { GbdtModelJson } from '../ml/index.js';

/** The parts of the WebAssembly API used here (the project's TypeScript lib, ES2023 + node, does not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Rows a chunk holds (DuckDB's data chunks are 2,048 rows). */
export const SIMD_CAPACITY = 2048;
const CAPACITY = SIMD_CAPACITY;

/** A compiled forest's instance: the columns to fill, and the margins it writes. */
export interface SimdForest {
  /** Column `slot` of the chunk (CAPACITY doubles), to copy the chunk's values into. */
  readonly columns: readonly Float64Array[];
  /** Margins of the chunk's rows, written by `margins`. */
  readonly out: Float64Array;
  /** Margins of the first `rows` rows of `columns` into `out` (rows at most CAPACITY). */
  margins(rows: number): void;
  /** Rows a tree pass takes: 16 when ranks and leaf offsets fit a byte, else 8. */
  readonly lanes: number;
}

class Bytes {
  private buffer: Uint8Array<ArrayBuffer> = new Uint8Array(new ArrayBuffer(1 << 16));
  length = 0;

  byte(value: number): this {
    if (this.length === this.buffer.length) {
      const grown = new Uint8Array(new ArrayBuffer(this.buffer.length * 2));
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = value;
    return this;
  }

  bytes(values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.byte(values[i]!);
    return this;
  }

  /** Unsigned LEB128. */
  u32(value: number): this {
    let rest = value >>> 0;
    do {
      let byte = rest & 0x7f;
      rest >>>= 7;
      if (rest !== 0) byte |= 0x80;
      this.byte(byte);
    } while (rest !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  i32(value: number): this {
    let rest = value | 0;
    for (;;) {
      const byte = rest & 0x7f;
      rest >>= 7;
      if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) return this.byte(byte);
      this.byte(byte | 0x80);
    }
  }

  /** The double's own eight bytes, little-endian. */
  f64(value: number): this {
    return this.bytes(new Uint8Array(new Float64Array([value]).buffer));
  }

  /** A SIMD instruction (prefix 0xfd). */
  simd(op: number): this {
    return this.byte(0xfd).u32(op);
  }

  /** `v128.const` of an unsigned integer in every lane of `size` bytes. */
  splat(value: number, size: 1 | 2): this {
    this.simd(0x0c);
    for (let lane = 0; lane < 16 / size; lane++) {
      this.byte(value & 0xff);
      if (size === 2) this.byte((value >>> 8) & 0xff);
    }
    return this;
  }

  section(id: number, contents: Bytes): this {
    this.byte(id).u32(contents.length);
    return this.bytes(contents.view());
  }

  view(): Uint8Array<ArrayBuffer> {
    return this.buffer.subarray(0, this.length);
  }
}

// WebAssembly 1.0 opcodes, and the SIMD ones used (after the 0xfd prefix).
const BLOCK = 0x02;
const LOOP = 0x03;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_LOAD = 0x28;
const F64_LOAD = 0x2b;
const I32_LOAD8_U = 0x2d;
const I32_LOAD16_U = 0x2f;
const F64_STORE = 0x39;
const I32_STORE8 = 0x3a;
const I32_STORE16 = 0x3b;
const I32_CONST = 0x41;
const F64_CONST = 0x44;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const F64_ADD = 0xa0;
const I32_WRAP_I64 = 0xa7;
const VOID = 0x40;
const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const I64X2_EXTRACT_LANE = 0x1d;
const I8X16_GT_S = 0x27;
const I8X16_LE_U = 0x2a;
const I16X8_GT_S = 0x31;
const I16X8_LE_U = 0x34;
const F64X2_LE = 0x4b;
const V128_BITSELECT = 0x52;
const I64X2_ADD = 0xce;

/** Largest rank and leaf byte offset an unsigned 16-bit lane holds. */
const U16 = 0xffff;

/**
 * Compile `json`'s trees over columns in `slots` order (`slots[s]` is the model's feature index of
 * column s; every feature a tree splits on must have a slot). Undefined when the forest does not
 * fit 16-bit lanes (65,535 thresholds of a feature or more, a tree of more than 8,191 leaves), a
 * threshold is NaN, or this WebAssembly has no SIMD; the caller scores by its generated JavaScript
 * then.
 */
export function compileSimdForest(json: GbdtModelJson, slots: readonly number[]): SimdForest | undefined {
  if (wasm === undefined) return undefined;
  const width = slots.length;
  const slotOf = new Map(slots.map((feature, slot) => [feature, slot]));
  const thresholds: number[][] = slots.map(() => []);
  let leaves = 0;
  for (const tree of json.trees) {
    let own = 0;
    tree.feature.forEach((feature, node) => {
      if (feature < 0) own += 1;
      else thresholds[slotOf.get(feature)!]!.push(tree.threshold[node]!);
    });
    leaves = Math.max(leaves, own);
  }
  // A NaN threshold sends every value right, which no rank can say.
  if (thresholds.some((values) => values.some((value) => typeof value !== 'number' || Number.isNaN(value))))
    return undefined;
  const sorted = thresholds.map((values) => [...new Set(values)].sort((a, b) => a - b));
  if (sorted.some((values) => values.length >= U16) || leaves * 8 > U16) return undefined;
  // Ranks and a tree's leaf offsets in bytes (16 rows a pass) when they fit, else in 16 bits (8).
  const size: 1 | 2 = sorted.every((values) => values.length < 0xff) && leaves * 8 <= 0xff ? 1 : 2;
  const lanes = 16 / size;
  const rank = sorted.map((values) => new Map(values.map((value, j) => [value, j])));

  // Memory: columns (doubles), ranks (`size` bytes), each tree's column of leaves (each row's
  // leaf: its value's byte offset among the tree's, `size` bytes), margins and leaf values
  // (doubles), each tree's first leaf value's address (i32), then the constants the code loads
  // instead of spelling them (a `v128.const` costs V8 three instructions each time, a load one):
  // each slot's thresholds in both lanes, and every lane value the trees compare with or pick (a
  // rank bound, a leaf offset) in every lane.
  const trees = json.trees.length;
  const binsAt = width * CAPACITY * 8;
  const leafAt = binsAt + width * CAPACITY * size;
  const outAt = leafAt + trees * CAPACITY * size;
  const leavesAt = outAt + CAPACITY * 8;
  const leafValues: number[] = [];
  const leafCount = json.trees.reduce((sum, tree) => sum + tree.feature.filter((feature) => feature < 0).length, 0);
  const treeBaseAt = leavesAt + leafCount * 8;
  // (Rounded up to whole doubles, so the thresholds are aligned for a Float64Array.)
  const thresholdsAt = treeBaseAt + Math.ceil(trees / 2) * 8;
  const thresholdAt: number[] = [];
  let thresholdCount = 0;
  for (const values of sorted) {
    thresholdAt.push(thresholdsAt + thresholdCount * 16);
    thresholdCount += values.length;
  }
  const splatsAt = thresholdsAt + thresholdCount * 16;
  const splats = new Map<number, number>();
  /** The address of `value` in every lane (entered in the table on first use). */
  const splatAt = (value: number): number => {
    let at = splats.get(value);
    if (at === undefined) splats.set(value, (at = splatsAt + splats.size * 16));
    return at;
  };
  // A node's test `rank <= j` is `j + 1 > rank` in one signed compare when every rank and bound
  // stays below the lane's sign bit; else the unsigned `<=` (two instructions on x64).
  const signed = sorted.every((values) => values.length < (size === 1 ? 0x7f : 0x7fff));

  const treeAt: number[] = [];
  // Rows whose margins a sum pass keeps in locals.
  const group = 8;
  // Locals: 0 rows (param), 1 offset, 2 end, 3-5 the sums' tree (below), 6 and 8 two rows' rank
  // counts (v128), 7 and 9 their values (v128), 10 a threshold (v128), 11.. a sum pass's rows'
  // margins.
  const body = new Bytes();
  body.u32(3).u32(5).byte(I32).u32(5).byte(V128).u32(group).byte(F64);
  const margin = 11;
  // 1. Bins, four rows at a time (two pairs, each threshold loaded once for both); local 1 is the
  // rows' byte offset in a column of doubles.
  body.byte(LOCAL_GET).u32(0).byte(I32_CONST).i32(3).byte(I32_SHL).byte(LOCAL_SET).u32(2);
  for (let slot = 0; slot < width; slot++) {
    const values = sorted[slot]!;
    body.byte(I32_CONST).i32(0).byte(LOCAL_SET).u32(1);
    body.byte(BLOCK).byte(VOID).byte(LOOP).byte(VOID);
    body.byte(LOCAL_GET).u32(1).byte(LOCAL_GET).u32(2).byte(I32_GE_U).byte(BR_IF).u32(1);
    for (const pair of [0, 1])
      body
        .byte(LOCAL_GET)
        .u32(1)
        .simd(V128_LOAD)
        .u32(3)
        .u32(slot * CAPACITY * 8 + pair * 16)
        .byte(LOCAL_SET)
        .u32(7 + pair * 2);
    // -1 in a lane per threshold the value is at or below; the rank is their count plus the total.
    body.splat(0, 2).byte(LOCAL_SET).u32(6);
    body.splat(0, 2).byte(LOCAL_SET).u32(8);
    values.forEach((_, j) => {
      body.byte(LOCAL_GET).u32(6).byte(LOCAL_GET).u32(7);
      body
        .byte(I32_CONST)
        .i32(0)
        .simd(V128_LOAD)
        .u32(3)
        .u32(thresholdAt[slot]! + j * 16)
        .byte(LOCAL_TEE)
        .u32(10);
      body.simd(F64X2_LE).simd(I64X2_ADD).byte(LOCAL_SET).u32(6);
      body.byte(LOCAL_GET).u32(8).byte(LOCAL_GET).u32(9).byte(LOCAL_GET).u32(10);
      body.simd(F64X2_LE).simd(I64X2_ADD).byte(LOCAL_SET).u32(8);
    });
    for (let lane = 0; lane < 4; lane++) {
      body
        .byte(LOCAL_GET)
        .u32(1)
        .byte(I32_CONST)
        .i32(size === 1 ? 3 : 2)
        .byte(I32_SHR_U);
      body
        .byte(LOCAL_GET)
        .u32(lane < 2 ? 6 : 8)
        .simd(I64X2_EXTRACT_LANE)
        .byte(lane % 2)
        .byte(I32_WRAP_I64);
      body.byte(I32_CONST).i32(values.length).byte(I32_ADD);
      body
        .byte(size === 1 ? I32_STORE8 : I32_STORE16)
        .u32(size - 1)
        .u32(binsAt + slot * CAPACITY * size + lane * size);
    }
    body.byte(LOCAL_GET).u32(1).byte(I32_CONST).i32(32).byte(I32_ADD).byte(LOCAL_SET).u32(1);
    body.byte(BR).u32(0).byte(END).byte(END);
  }
  // 2. Trees, one at a time over the chunk (each tree's code stays small enough to stay in the
  // instruction cache), `lanes` rows a pass; local 1 is the rows' byte offset in a column of ranks.
  // Each row's leaf (its value's byte offset among the tree's) goes to the tree's column of leaves.
  body.byte(LOCAL_GET).u32(0);
  if (size === 2) body.byte(I32_CONST).i32(1).byte(I32_SHL);
  body.byte(LOCAL_SET).u32(2);
  /** `v128.load` of the table's `value` in every lane. */
  const loadSplat = (value: number) => body.byte(I32_CONST).i32(0).simd(V128_LOAD).u32(4).u32(splatAt(value));
  json.trees.forEach((tree, t) => {
    treeAt.push(leafValues.length);
    // The subtree's leaf for each row of the pass.
    const emit = (node: number, depth: number): void => {
      if (!Number.isInteger(node) || node < 0 || node >= tree.feature.length || depth > tree.feature.length)
        throw new TypeError(`a tree links to node ${String(node)}, which it does not have`);
      const feature = tree.feature[node]!;
      if (feature < 0) {
        loadSplat((leafValues.length - treeAt[t]!) * 8);
        leafValues.push(tree.value[node]!);
        return;
      }
      emit(tree.left[node]!, depth + 1);
      emit(tree.right[node]!, depth + 1);
      const slot = slotOf.get(feature)!;
      const j = rank[slot]!.get(tree.threshold[node]!)!;
      const ranks = () =>
        body
          .byte(LOCAL_GET)
          .u32(1)
          .simd(V128_LOAD)
          .u32(0)
          .u32(binsAt + slot * CAPACITY * size);
      if (signed) {
        loadSplat(j + 1);
        ranks();
        body.simd(size === 1 ? I8X16_GT_S : I16X8_GT_S);
      } else {
        ranks();
        loadSplat(j);
        body.simd(size === 1 ? I8X16_LE_U : I16X8_LE_U);
      }
      body.simd(V128_BITSELECT);
    };
    body.byte(I32_CONST).i32(0).byte(LOCAL_SET).u32(1);
    body.byte(BLOCK).byte(VOID).byte(LOOP).byte(VOID);
    body.byte(LOCAL_GET).u32(1).byte(LOCAL_GET).u32(2).byte(I32_GE_U).byte(BR_IF).u32(1);
    body.byte(LOCAL_GET).u32(1);
    emit(0, 0);
    body
      .simd(V128_STORE)
      .u32(4)
      .u32(leafAt + t * CAPACITY * size);
    body.byte(LOCAL_GET).u32(1).byte(I32_CONST).i32(16).byte(I32_ADD).byte(LOCAL_SET).u32(1);
    body.byte(BR).u32(0).byte(END).byte(END);
  });
  // 3. Sums, `group` rows at a time (their margins in locals): the base score, then each tree's
  // leaf value in the model's order (a loop over the trees: local 3 the rows' byte offset in the
  // tree's column of leaves, local 4 the tree's in the table of first leaf addresses, local 5 its
  // first leaf's address). Local 1 is the rows' byte offset in a column of leaves; local 2 its end.
  body.byte(I32_CONST).i32(0).byte(LOCAL_SET).u32(1);
  body.byte(BLOCK).byte(VOID).byte(LOOP).byte(VOID);
  body.byte(LOCAL_GET).u32(1).byte(LOCAL_GET).u32(2).byte(I32_GE_U).byte(BR_IF).u32(1);
  for (let lane = 0; lane < group; lane++)
    body
      .byte(F64_CONST)
      .f64(json.baseScore)
      .byte(LOCAL_SET)
      .u32(margin + lane);
  body.byte(LOCAL_GET).u32(1).byte(LOCAL_SET).u32(3);
  body.byte(I32_CONST).i32(0).byte(LOCAL_SET).u32(4);
  body.byte(BLOCK).byte(VOID).byte(LOOP).byte(VOID);
  body
    .byte(LOCAL_GET)
    .u32(4)
    .byte(I32_CONST)
    .i32(trees * 4)
    .byte(I32_GE_U)
    .byte(BR_IF)
    .u32(1);
  body.byte(LOCAL_GET).u32(4).byte(I32_LOAD).u32(2).u32(treeBaseAt).byte(LOCAL_SET).u32(5);
  for (let lane = 0; lane < group; lane++) {
    body.byte(LOCAL_GET).u32(margin + lane);
    body
      .byte(LOCAL_GET)
      .u32(5)
      .byte(LOCAL_GET)
      .u32(3)
      .byte(size === 1 ? I32_LOAD8_U : I32_LOAD16_U)
      .u32(size - 1)
      .u32(leafAt + lane * size)
      .byte(I32_ADD);
    body
      .byte(F64_LOAD)
      .u32(3)
      .u32(0)
      .byte(F64_ADD)
      .byte(LOCAL_SET)
      .u32(margin + lane);
  }
  body
    .byte(LOCAL_GET)
    .u32(3)
    .byte(I32_CONST)
    .i32(CAPACITY * size)
    .byte(I32_ADD)
    .byte(LOCAL_SET)
    .u32(3);
  body.byte(LOCAL_GET).u32(4).byte(I32_CONST).i32(4).byte(I32_ADD).byte(LOCAL_SET).u32(4);
  body.byte(BR).u32(0).byte(END).byte(END);
  // A row's margin at 8 bytes a row: the leaf column's offset times 8 / size.
  for (let lane = 0; lane < group; lane++) {
    body
      .byte(LOCAL_GET)
      .u32(1)
      .byte(I32_CONST)
      .i32(size === 1 ? 3 : 2)
      .byte(I32_SHL)
      .byte(LOCAL_GET)
      .u32(margin + lane);
    body
      .byte(F64_STORE)
      .u32(3)
      .u32(outAt + lane * 8);
  }
  body
    .byte(LOCAL_GET)
    .u32(1)
    .byte(I32_CONST)
    .i32(group * size)
    .byte(I32_ADD)
    .byte(LOCAL_SET)
    .u32(1);
  body.byte(BR).u32(0).byte(END).byte(END).byte(END);

  const pages = Math.ceil((splatsAt + splats.size * 16) / 65_536);
  const module = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  module.section(1, new Bytes().u32(1).byte(0x60).u32(1).byte(I32).u32(0));
  module.section(3, new Bytes().u32(1).u32(0));
  module.section(5, new Bytes().u32(1).byte(0x00).u32(pages));
  const exports = new Bytes().u32(2);
  for (const [name, kind] of [
    ['memory', 0x02],
    ['margins', 0x00],
  ] as const)
    exports.u32(name.length).bytes(new TextEncoder().encode(name)).byte(kind).u32(0);
  module.section(7, exports);
  module.section(10, new Bytes().u32(1).u32(body.length).bytes(body.view()));
  const bytes = module.view();
  if (!wasm.validate(bytes)) return undefined;
  const instance = new wasm.Instance(new wasm.Module(bytes));
  const memory = (instance.exports.memory as { buffer: ArrayBuffer }).buffer;
  new Float64Array(memory, leavesAt, leafValues.length).set(leafValues);
  new Int32Array(memory, treeBaseAt, trees).set(treeAt.map((first) => leavesAt + first * 8));
  sorted.forEach((values, slot) =>
    values.forEach((value, j) => new Float64Array(memory, thresholdAt[slot]! + j * 16, 2).fill(value)),
  );
  for (const [value, at] of splats)
    if (size === 1) new Uint8Array(memory, at, 16).fill(value);
    else new Uint16Array(memory, at, 8).fill(value);
  const margins = instance.exports.margins as (rows: number) => void;
  return {
    lanes,
    columns: Array.from({ length: width }, (_, slot) => new Float64Array(memory, slot * CAPACITY * 8, CAPACITY)),
    out: new Float64Array(memory, outAt, CAPACITY),
    // Rows past `rows` up to the pass's eight are scored from stale values and not read.
    margins: (rows) => margins(Math.min(CAPACITY, (rows + lanes - 1) & ~(lanes - 1))),
  };
}
