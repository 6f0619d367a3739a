/**
 * Batch scoring of a gradient-boosted tree model over feature columns, the layout the warehouse
 * returns them in (one Float64Array per feature).
 *
 * The trees are compiled to JavaScript: each tree becomes one expression of nested conditionals
 * with its thresholds, leaf values and feature offsets as literals, so V8 turns a tree into a few
 * compares and branches with no node table to load (bench/model's README has the figures). Each
 * group of trees is generated twice: over row-major batches (`scoreRows`: `x[b + slot]`) and over
 * the columns themselves (`score`: one local per column, `c<slot>[i]`, no copy); for a block of
 * rows each generated function adds its trees to each row's margin.
 *
 * Comparisons (`x <= threshold` goes left, NaN goes right), the order of the sum (base score, then
 * the trees in order) and the sigmoid are those of the model's own `predictProba`, so the scores
 * are the same to the last bit. Literals are written so they read back as the same double. Only
 * the features some tree splits on are read.
 */
import type { BinaryClassifier, FeatureMatrix, GbdtModelJson } from '../ml/index.js';
import { assertSameFeatures, createFeatureMatrix } from '../ml/index.js';
import { SIMD_CAPACITY, type SimdForest, compileSimdForest } from './forest-simd.js';
import {
  type ForestSource,
  type ParallelScoring,
  SplitChooser,
  parallelScoring,
  scoreInParallel,
  splits,
} from './scoring-pool.js';

/** Rows per block: 256 rows of 50 features stay in the second-level cache. */
const BLOCK = 256;
/**
 * Decision nodes per generated function. V8 optimises a function after an amount of work that
 * grows with its size, so small functions reach optimised code sooner in the one call that scores
 * a snapshot; much smaller, and the calls between them cost more than they save.
 */
const NODES_PER_FUNCTION = 128;

function sigmoid(margin: number): number {
  return margin >= 0 ? 1 / (1 + Math.exp(-margin)) : Math.exp(margin) / (1 + Math.exp(margin));
}

/** A model ready to score feature columns. */
export interface ColumnScorer {
  /** The columns `score` needs, in the order it takes them. */
  readonly features: readonly string[];
  /** Churn probabilities of `rows` rows, given `features` as columns. */
  score(columns: readonly Float64Array[], rows: number): Float64Array;
  /**
   * The same probabilities into `out[0..rows)`; with `parallel`, a large chunk may be split over
   * the process's scoring threads (the caller's thread blocks until they are done): `always`, or
   * `when-faster`, each chunk the way that lately took the caller less time per row (never for a
   * forest scored by SIMD, which alone beats the threads' JavaScript).
   */
  scoreInto(columns: readonly Float64Array[], rows: number, out: Float64Array, parallel?: ParallelScoring): void;
  /**
   * Churn probabilities of `rows` rows of a row-major batch into `out` from `at`: row r holds its
   * `features`, in order, at `values[r * stride + first ...]`.
   */
  scoreRows(values: Float64Array, rows: number, stride: number, first: number, out: Float64Array, at: number): void;
}

/**
 * Adds some trees' values to the margins `sum[0..n)` of `n` rows of `x`, row r's features at
 * `x[first + r * stride ...]`.
 */
type TreesFunction = (x: Float64Array, sum: Float64Array, n: number, stride: number, first: number) => void;

/** The same trees over columns: adds to `sum[0..n)` the values of rows `at ..< at + n` of `columns`. */
type ColumnTreesFunction = (columns: readonly Float64Array[], sum: Float64Array, n: number, at: number) => void;

/** A double as source text that reads back as the same double (the only way numbers enter the code). */
function literal(value: number): string {
  if (typeof value !== 'number') throw new TypeError(`a tree holds a non-number: ${String(value)}`);
  if (Object.is(value, -0)) return '-0';
  if (Number.isNaN(value)) return 'NaN';
  return value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : String(value);
}

let nextForestId = 1;

