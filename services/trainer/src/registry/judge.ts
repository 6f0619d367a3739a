/**
 * The champion/challenger comparison behind a decision: both models score the same rows (the
 * active customers of the challenger's holdout) and the difference of their ROC AUC is
 * bootstrapped by customer with a fixed seed.
 *
 * The champion is represented by the model its own holdout measured (`holdout-model.json`, fitted
 * on its train part), not by its refit: the refit learned from the champion's holdout weeks, which
 * can be the very weeks the challenger is judged on. The holdout models of both were fitted on
 * data that ends an embargo before these rows, so neither has seen them.
 */
import type { DocumentValue, ModelVersion, ObjectStore } from '@mlops/kernel';
import type { DatasetPart } from '../data/dataset.artifact.js';
import { expectedCalibrationError, rankingMetrics } from '../data/slices.js';
import { TrainerErrors } from '../errors.js';
import { assertSameFeatures, loadModel, logLoss, rocAuc, type BinaryClassifier } from '../ml/index.js';
import { predictMatrix } from '../scoring/compiled-forest.js';
import { pairedAucDifference, type BootstrapInterval } from './bootstrap.js';
import { decidePromotion, type ModelEvidence, type PromotionDecision } from './promotion.js';

/** Resamples, seed and coverage of the paired bootstrap: fixed, so a decision can be reproduced. */
export const BOOTSTRAP = { resamples: 1000, seed: 20_260_101, level: 0.95 } as const;

/** Load a model file of the lake (a registered version's artifact or holdout model). */
export async function loadLakeModel(objects: ObjectStore, version: string, uri: string): Promise<BinaryClassifier> {
  let bytes: Buffer;
  try {
    bytes = await objects.get(uri);
  } catch (error) {
    throw TrainerErrors.championArtifactMissing(version, uri, error);
  }
  return loadModel(JSON.parse(bytes.toString('utf8')));
}

/** A model's figures on some rows. */
export function evidenceOf(labels: Uint8Array, probabilities: Float64Array): ModelEvidence {
  // Log loss validates the rows first; the ranking metrics need both classes (rocAuc says why not).
  const loss = logLoss(labels, probabilities);
  const positives = labels.reduce((sum, y) => sum + y, 0);
  return {
    rocAuc:
      positives > 0 && positives < labels.length
        ? rankingMetrics(labels, probabilities).rocAuc
        : rocAuc(labels, probabilities),
    logLoss: loss,
    ece: expectedCalibrationError(labels, probabilities),
  };
}

/** The champion's holdout model (its refit for versions registered before holdout models were kept). */
async function championHoldoutModel(objects: ObjectStore, champion: ModelVersion): Promise<BinaryClassifier> {
  const uri = champion.lineage?.artifact.holdoutModelUri ?? champion.artifactUri;
  return loadLakeModel(objects, champion.version, uri);
}

/** A decision and the figures behind it. */
export interface Judgement {
  decision: PromotionDecision;
  championRocAuc: number | null;
  evidence: Record<string, DocumentValue>;
}

function figures(evidence: ModelEvidence | undefined): Record<string, DocumentValue> | null {
  return evidence ? { rocAuc: evidence.rocAuc, logLoss: evidence.logLoss, ece: evidence.ece } : null;
}

/** Judge the challenger (its holdout model) against the champion on the challenger's active holdout rows. */
export async function judgeChallenger(input: {
  objects: ObjectStore;
  challengerVersion: string;
  challengerDataTo: string;
  challenger: BinaryClassifier;
  baseline: BinaryClassifier;
  rows: DatasetPart;
  champion: ModelVersion | undefined;
}): Promise<Judgement> {
  const { rows, champion } = input;
  const labels = rows.data.labels;
  const challengerScores = predictMatrix(input.challenger, rows.data);
  const challenger = evidenceOf(labels, challengerScores);
  const baseline = evidenceOf(labels, input.baseline.predictProba(rows.data));
  let onHoldout: ModelEvidence | undefined;
  let difference: BootstrapInterval | undefined;
  if (champion && champion.version !== input.challengerVersion) {
    const model = await championHoldoutModel(input.objects, champion);
    let scorable = true;
    try {
      assertSameFeatures(model.featureNames, rows.data);
    } catch {
      scorable = false;
    }
    if (scorable) {
      const championScores = predictMatrix(model, rows.data);
      onHoldout = evidenceOf(labels, championScores);
      difference = pairedAucDifference({
        labels,
        challenger: challengerScores,
        champion: championScores,
        clusters: rows.facts.customer,
        ...BOOTSTRAP,
      });
    }
  }
  const decision = decidePromotion({
    challengerVersion: input.challengerVersion,
    challengerDataTo: input.challengerDataTo,
    challenger,
    baseline,
    ...(champion ? { champion: { version: champion.version, dataTo: champion.dataRange.to, onHoldout } } : {}),
    ...(difference ? { difference } : {}),
  });
  const positives = labels.reduce((sum, y) => sum + y, 0);
  return {
    decision,
    championRocAuc: onHoldout?.rocAuc ?? null,
    evidence: {
      slice: 'active',
      rows: labels.length,
      positives,
      customers: difference?.clusters ?? new Set(rows.facts.customer).size,
      challenger: figures(challenger),
      champion: figures(onHoldout),
      baseline: figures(baseline),
      difference: difference
        ? {
            rocAuc: difference.estimate,
            low: difference.low,
            high: difference.high,
            level: difference.level,
            resamples: difference.resamples,
            seed: difference.seed,
            unit: 'customer',
          }
        : null,
      championModel: onHoldout ? 'its holdout model (fitted on its train part)' : null,
    },
  };
}
