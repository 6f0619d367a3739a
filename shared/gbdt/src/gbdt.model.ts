import { type FeatureMatrix, assertSameFeatures } from './dataset.js';
import { TRAINER_ERROR_CODES as CODES, TrainerError } from './errors.js';
import type { BinaryClassifier, FeatureImportance, GbdtModelJson, TreeJson } from './model.port.js';
import { asFeatureNames, asFinite, asFiniteArray, asParams, asRecord, invalidJson, sigmoid } from './model.json.js';

/**
 * A fitted gradient-boosted tree ensemble. Thresholds are raw feature values, so it predicts on
 * un-binned data. Trees are flattened into typed arrays once, for a tight batch-predict loop.
 */
export class GbdtModel implements BinaryClassifier {
  readonly kind = 'gbdt' as const;
  readonly featureNames: readonly string[];
  readonly params: Readonly<Record<string, number>>;
  readonly baseScore: number;
  readonly trees: readonly TreeJson[];
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Float64Array;

  constructor(
    featureNames: readonly string[],
    params: Readonly<Record<string, number>>,
    baseScore: number,
    trees: readonly TreeJson[],
  ) {
    this.featureNames = Object.freeze([...featureNames]);
    this.params = Object.freeze({ ...params });
    this.baseScore = baseScore;
    this.trees = trees;
    const total = trees.reduce((sum, tree) => sum + tree.feature.length, 0);
    this.roots = new Int32Array(trees.length);
    this.feature = new Int32Array(total);
    this.threshold = new Float64Array(total);
    this.left = new Int32Array(total);
    this.right = new Int32Array(total);
    this.value = new Float64Array(total);
    let offset = 0;
    trees.forEach((tree, t) => {
      this.roots[t] = offset;
      for (let i = 0; i < tree.feature.length; i++) {
        const f = tree.feature[i] as number;
        this.feature[offset + i] = f;
        this.threshold[offset + i] = tree.threshold[i] as number;
        this.left[offset + i] = f < 0 ? -1 : offset + (tree.left[i] as number);
        this.right[offset + i] = f < 0 ? -1 : offset + (tree.right[i] as number);
        this.value[offset + i] = tree.value[i] as number;
      }
      offset += tree.feature.length;
    });
  }

  /** Margins (log-odds) for every row of a matrix with the model's features. */
  predictMargin(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.featureNames, matrix);
    const { nRows, nFeatures, values } = matrix;
    const out = new Float64Array(nRows);
    const { roots, feature, threshold, left, right, value } = this;
    const nTrees = roots.length;
    for (let r = 0; r < nRows; r++) {
      const base = r * nFeatures;
      let s = this.baseScore;
      for (let t = 0; t < nTrees; t++) {
        let node = roots[t]!;
        let f = feature[node]!;
        while (f >= 0) {
          node = values[base + f]! <= threshold[node]! ? left[node]! : right[node]!;
          f = feature[node]!;
        }
        s += value[node]!;
      }
      out[r] = s;
    }
    return out;
  }

  predictProba(matrix: FeatureMatrix): Float64Array {
    const out = this.predictMargin(matrix);
    for (let r = 0; r < out.length; r++) out[r] = sigmoid(out[r]!);
    return out;
  }

  predictRow(row: ArrayLike<number>): number {
    if (row.length !== this.featureNames.length) {
      throw new TrainerError(
        CODES.FEATURE_MISMATCH,
        `a row has ${row.length} values; the model expects ${this.featureNames.length}`,
      );
    }
    let s = this.baseScore;
    for (let t = 0; t < this.roots.length; t++) {
      let node = this.roots[t]!;
      while (this.feature[node]! >= 0) {
        node = row[this.feature[node]!]! <= this.threshold[node]! ? this.left[node]! : this.right[node]!;
      }
      s += this.value[node]!;
    }
    return sigmoid(s);
  }

  /** Total gain and split count per feature, by decreasing gain (XGBoost's `total_gain`, `weight`). */
  featureImportance(): FeatureImportance[] {
    const gain = new Float64Array(this.featureNames.length);
    const splits = new Float64Array(this.featureNames.length);
    for (const tree of this.trees) {
      for (let i = 0; i < tree.feature.length; i++) {
        const f = tree.feature[i] as number;
        if (f < 0) continue;
        gain[f]! += tree.gain[i] as number;
        splits[f]! += 1;
      }
    }
    return this.featureNames
      .map((feature, f) => ({ feature, gain: gain[f]!, splits: splits[f]! }))
      .sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
  }

  toJSON(): GbdtModelJson {
    return {
      format: 'mlops.gbdt.v1',
      kind: 'gbdt',
      featureNames: [...this.featureNames],
      params: { ...this.params },
      baseScore: this.baseScore,
      trees: this.trees.map((tree) => ({
        feature: [...tree.feature],
        threshold: [...tree.threshold],
        left: [...tree.left],
        right: [...tree.right],
        value: [...tree.value],
        gain: [...tree.gain],
        cover: [...tree.cover],
      })),
    };
  }

  /** Rebuild a model from `toJSON` output; throws `TRAINER.INVALID_MODEL_JSON` on anything malformed. */
  static fromJSON(json: unknown): GbdtModel {
    const record = asRecord(json, 'the model');
    if (record.format !== 'mlops.gbdt.v1')
      throw invalidJson(`format ${JSON.stringify(record.format)} is not mlops.gbdt.v1`);
    const featureNames = asFeatureNames(record.featureNames);
    const params = asParams(record.params);
    const baseScore = asFinite(record.baseScore, 'baseScore');
    if (!Array.isArray(record.trees)) throw invalidJson('trees is not an array');
    const trees = record.trees.map((raw, t) => readTree(raw, t, featureNames.length));
    return new GbdtModel(featureNames, params, baseScore, trees);
  }
}

function readTree(raw: unknown, t: number, nFeatures: number): TreeJson {
  const tree = asRecord(raw, `trees[${t}]`);
  const feature = asFiniteArray(tree.feature, `trees[${t}].feature`);
  const n = feature.length;
  if (n === 0) throw invalidJson(`trees[${t}] has no nodes`);
  const out: TreeJson = {
    feature,
    threshold: asFiniteArray(tree.threshold, `trees[${t}].threshold`, n),
    left: asFiniteArray(tree.left, `trees[${t}].left`, n),
    right: asFiniteArray(tree.right, `trees[${t}].right`, n),
    value: asFiniteArray(tree.value, `trees[${t}].value`, n),
    gain: asFiniteArray(tree.gain, `trees[${t}].gain`, n),
    cover: asFiniteArray(tree.cover, `trees[${t}].cover`, n),
  };
  for (let i = 0; i < n; i++) {
    const f = feature[i] as number;
    if (!Number.isInteger(f) || f < -1 || f >= nFeatures)
      throw invalidJson(`trees[${t}] node ${i} splits on unknown feature ${f}`);
    if (f < 0) continue;
    // Children come after their parent, which rules out cycles and so infinite walks.
    for (const child of [out.left[i] as number, out.right[i] as number]) {
      if (!Number.isInteger(child) || child <= i || child >= n)
        throw invalidJson(`trees[${t}] node ${i} has a bad child index ${child}`);
    }
  }
  return out;
}
