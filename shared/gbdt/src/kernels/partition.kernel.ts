/**
 * Row kernels of a split: partitioning a node's rows, and recording the leaf of each row with the
 * exact gradient sums of each leaf. `partitionRows`, `splitIntoLeaves` and `closeLeaf` run as
 * WebAssembly (`part`, `leaves`, `close` in ../wasm/boosting.wat), which gives the same bits;
 * these versions are their reference in the tests.
 */

/**
 * Stable partition of `rows[start .. end)` on `bin(feature) <= bin`, reading the column-major bins:
 * left rows go to `left[start ..]`, right rows to `right[start ..]`; returns the left count.
 * Branch-free, because a row's side is unpredictable and a mispredicted branch per row costs more
 * than the extra stores.
 */
export function partitionRows(
  cols: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  left: Uint32Array,
  right: Uint32Array,
  start: number,
  end: number,
  feature: number,
  bin: number,
): number {
  const base = feature * nRows;
  let l = start;
  let rr = start;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const goesLeft = 1 ^ ((bin - cols[base + r]!) >>> 31);
    left[l] = r;
    right[rr] = r;
    l += goesLeft;
    rr += 1 - goesLeft;
  }
  return l - start;
}

/**
 * The last split of a branch, whose children are leaves: record each row's leaf in `leafOf`
 * (`leftId` or `rightId`, by `bin(feature) <= bin`) without moving rows, and write the exact
 * gradient and hessian sums of the left and right rows at `out[at .. at + 4)`.
 */
export function splitIntoLeaves(
  cols: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  start: number,
  end: number,
  feature: number,
  bin: number,
  leftId: number,
  rightId: number,
  leafOf: Uint16Array,
  gh: Float64Array,
  out: Float64Array,
  at: number,
): void {
  const base = feature * nRows;
  const diff = leftId - rightId;
  let lg = 0;
  let lh = 0;
  let rg = 0;
  let rh = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const left = 1 ^ ((bin - cols[base + r]!) >>> 31);
    leafOf[r] = rightId + diff * left;
    const g = gh[r << 1]!;
    const h = gh[(r << 1) | 1]!;
    const right = 1 - left;
    lg += g * left;
    lh += h * left;
    rg += g * right;
    rh += h * right;
  }
  out[at] = lg;
  out[at + 1] = lh;
  out[at + 2] = rg;
  out[at + 3] = rh;
}

/** A leaf of rows `rows[start .. end)`: record it in `leafOf`; exact gradient and hessian sums into `out[at]`, `out[at + 1]`. */
export function closeLeaf(
  rows: Uint32Array,
  start: number,
  end: number,
  id: number,
  leafOf: Uint16Array,
  gh: Float64Array,
  out: Float64Array,
  at: number,
): void {
  let g = 0;
  let h = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    leafOf[r] = id;
    g += gh[r << 1]!;
    h += gh[(r << 1) | 1]!;
  }
  out[at] = g;
  out[at + 1] = h;
}

/** `margin[r] += leafValue[leafOf[r]]` for the rows `r` at positions `[start, end)` of `rows`. */
export function addLeafValues(
  margin: Float64Array,
  rows: Uint32Array,
  start: number,
  end: number,
  leafOf: Uint16Array,
  leafValue: Float64Array,
): void {
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    margin[r] = margin[r]! + leafValue[leafOf[r]!]!;
  }
}
