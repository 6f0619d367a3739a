/**
 * One fit of our GBDT on a matrix file, in a process of its own (train.bench.ts runs it once per
 * repeat): read the matrix, fit on the train rows, score the holdout rows, print one JSON line.
 * Imports only the ML core, so the process's peak RSS is that of the fit and its data.
 *
 *   node --conditions=@mlops/source --import tsx bench/train/ours.fit.ts MATRIX '{"nTrees":200,...}' [--check-factory]
 */
import { pathToFileURL } from 'node:url';
import {
  type Dataset,
  createDataset,
  createModel,
  fitGbdtProfiled,
  rocAuc,
} from '../../services/trainer/src/ml/index.js';
import { type MatrixFile, readMatrix } from './matrix.js';

export interface OurFit {
  fitSeconds: number;
  holdoutAuc: number;
  peakRssMb: number;
  trainRows: number;
  holdoutRows: number;
  features: number;
  profile: Record<string, number>;
}

/** Train and holdout datasets from a matrix file's split column. */
export function splitMatrix(matrix: MatrixFile): { train: Dataset; holdout: Dataset } {
  const part = (flag: number): Dataset => {
    let count = 0;
    for (let r = 0; r < matrix.nRows; r++) if (matrix.split[r] === flag) count++;
    const values =
      matrix.values instanceof Float64Array
        ? new Float64Array(count * matrix.nFeatures)
        : new Float32Array(count * matrix.nFeatures);
    const labels = new Uint8Array(count);
    for (let r = 0, i = 0; r < matrix.nRows; r++) {
      if (matrix.split[r] !== flag) continue;
      values.set(matrix.values.subarray(r * matrix.nFeatures, (r + 1) * matrix.nFeatures), i * matrix.nFeatures);
      labels[i++] = matrix.labels[r]!;
    }
    return createDataset({ featureNames: matrix.featureNames, values, labels });
  };
  return { train: part(0), holdout: part(1) };
}

/** Fit once and score; with `checkFactory`, also check that `createModel('gbdt')` gives the same model. */
export function fitOnce(matrixPath: string, params: Readonly<Record<string, number>>, checkFactory: boolean): OurFit {
  const matrix = readMatrix(matrixPath);
  const { train, holdout } = splitMatrix(matrix);
  const started = performance.now();
  const fitted = fitGbdtProfiled(train, params);
  const fitSeconds = (performance.now() - started) / 1000;
  const holdoutAuc = rocAuc(holdout.labels, fitted.model.predictProba(holdout));
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  if (checkFactory) {
    const factoryAuc = rocAuc(holdout.labels, createModel('gbdt', params).fit(train).predictProba(holdout));
    if (factoryAuc !== holdoutAuc)
      throw new Error(`createModel('gbdt') gave AUC ${factoryAuc}, fitGbdtProfiled gave ${holdoutAuc}`);
  }
  return {
    fitSeconds,
    holdoutAuc,
    peakRssMb,
    trainRows: train.nRows,
    holdoutRows: holdout.nRows,
    features: matrix.nFeatures,
    profile: { ...fitted.profile },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [matrixPath, params] = process.argv.slice(2);
  console.log(
    JSON.stringify(
      fitOnce(
        matrixPath!,
        JSON.parse(params ?? '{}') as Record<string, number>,
        process.argv.includes('--check-factory'),
      ),
    ),
  );
}
