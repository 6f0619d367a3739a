/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32). Training draws every random choice
 * (row subsample, column sample) from one of these, so the same seed gives the same model on every
 * machine and Node version; Math.random is never used.
 */
export interface Random {
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** A uniform integer in [0, n). */
  nextInt(n: number): number;
}

/** Create a deterministic generator from any integer seed (only its low 32 bits matter). */
export function createRandom(seed: number): Random {
  let x = seed >>> 0;
  const splitmix = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  // The state is kept as int32 (`| 0`, `^`): the same bits as unsigned words, but V8 keeps int32
  // values unboxed, where `>>> 0` above 2^31 makes a heap number per step (3x the CPU of a draw).
  let s0 = splitmix() | 0;
  let s1 = splitmix() | 0;
  let s2 = splitmix() | 0;
  let s3 = splitmix() | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  return {
    nextUint32,
    nextFloat: () => nextUint32() / 4294967296,
    nextInt: (n: number) => Math.floor((nextUint32() / 4294967296) * n),
  };
}

/** Rotate a 32-bit word left by `k` (1..31); int32 in, int32 out. */
function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}
