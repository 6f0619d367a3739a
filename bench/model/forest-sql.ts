/**
 * A gradient-boosted tree model as one SQL expression over its feature columns: the engine scores
 * rows where they lie, vectorized on all its threads, with nothing crossing into JavaScript. The
 * bench measures it against the product's path (the compiled JavaScript model called from SQL);
 * on DuckDB it is the slower one (README), so the product does not use it.
 *
 * Each tree is a nested `case when x <= threshold then left else right end` with its thresholds and
 * leaf values as double literals; NULL and NaN fail the comparison on both engines and go right, as
 * `predictProba` routes NaN. The margin is the base score plus the trees in order (left-associative,
 * the model's own summation order, so the margin is the same to the bit), and the probability the
 * model's sigmoid (the engine's `exp` may round differently from V8's: `SCORE_TOLERANCE`). The
 * expression is in the subset DuckDB and BigQuery both accept.
 */
import type { GbdtModelJson } from '@mlops/gbdt';

/** Largest difference allowed between a probability scored in SQL and the JavaScript model's. */
export const SCORE_TOLERANCE = 1e-12;

/** A double as a SQL literal that reads back as the same double (exponent form is DOUBLE/FLOAT64). */
function literal(value: number, float64: string): string {
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TypeError(`a tree holds a non-number: ${String(value)}`);
  if (!Number.isFinite(value)) return `cast('${value > 0 ? 'inf' : '-inf'}' as ${float64})`;
  // `-0` and `0` route and add alike; the shortest exponent form parses back to the same double.
  return value < 0 ? `(${value.toExponential()})` : value.toExponential();
}

/** A model compiled to SQL: the margin and probability over columns named by `column`. */
export interface SqlForest {
  /** The features the trees split on, in first-use order. */
  readonly features: readonly string[];
  /** The log-odds: base score plus every tree's value. */
  readonly margin: string;
  /** The churn probability of a margin expression `m` (the model's sigmoid; `m` is used three times). */
  probability(m: string): string;
}

/**
 * Compile `json` to SQL, reading feature `name` as `column(name)` (a float64 expression; `float64`
 * is the engine's name of the type). Throws on a malformed tree (a link or feature the model does not have).
 */
export function compileForestSql(json: GbdtModelJson, column: (name: string) => string, float64: string): SqlForest {
  const number = (value: number) => literal(value, float64);
  const used = new Set<string>();
  const feature = (index: number): string => {
    const name = Number.isInteger(index) ? json.featureNames[index] : undefined;
    if (name === undefined)
      throw new TypeError(`a tree splits on feature ${String(index)}, which the model does not have`);
    used.add(name);
    return column(name);
  };
  const trees = json.trees.map((tree) => {
    const expression = (node: number, depth: number): string => {
      if (!Number.isInteger(node) || node < 0 || node >= tree.feature.length || depth > tree.feature.length)
        throw new TypeError(`a tree links to node ${String(node)}, which it does not have`);
      const split = tree.feature[node]!;
      if (split < 0) return number(tree.value[node]!);
      return `case when ${feature(split)} <= ${number(tree.threshold[node]!)} then ${expression(tree.left[node]!, depth + 1)} else ${expression(tree.right[node]!, depth + 1)} end`;
    };
    return `(${expression(0, 0)})`;
  });
  const margin = [number(json.baseScore), ...trees].join('\n + ');
  return {
    features: [...used],
    margin,
    probability: (m) => `case when ${m} >= 0 then 1 / (1 + exp(-${m})) else exp(${m}) / (1 + exp(${m})) end`,
  };
}
