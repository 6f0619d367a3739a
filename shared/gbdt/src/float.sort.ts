import { sortFloat64 as sortKernel } from './kernels/binning.kernel.js';

/**
 * A sorted copy of `values` (ascending; -0 as +0; no NaN allowed), by the LSD radix kernel that
 * binning uses, much faster than `Float64Array.prototype.sort` on large arrays.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  const result = sortKernel(values, n, new Float64Array(n), new Float64Array(n), new Uint32Array(2048));
  return result.length === n ? result : result.slice(0, n);
}
