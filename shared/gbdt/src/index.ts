/**
 * `@mlops/gbdt`, the machine-learning core of the churn trainer: datasets, histogram
 * gradient-boosted trees (worker lanes, WebAssembly kernels), a logistic-regression baseline,
 * metrics and a model factory. TypeScript and WebAssembly on Node; no native dependency.
 */
export { TRAINER_ERROR_CODES, TrainerError, type TrainerErrorCode } from './errors.js';
export { createRandom, type Random } from './random.js';
export {
  type Dataset,
  type DatasetInput,
  type FeatureInput,
  type FeatureMatrix,
  type FeatureMatrixInput,
  type FeatureValues,
  assertSameFeatures,
  createDataset,
  createFeatureMatrix,
  selectRows,
} from './dataset.js';
export {
  type BinaryClassifier,
  type FeatureImportance,
  type GbdtModelJson,
  type LogisticModelJson,
  MODEL_KINDS,
  type ModelJson,
  type ModelKind,
  type ModelTrainer,
  type TreeJson,
} from './model.port.js';
export { type BinnedMatrix, MAX_BINS_LIMIT, binMatrix, binOf, computeCuts } from './histogram.binner.js';
export { GBDT_PARAM_SPECS, type GbdtParams, resolveGbdtParams } from './gbdt.params.js';
export { GbdtModel } from './gbdt.model.js';
export { type GbdtFitProfile, fitGbdt, fitGbdtProfiled, quantisationFor } from './gbdt.trainer.js';
export {
  LOGISTIC_PARAM_SPECS,
  LogisticModel,
  type LogisticParams,
  fitLogistic,
  resolveLogisticParams,
} from './logistic.model.js';
export {
  type BinaryMetrics,
  type CalibrationBin,
  LOG_LOSS_EPS,
  type ThresholdMetrics,
  averagePrecision,
  calibrationByDecile,
  evaluateBinary,
  logLoss,
  rocAuc,
  thresholdMetrics,
} from './metrics.js';
export { createModel, isModelKind, loadModel } from './model.factory.js';
export { gbdtCodeVersion, sourceCodeVersion } from './code-version.js';
export { bernoulli, syntheticDataset } from './synthetic.js';
