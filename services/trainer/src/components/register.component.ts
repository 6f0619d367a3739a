/**
 * `register`: store the models in the lake (`mlops/models/<name>/<version>/`), record the version
 * in the registry (idempotent: the version is derived from the fingerprint, so registering the same
 * data and parameters again changes nothing), and promote the challenger when it wins
 * (`registry/promotion.ts`), re-scoring the current champion on this run's holdout first.
 */
import type { ModelVersion, ObjectStore } from '@mlops/shared';
import { ModelRegistry } from '@mlops/shared';
import { decodeDataset } from '../data/dataset.artifact.js';
import { TrainerErrors } from '../errors.js';
import { assertSameFeatures, loadModel, rocAuc, type BinaryClassifier, type Dataset } from '../ml/index.js';
import { modelKey, versionFingerprint } from '../registry/artifacts.js';
import { championAt } from '../registry/champion-at.js';
import { decidePromotion } from '../registry/promotion.js';
import { defineComponent, type JsonValue } from './component.js';
import type { MetricsArtifact } from './evaluate.component.js';

/** Load a registered version's model from the lake. */
export async function loadRegisteredModel(
  objects: ObjectStore,
  version: Pick<ModelVersion, 'version' | 'artifactUri'>,
): Promise<BinaryClassifier> {
  let bytes: Buffer;
  try {
    bytes = await objects.get(version.artifactUri);
  } catch (error) {
    throw TrainerErrors.championArtifactMissing(version.version, version.artifactUri, error);
  }
  return loadModel(JSON.parse(bytes.toString('utf8')));
}

/** The champion's ROC AUC on a holdout, or undefined when its features are not the holdout's. */
function rescore(model: BinaryClassifier, holdout: Dataset): number | undefined {
  try {
    assertSameFeatures(model.featureNames, holdout);
  } catch {
    return undefined;
  }
  return rocAuc(holdout.labels, model.predictProba(holdout));
}

function flatParams(
  algorithm: string,
  params: Record<string, JsonValue>,
  baselineAlgorithm: string,
  baselineParams: Record<string, JsonValue>,
  horizonDays: number,
): ModelVersion['params'] {
  const out: ModelVersion['params'] = { algorithm, horizonDays, 'baseline.algorithm': baselineAlgorithm };
  for (const [key, value] of Object.entries(params))
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') out[key] = value;
  for (const [key, value] of Object.entries(baselineParams))
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
      out[`baseline.${key}`] = value;
  return out;
}