/** A GBDT model compiled into generated functions over row-major blocks. */
class CompiledForest implements ColumnScorer {
  private constructor(
    readonly features: readonly string[],
    private readonly baseScore: number,
    private readonly functions: readonly TreesFunction[],
    private readonly columnFunctions: readonly ColumnTreesFunction[],
    private readonly source: ForestSource,
    private readonly simd: SimdForest | undefined,
  ) {}

  static compile(json: GbdtModelJson, simd: boolean): CompiledForest {
    // Features in first-use order, so the columns read are only the ones that matter.
    const used = new Map<number, number>();
    const slotOf = (feature: number): number => {
      if (!Number.isInteger(feature) || feature >= json.featureNames.length)
        throw new TypeError(`a tree splits on feature ${String(feature)}, which the model does not have`);
      if (!used.has(feature)) used.set(feature, used.size);
      return used.get(feature)!;
    };
    const trees = json.trees.map((tree) => {
      let nodes = 0;
      const slots = new Set<number>();
      // `read(slot)` spells a row's feature: `x[b + slot]` row-major, `c<slot>[i]` by column.
      const expression = (node: number, depth: number, read: (slot: number) => string): string => {
        if (!Number.isInteger(node) || node < 0 || node >= tree.feature.length || depth > tree.feature.length)
          throw new TypeError(`a tree links to node ${String(node)}, which it does not have`);
        const feature = tree.feature[node]!;
        if (feature < 0) return literal(tree.value[node]!);
        nodes += 1;
        const slot = slotOf(feature);
        slots.add(slot);
        return `(${read(slot)} <= ${literal(tree.threshold[node]!)} ? ${expression(tree.left[node]!, depth + 1, read)} : ${expression(tree.right[node]!, depth + 1, read)})`;
      };
      const source = `s += ${expression(0, 0, (slot) => `x[b + ${slot}]`)};`;
      nodes = 0;
      const columnSource = `s += ${expression(0, 0, (slot) => `c${slot}[i]`)};`;
      return { source, columnSource, nodes, slots };
    });
    const functions: TreesFunction[] = [];
    const columnFunctions: ColumnTreesFunction[] = [];
    const bodies: string[] = [];
    for (let first = 0; first < trees.length; ) {
      let last = first + 1;
      let nodes = trees[first]!.nodes;
      while (last < trees.length && nodes + trees[last]!.nodes <= NODES_PER_FUNCTION) nodes += trees[last++]!.nodes;
      const body = trees
        .slice(first, last)
        .map((tree) => tree.source)
        .join('\n');
      // Generated from the numbers of the model alone (see `literal`); no other text enters it.
      functions.push(
        new Function(
          'x',
          'sum',
          'n',
          'stride',
          'first',
          `for (let r = 0, b = first; r < n; r++, b += stride) {\nlet s = sum[r];\n${body}\nsum[r] = s;\n}`,
        ) as TreesFunction,
      );
      const group = trees.slice(first, last);
      const slots = [...new Set(group.flatMap((tree) => [...tree.slots]))].sort((a, b) => a - b);
      const columns = slots.map((slot) => `c${slot} = columns[${slot}]`).join(', ');
      const columnBody = `${columns ? `const ${columns};\n` : ''}for (let r = 0, i = at; r < n; r++, i++) {\nlet s = sum[r];\n${group.map((tree) => tree.columnSource).join('\n')}\nsum[r] = s;\n}`;
      bodies.push(columnBody);
      columnFunctions.push(new Function('columns', 'sum', 'n', 'at', columnBody) as ColumnTreesFunction);
      first = last;
    }
    const slots = [...used.entries()].sort((a, b) => a[1] - b[1]).map(([feature]) => feature);
    const features = slots.map((feature) => json.featureNames[feature]!);
    const source = { id: nextForestId++, baseScore: json.baseScore, width: features.length, bodies };
    const vectors = simd ? compileSimdForest(json, slots) : undefined;
    return new CompiledForest(features, json.baseScore, functions, columnFunctions, source, vectors);
  }

