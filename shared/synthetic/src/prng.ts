/**
 * Seeded, splittable randomness for the synthetic world. Every random draw of a generator comes
 * from a {@link Random} keyed by the seed and the identity of what is being drawn (a customer, a
 * day, an order), so any part of the world can be generated alone, in any order, and gives the same
 * values every time. Hashing is a 32-bit integer mix (murmur3's finaliser), not SHA-256: the
 * generators key hundreds of thousands of streams per day.
 */

const TWO_32 = 4294967296;
/** The two lowercase hex digits of each byte. */
const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixInto(h: number, value: number): number {
  // Integers up to 2^53 (and negative ones) are folded in as two 32-bit halves.
  return mixHalves(h, value >>> 0, Math.floor(value / TWO_32) >>> 0);
}

function mixHalves(h: number, lo: number, hi: number): number {
  h = Math.imul(h ^ lo, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h ^ hi, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** A 32-bit hash of integers (each a safe integer; order matters). */
export function hashInts(...values: readonly number[]): number {
  return hashIntsFrom(0x9747b28c, values);
}

function hashIntsFrom(basis: number, values: readonly number[]): number {
  let h = basis;
  for (const value of values) h = mixInto(h, value);
  return fmix(h ^ values.length);
}

/** A 32-bit FNV-1a hash of a string, used to turn names into stream keys once. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/**
 * A small fast generator (sfc32, 128-bit state) seeded from a hash of `(seed, ...keys)`. The same
 * seed and keys always give the same sequence; different keys give independent sequences.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    for (let i = 0; i < 8; i += 1) this.uint32();
  }

  /**
   * The stream of a seed and a path of integer keys (e.g. a stream tag, a day, an index). The state
   * comes from three independent 32-bit hashes of the keys: from one alone, the tens of millions of
   * (customer, day) streams of a year at scale 10 would share states by the birthday bound, and
   * two streams sharing a state draw the same "random" order and event ids.
   */
  static of(seed: number, ...keys: readonly number[]): Random {
    // The three hashes of (seed, ...keys) of hashIntsFrom, in one pass that splits each value once.
    let lo = seed >>> 0;
    let hi = Math.floor(seed / TWO_32) >>> 0;
    let h1 = mixHalves(0x9747b28c, lo, hi);
    let h2 = mixHalves(0x243f6a88, lo, hi);
    let h3 = mixHalves(0x85a308d3, lo, hi);
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      lo = key >>> 0;
      hi = Math.floor(key / TWO_32) >>> 0;
      h1 = mixHalves(h1, lo, hi);
      h2 = mixHalves(h2, lo, hi);
      h3 = mixHalves(h3, lo, hi);
    }
    const length = keys.length + 1;
    return new Random(fmix(h1 ^ length), fmix(h2 ^ length), fmix(h3 ^ length), 1);
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.uint32() / TWO_32;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One item, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One item of a {@link WeightedTable}. */
  weighted<T>(table: WeightedTable<T>): T {
    const target = this.next() * table.total;
    const { cumulative, items } = table;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return items[lo]!;
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** An exponential draw with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** A Poisson draw (inversion; meant for the small rates of one customer on one day). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }

  /** `floor(x)` plus one with probability `frac(x)`: an unbiased integer count for a fractional rate. */
  round(x: number): number {
    const whole = Math.floor(x);
    return whole + (this.next() < x - whole ? 1 : 0);
  }

  /** `chars` lowercase hex digits. */
  hex(chars: number): string {
    // Two digits per byte from a table: a tenth of the CPU of toString(16) and padStart per word.
    let out = '';
    for (let written = 0; written < chars; written += 8) {
      const word = this.uint32();
      const digits =
        BYTE_HEX[word >>> 24]! + BYTE_HEX[(word >>> 16) & 255]! + BYTE_HEX[(word >>> 8) & 255]! + BYTE_HEX[word & 255]!;
      out += chars - written >= 8 ? digits : digits.slice(0, chars - written);
    }
    return out;
  }
}

/** Items with weights, prepared for repeated weighted draws. */
export interface WeightedTable<T> {
  readonly items: readonly T[];
  readonly cumulative: readonly number[];
  readonly total: number;
}

/** Prepare a weighted table from `[item, weight]` pairs (weights need not sum to 1). */
export function weightedTable<T>(entries: readonly (readonly [T, number])[]): WeightedTable<T> {
  const items: T[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const [item, weight] of entries) {
    if (!(weight >= 0)) throw new RangeError(`weight of ${String(item)} must be >= 0`);
    total += weight;
    items.push(item);
    cumulative.push(total);
  }
  if (total <= 0) throw new RangeError('a weighted table needs a positive total weight');
  return { items, cumulative, total };
}