export const registerComponent = defineComponent({
  name: 'register',
  description:
    'Register the version (idempotent by fingerprint) and promote it when it beats the champion on the same holdout.',
  io: {
    parameters: {
      model_name: { type: 'STRING', description: 'Registry name of the model (churn).' },
      code_version: { type: 'STRING', description: 'Version of the trainer code.' },
      created_at: {
        type: 'STRING',
        description: 'Time of the triggering event (RFC 3339): the version and promotion times.',
      },
      algorithm: { type: 'STRING', description: 'Challenger algorithm.' },
      resolved_params: { type: 'STRUCT', description: 'Challenger hyper-parameters from train.' },
      baseline_algorithm: { type: 'STRING', description: 'Baseline algorithm.' },
      resolved_baseline_params: { type: 'STRUCT', description: 'Baseline hyper-parameters from train.' },
      horizon_days: { type: 'NUMBER_INTEGER', description: 'Label horizon.' },
      data_fingerprint: { type: 'STRING', description: 'From features.' },
      data_from: { type: 'STRING', description: 'From features.' },
      data_to: { type: 'STRING', description: 'From features.' },
      holdout_from: { type: 'STRING', description: 'From features.' },
      holdout_to: { type: 'STRING', description: 'From features.' },
      train_rows: { type: 'NUMBER_INTEGER', description: 'From features.' },
      holdout_rows: { type: 'NUMBER_INTEGER', description: 'From features.' },
    },
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set (its holdout re-scores the champion).' },
      model: { type: 'system.Model', description: 'The challenger.' },
      baseline: { type: 'system.Model', description: 'The baseline.' },
      metrics: { type: 'system.Metrics', description: 'Holdout metrics from evaluate.' },
    },
    outputParameters: {
      version: { type: 'STRING', description: 'Registry version of the challenger.' },
      fingerprint: { type: 'STRING', description: 'SHA-256 of data, parameters and code version.' },
      artifact_uri: { type: 'STRING', description: 'Lake key of the challenger model.' },
      newly_registered: { type: 'BOOLEAN', description: 'False when the same version was registered before.' },
      promoted: {
        type: 'BOOLEAN',
        description: 'Whether this run (this triggering event, delivered once or again) made the challenger champion.',
      },
      champion_version: {
        type: 'STRING',
        description: 'The champion as of created_at, after this step (empty when there is none).',
      },
      decision: { type: 'STRUCT', description: 'The promotion evidence: reason and ROC AUCs on the holdout.' },
    },
    outputArtifacts: {},
  },
  async run({ params, artifacts }, deps) {
    const registry = deps.registry;
    const fingerprint = versionFingerprint({
      dataFingerprint: params.data_fingerprint,
      algorithm: params.algorithm,
      params: params.resolved_params,
      baselineAlgorithm: params.baseline_algorithm,
      baselineParams: params.resolved_baseline_params,
      horizonDays: params.horizon_days,
      codeVersion: params.code_version,
    });
    const version = ModelRegistry.versionFor(fingerprint);
    const modelBytes = await artifacts.model.read();
    const metrics = JSON.parse((await artifacts.metrics.read()).toString('utf8')) as MetricsArtifact;
    const artifactUri = modelKey(params.model_name, version, 'model.json');
    // Files first, then the registry entry: a version in the registry always has its files.
    await deps.objects.put(artifactUri, modelBytes, { contentType: 'application/json' });
    await deps.objects.put(modelKey(params.model_name, version, 'baseline.json'), await artifacts.baseline.read(), {
      contentType: 'application/json',
    });
    await deps.objects.put(modelKey(params.model_name, version, 'metrics.json'), JSON.stringify(metrics), {
      contentType: 'application/json',
    });

    const entry: ModelVersion = {
      modelName: params.model_name,
      version,
      fingerprint,
      createdAt: params.created_at,
      algorithm: params.algorithm,
      dataRange: { from: params.data_from, to: params.data_to },
      dataFingerprint: params.data_fingerprint,
      trainingRows: params.train_rows,
      holdoutRows: params.holdout_rows,
      holdoutRange: { from: params.holdout_from, to: params.holdout_to },
      params: flatParams(
        params.algorithm,
        params.resolved_params,
        params.baseline_algorithm,
        params.resolved_baseline_params,
        params.horizon_days,
      ),
      metrics: {
        rocAuc: metrics.challenger.rocAuc,
        prAuc: metrics.challenger.prAuc,
        logLoss: metrics.challenger.logLoss,
        calibration: metrics.challenger.calibration,
      },
      baselineMetrics: {
        rocAuc: metrics.baseline.rocAuc,
        prAuc: metrics.baseline.prAuc,
        logLoss: metrics.baseline.logLoss,
        calibration: metrics.baseline.calibration,
      },
      featureImportance: metrics.featureImportance.map((item) => ({
        feature: item.feature,
        gain: item.gain,
        splits: item.splits,
      })),
      codeVersion: params.code_version,
      artifactUri,
    };
    const newlyRegistered = await registry.register(entry);

    const champion = await registry.champion(params.model_name);
    const history = await registry.promotions(params.model_name);
    const earlier = history.find(
      (promotion) => promotion.version === version && promotion.promotedAt === params.created_at,
    );
    let decision: { promote: boolean; reason: string };
    let championAuc: number | undefined;
    let previous = champion?.version ?? null;
    let promotedNow = false;
    if (earlier) {
      // The same triggering event, delivered again (or replayed): report the promotion it made.
      decision = { promote: true, reason: earlier.reason };
      championAuc = earlier.championRocAuc ?? undefined;
      previous = earlier.previousChampion;
    } else {
      if (champion && champion.version !== version) {
        const { holdout } = decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri);
        championAuc = rescore(await loadRegisteredModel(deps.objects, champion), holdout);
      }
      decision = decidePromotion({
        challengerVersion: version,
        challengerRocAuc: metrics.challenger.rocAuc,
        baselineRocAuc: metrics.baseline.rocAuc,
        challengerDataTo: params.data_to,
        ...(champion
          ? { champion: { version: champion.version, dataTo: champion.dataRange.to, rocAucOnHoldout: championAuc } }
          : {}),
      });
      promotedNow = decision.promote;
    }
    if (promotedNow) {
      await registry.promote({
        modelName: params.model_name,
        version,
        previousChampion: previous,
        promotedAt: params.created_at,
        reason: decision.reason,
        challengerRocAuc: metrics.challenger.rocAuc,
        championRocAuc: championAuc ?? null,
      });
    }
    // The champion as of this event (not "now"): a replayed old event scores with the model of its time.
    const championVersion = (await championAt(registry, params.model_name, params.created_at))?.version ?? '';
    deps.log.info(
      `register: ${version} ${newlyRegistered ? 'registered' : 'already registered'}; ${decision.promote ? 'promoted' : 'not promoted'}: ${decision.reason}`,
      {
        version,
        promoted: decision.promote,
        championVersion,
      },
    );
    return {
      version,
      fingerprint,
      artifact_uri: artifactUri,
      newly_registered: newlyRegistered,
      promoted: decision.promote,
      champion_version: championVersion,
      decision: {
        reason: decision.reason,
        challengerRocAuc: metrics.challenger.rocAuc,
        baselineRocAuc: metrics.baseline.rocAuc,
        championRocAuc: championAuc ?? null,
        previousChampion: previous,
      },
    };
  },
});