  score(columns: readonly Float64Array[], rows: number): Float64Array {
    const out = new Float64Array(rows);
    this.scoreInto(columns, rows, out);
    return out;
  }

  scoreInto(columns: readonly Float64Array[], rows: number, out: Float64Array, parallel?: ParallelScoring): void {
    const width = this.features.length;
    if (columns.length !== width || columns.some((column) => column.length < rows) || out.length < rows)
      throw new RangeError(`the scorer needs ${width} columns of at least ${rows} rows`);
    // `when-faster` never splits a forest scored by SIMD: the scoring threads run the generated
    // JavaScript, which takes more CPU per row than the SIMD forest alone, so the chooser's split
    // chunks (one in 8, and the workers' start) only add CPU beside DuckDB's threads (bench/model).
    if (
      !parallel ||
      (parallel === 'when-faster' && this.simd) ||
      !parallelScoring(this.source, parallel) ||
      !splits(this.source, width, rows)
    ) {
      this.scoreColumns(columns, rows, out);
      return;
    }
    const split = parallel === 'always' || this.chooser.next();
    const started = performance.now();
    if (split)
      scoreInParallel(
        this.source,
        columns,
        rows,
        out,
        () => this.scoreColumns(columns, rows, out),
        (shared, at, n, into) => this.scoreColumnBlock(shared, at, n, into),
      );
    else this.scoreColumns(columns, rows, out);
    this.chooser.record(split, performance.now() - started, rows);
  }

  /** Alone or split, by the time each took lately (`parallel` `when-faster`). */
  private readonly chooser = new SplitChooser();

  /**
   * Rows `[0, rows)`: by the branch-free SIMD forest (the chunk's columns copied into its memory),
   * or where the columns lie, a block of rows at a time, by the generated JavaScript.
   */
  private scoreColumns(columns: readonly Float64Array[], rows: number, out: Float64Array): void {
    const simd = this.simd;
    if (!simd) {
      for (let at = 0; at < rows; at += BLOCK) this.scoreColumnBlock(columns, at, Math.min(BLOCK, rows - at), out);
      return;
    }
    for (let at = 0; at < rows; at += SIMD_CAPACITY) {
      const n = Math.min(SIMD_CAPACITY, rows - at);
      // A column of exactly the chunk's rows (the engine's calls) is copied whole, with no view made.
      for (let c = 0; c < columns.length; c++) {
        const column = columns[c]!;
        simd.columns[c]!.set(at === 0 && column.length === n ? column : column.subarray(at, at + n));
      }
      simd.margins(n);
      const margins = simd.out;
      for (let r = 0; r < n; r++) out[at + r] = sigmoid(margins[r]!);
    }
  }

  /** Rows `[at, at + n)`, n at most BLOCK, into `out[at ...]`. */
  private scoreColumnBlock(columns: readonly Float64Array[], at: number, n: number, out: Float64Array): void {
    const sum = this.sum;
    sum.fill(this.baseScore);
    for (const add of this.columnFunctions) add(columns, sum, n, at);
    for (let r = 0; r < n; r++) out[at + r] = sigmoid(sum[r]!);
  }

  scoreRows(values: Float64Array, rows: number, stride: number, first: number, out: Float64Array, at: number): void {
    if (first < 0 || first + this.features.length > stride || values.length < rows * stride || out.length < at + rows)
      throw new RangeError(`the scorer needs ${this.features.length} features in rows of ${stride} values`);
    for (let start = 0; start < rows; start += BLOCK)
      this.scoreBlock(values, Math.min(BLOCK, rows - start), stride, first + start * stride, out, at + start);
  }

  private readonly sum = new Float64Array(BLOCK);

  /** At most BLOCK rows. */
  private scoreBlock(x: Float64Array, n: number, stride: number, first: number, out: Float64Array, at: number): void {
    const sum = this.sum;
    sum.fill(this.baseScore);
    for (const add of this.functions) add(x, sum, n, stride, first);
    for (let r = 0; r < n; r++) out[at + r] = sigmoid(sum[r]!);
  }
}

