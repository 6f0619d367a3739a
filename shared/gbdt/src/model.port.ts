import type { Dataset, FeatureMatrix } from './dataset.js';

/** The model families the trainer knows. */
export const MODEL_KINDS = ['gbdt', 'logreg'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** A feature's share of a model's decisions. */
export interface FeatureImportance {
  feature: string;
  /** Total loss reduction of the splits on this feature (GBDT), or |standardised coefficient| (logreg). */
  gain: number;
  /** Number of splits on this feature (GBDT); 1 for a non-zero coefficient, else 0 (logreg). */
  splits: number;
}

/** A fitted binary classifier: what evaluate, register and batch predict work with. */
export interface BinaryClassifier {
  readonly kind: ModelKind;
  /** The features the model was trained on, in order; predict checks them by name. */
  readonly featureNames: readonly string[];
  /** Probability of the positive class (churn) for every row. */
  predictProba(matrix: FeatureMatrix): Float64Array;
  /** Probability of the positive class for one row of raw values in `featureNames` order. */
  predictRow(row: ArrayLike<number>): number;
  featureImportance(): FeatureImportance[];
  /** Plain JSON (no NaN or Infinity) from which `loadModel` rebuilds an identical model. */
  toJSON(): ModelJson;
}

/** An unfitted model: hyper-parameters plus a deterministic fit. */
export interface ModelTrainer {
  readonly kind: ModelKind;
  /** Resolved hyper-parameters (defaults filled in). */
  readonly params: Readonly<Record<string, number>>;
  fit(data: Dataset): BinaryClassifier;
}

/** A serialized GBDT tree: parallel arrays indexed by node id; node 0 is the root. */
export interface TreeJson {
  /** Split feature index, or -1 for a leaf. */
  feature: number[];
  /** Raw-value threshold: `x <= threshold` goes left. 0 for leaves. */
  threshold: number[];
  left: number[];
  right: number[];
  /** Leaf margin contribution (learning rate applied); 0 for internal nodes. */
  value: number[];
  /** Loss reduction of the split; 0 for leaves. */
  gain: number[];
  /** Sum of hessians of the training rows that reached the node. */
  cover: number[];
}

export interface GbdtModelJson {
  format: 'mlops.gbdt.v1';
  kind: 'gbdt';
  featureNames: string[];
  params: Record<string, number>;
  /** Starting margin: the log-odds of the weighted positive rate of the training set. */
  baseScore: number;
  trees: TreeJson[];
}

export interface LogisticModelJson {
  format: 'mlops.logreg.v1';
  kind: 'logreg';
  featureNames: string[];
  params: Record<string, number>;
  /** Per-feature mean and standard deviation used to standardise inputs. */
  means: number[];
  scales: number[];
  /** Coefficients on standardised features, and the intercept. */
  coefficients: number[];
  intercept: number;
  iterations: number;
}

export type ModelJson = GbdtModelJson | LogisticModelJson;
