/**
 * exp(x) to about 2e-15 relative error, faster than Math.exp in V8: the gradient pass
 * evaluates a sigmoid for every row of every tree. Pure IEEE arithmetic on fixed tables, so it is
 * deterministic everywhere.
 *
 * exp(x) = 2^(k / 64) * exp(r) with k = round(64 x / ln 2) and |r| <= ln 2 / 128; 2^(k/64) comes from
 * two tables and exp(r) from a degree-5 Taylor polynomial (truncation below 4e-17). k is rounded
 * by biasing it positive and truncating with `| 0`, because Math.round is slow in V8.
 *
 * The gradient kernels (JavaScript and WebAssembly) inline the same computation; they take the
 * tables and constants below as arguments.
 */
export function fastExp(x: number): number {
  if (x > 709) return Infinity;
  if (x < -745) return 0;
  const biased = (x * EXP_CONSTANTS[0]! + EXP_K_BIAS + 0.5) | 0;
  const k = biased - EXP_K_BIAS;
  const r = x - k * EXP_CONSTANTS[1]! - k * EXP_CONSTANTS[2]!;
  const p = 1 + r * (1 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * 0.008333333333333333))));
  return EXP_POW2_INT[biased >> 6]! * EXP_POW2_FRAC[biased & 63]! * p;
}

/** [64 / ln 2, ln(2)/64 high part (exact in products with |k| < 2^21), ln(2)/64 low part]. */
export const EXP_CONSTANTS = Float64Array.of(
  64 / Math.LN2,
  Math.fround(Math.LN2 / 64),
  Math.LN2 / 64 - Math.fround(Math.LN2 / 64),
);
/** A multiple of 64 above 64 * 745 / ln 2, so `biased` is positive and `biased >> 6` = floor(k/64) + 1100. */
export const EXP_K_BIAS = 64 * 1100;
/** 2^(i - 1100). */
export const EXP_POW2_INT = new Float64Array(2200);
for (let i = 0; i < EXP_POW2_INT.length; i++) EXP_POW2_INT[i] = 2 ** (i - 1100);
/** 2^(j / 64). */
export const EXP_POW2_FRAC = new Float64Array(64);
for (let j = 0; j < 64; j++) EXP_POW2_FRAC[j] = 2 ** (j / 64);