/** Any other model: its own `predictProba` over a row-major copy of the columns. */
class RowScorer implements ColumnScorer {
  constructor(private readonly model: BinaryClassifier) {}

  get features(): readonly string[] {
    return this.model.featureNames;
  }

  score(columns: readonly Float64Array[], rows: number): Float64Array {
    const width = columns.length;
    const values = new Float64Array(rows * width);
    for (let f = 0; f < width; f++) {
      const column = columns[f]!;
      for (let r = 0; r < rows; r++) values[r * width + f] = column[r]!;
    }
    return this.model.predictProba(createFeatureMatrix({ featureNames: this.model.featureNames, values }));
  }

  scoreInto(columns: readonly Float64Array[], rows: number, out: Float64Array): void {
    out.set(this.score(columns, rows));
  }

  scoreRows(values: Float64Array, rows: number, stride: number, first: number, out: Float64Array, at: number): void {
    const width = this.model.featureNames.length;
    if (first < 0 || first + width > stride || values.length < rows * stride || out.length < at + rows)
      throw new RangeError(`the scorer needs ${width} features in rows of ${stride} values`);
    const matrix = new Float64Array(rows * width);
    for (let r = 0; r < rows; r++)
      matrix.set(values.subarray(first + r * stride, first + r * stride + width), r * width);
    out.set(
      this.model.predictProba(createFeatureMatrix({ featureNames: this.model.featureNames, values: matrix })),
      at,
    );
  }
}

/**
 * Compiled forests of the models scored lately, by their JSON: a model scored again (every event
 * of a champion's time) reuses its generated functions, already compiled and optimised by V8
 * (the first rows a new compilation scores take about twice as long).
 */
const compiled = new Map<string, CompiledForest>();
const COMPILED_KEPT = 4;

/**
 * The fastest scorer of a model: compiled trees for a GBDT (columns by the branch-free SIMD forest
 * where it compiles, unless `simd` is false: the generated JavaScript alone, for comparisons), the
 * model itself otherwise.
 */
export function columnScorer(model: BinaryClassifier, { simd = true }: { simd?: boolean } = {}): ColumnScorer {
  const json = model.toJSON();
  if (json.kind !== 'gbdt') return new RowScorer(model);
  const key = `${simd ? 'simd' : 'js'}:${JSON.stringify(json)}`;
  let forest = compiled.get(key);
  if (forest) compiled.delete(key);
  else forest = CompiledForest.compile(json, simd);
  compiled.set(key, forest);
  if (compiled.size > COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
  return forest;
}

/** Rows per chunk of `predictMatrix` (a chunk of the scoring threads). */
const MATRIX_CHUNK = 2048;

/**
 * A model's probabilities on a row-major matrix of its features, the same bits as its own
 * `predictProba`: a GBDT by its compiled forest, a chunk of columns at a time split over the scoring
 * threads (the holdout scored by evaluate and judged by register).
 */
export function predictMatrix(model: BinaryClassifier, matrix: FeatureMatrix): Float64Array {
  if (model.kind !== 'gbdt') return model.predictProba(matrix);
  assertSameFeatures(model.featureNames, matrix);
  const scorer = columnScorer(model);
  const { nRows, nFeatures, values } = matrix;
  const index = scorer.features.map((name) => matrix.featureNames.indexOf(name));
  const columns = index.map(() => new Float64Array(MATRIX_CHUNK));
  const out = new Float64Array(nRows);
  for (let start = 0; start < nRows; start += MATRIX_CHUNK) {
    const n = Math.min(MATRIX_CHUNK, nRows - start);
    for (let c = 0; c < index.length; c++) {
      const column = columns[c]!;
      for (let r = 0, at = start * nFeatures + index[c]!; r < n; r++, at += nFeatures) column[r] = values[at]!;
    }
    scorer.scoreInto(columns, n, out.subarray(start, start + n), 'when-faster');
  }
  return out;
}
