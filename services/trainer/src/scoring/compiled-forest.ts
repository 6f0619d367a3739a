/**
 * Batch scoring of a gradient-boosted tree model over feature columns, the layout the warehouse
 * returns them in (one Float64Array per feature, no per-row object or row-major copy).
 *
 * Each tree is padded to a complete binary tree of its depth: a leaf above the bottom becomes a
 * node whose two subtrees end in copies of that leaf, so every row takes exactly `depth` steps and
 * the next node is computed (`2n + 1 + right`) rather than looked up. Rows are scored a block at a
 * time, one tree after another, so a tree's few nodes stay in cache while the block walks it.
 * Comparisons (`x <= threshold` goes left, NaN goes right), the order of the sum (base score, then
 * the trees in order) and the sigmoid are those of the model's own `predictProba`, so the scores
 * are the same to the last bit. Only the features some tree splits on are read.
 */
import type { BinaryClassifier, GbdtModelJson } from '../ml/index.js';
import { createFeatureMatrix } from '../ml/index.js';

const BLOCK = 1024;

function sigmoid(margin: number): number {
  return margin >= 0 ? 1 / (1 + Math.exp(-margin)) : Math.exp(margin) / (1 + Math.exp(margin));
}

/** A model ready to score feature columns. */
export interface ColumnScorer {
  /** The columns `score` needs, in the order it takes them. */
  readonly features: readonly string[];
  /** Churn probabilities of `rows` rows, given `features` as columns. */
  score(columns: readonly Float64Array[], rows: number): Float64Array;
}

interface CompiledTree {
  depth: number;
  /** Offset of the tree's nodes (2^depth - 1 of them) and of its leaves (2^depth). */
  nodes: number;
  leaves: number;
}

/** A GBDT model compiled into padded, level-ordered arrays. */
class CompiledForest implements ColumnScorer {
  private constructor(
    readonly features: readonly string[],
    private readonly baseScore: number,
    private readonly trees: readonly CompiledTree[],
    private readonly slot: Int32Array,
    private readonly threshold: Float64Array,
    private readonly leaf: Float64Array,
  ) {}

  static compile(json: GbdtModelJson): CompiledForest {
    // Features in first-use order, so the columns read are only the ones that matter.
    const used = new Map<number, number>();
    const trees: CompiledTree[] = [];
    const slot: number[] = [];
    const threshold: number[] = [];
    const leaf: number[] = [];
    for (const tree of json.trees) {
      const depthOf = (node: number): number =>
        tree.feature[node]! < 0 ? 0 : 1 + Math.max(depthOf(tree.left[node]!), depthOf(tree.right[node]!));
      const depth = depthOf(0);
      const compiled: CompiledTree = { depth, nodes: slot.length, leaves: leaf.length };
      const width = 2 ** depth;
      for (let i = 0; i < width - 1; i++) {
        slot.push(0);
        threshold.push(0);
      }
      for (let i = 0; i < width; i++) leaf.push(0);
      // Walk the tree, writing each node at its position in the complete tree.
      const place = (node: number, position: number, level: number): void => {
        const feature = tree.feature[node]!;
        if (feature < 0) {
          // A leaf at `level`: every bottom position under it holds its value.
          const span = 2 ** (depth - level);
          const first = (position + 1) * span - 1 - (width - 1);
          for (let k = 0; k < span; k++) leaf[compiled.leaves + first + k] = tree.value[node]!;
          return;
        }
        if (!used.has(feature)) used.set(feature, used.size);
        slot[compiled.nodes + position] = used.get(feature)!;
        threshold[compiled.nodes + position] = tree.threshold[node]!;
        place(tree.left[node]!, 2 * position + 1, level + 1);
        place(tree.right[node]!, 2 * position + 2, level + 1);
      };
      place(0, 0, 0);
      trees.push(compiled);
    }
    const features = [...used.entries()].sort((a, b) => a[1] - b[1]).map(([feature]) => json.featureNames[feature]!);
    return new CompiledForest(
      features,
      json.baseScore,
      trees,
      Int32Array.from(slot),
      Float64Array.from(threshold),
      Float64Array.from(leaf),
    );
  }

  score(columns: readonly Float64Array[], rows: number): Float64Array {
    const out = new Float64Array(rows);
    const index = new Int32Array(BLOCK);
    const { slot, threshold, leaf, trees, baseScore } = this;
    for (let start = 0; start < rows; start += BLOCK) {
      const n = Math.min(BLOCK, rows - start);
      out.fill(baseScore, start, start + n);
      for (const tree of trees) {
        index.fill(0, 0, n);
        const nodes = tree.nodes;
        for (let level = 0; level < tree.depth; level++) {
          for (let r = 0; r < n; r++) {
            const position = index[r]!;
            const node = nodes + position;
            const x = columns[slot[node]!]![start + r]!;
            index[r] = 2 * position + (x <= threshold[node]! ? 1 : 2);
          }
        }
        const leaves = tree.leaves - (2 ** tree.depth - 1);
        for (let r = 0; r < n; r++) out[start + r]! += leaf[leaves + index[r]!]!;
      }
      for (let r = start; r < start + n; r++) out[r] = sigmoid(out[r]!);
    }
    return out;
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
}

/** The fastest scorer of a model: compiled trees for a GBDT, the model itself otherwise. */
export function columnScorer(model: BinaryClassifier): ColumnScorer {
  const json = model.toJSON();
  return json.kind === 'gbdt' ? CompiledForest.compile(json) : new RowScorer(model);
}
