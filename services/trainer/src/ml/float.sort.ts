/**
 * Ascending sort of a Float64Array by LSD radix on the IEEE-754 bit pattern: about 4x faster than
 * `Float64Array.prototype.sort` on 100k+ values, which matters because binning sorts every feature.
 * Passes whose byte is the same in every key are skipped, so float32-derived data (whose low
 * mantissa bytes are zero) costs about half. The input must hold no NaN; -0 is sorted as +0.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (!LITTLE_ENDIAN || n < 256) return values.slice().sort();
  let a = new Float64Array(n);
  let b = new Float64Array(n);
  let au = new Uint32Array(a.buffer);
  let bu = new Uint32Array(b.buffer);
  // Map each double to an unsigned 64-bit key with the same order: flip every bit of negatives,
  // only the sign bit of non-negatives.
  for (let i = 0; i < n; i++) a[i] = values[i]! === 0 ? 0 : values[i]!;
  const counts = new Uint32Array(8 * 256);
  for (let i = 0; i < n; i++) {
    let lo = au[2 * i]!;
    let hi = au[2 * i + 1]!;
    if ((hi & 0x80000000) !== 0) {
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    au[2 * i] = lo;
    au[2 * i + 1] = hi;
    counts[lo & 255]!++;
    counts[256 + ((lo >>> 8) & 255)]!++;
    counts[512 + ((lo >>> 16) & 255)]!++;
    counts[768 + (lo >>> 24)]!++;
    counts[1024 + (hi & 255)]!++;
    counts[1280 + ((hi >>> 8) & 255)]!++;
    counts[1536 + ((hi >>> 16) & 255)]!++;
    counts[1792 + (hi >>> 24)]!++;
  }
  const offsets = new Uint32Array(256);
  for (let pass = 0; pass < 8; pass++) {
    const base = pass * 256;
    let trivial = false;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[base + d]!;
      if (c === n) trivial = true;
      offsets[d] = sum;
      sum += c;
    }
    if (trivial) continue;
    const word = pass >>> 2;
    const shift = (pass & 3) * 8;
    for (let i = 0; i < n; i++) {
      const lo = au[2 * i]!;
      const hi = au[2 * i + 1]!;
      const d = ((word === 0 ? lo : hi) >>> shift) & 255;
      const j = offsets[d]!++;
      bu[2 * j] = lo;
      bu[2 * j + 1] = hi;
    }
    [a, b] = [b, a];
    [au, bu] = [bu, au];
  }
  for (let i = 0; i < n; i++) {
    const hi = au[2 * i + 1]!;
    if ((hi & 0x80000000) !== 0) {
      au[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    } else {
      au[2 * i] = ~au[2 * i]! >>> 0;
      au[2 * i + 1] = ~hi >>> 0;
    }
  }
  return a;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
