/**
 * `register`: store the models in the lake (`mlops/models/<name>/<version>/`: the refit that
 * scores, the holdout model that was measured, the baseline, the metrics), record the version with
 * its lineage in the registry (idempotent: the version is derived from the fingerprint, so
 * registering the same data and parameters again changes nothing), judge the challenger against
 * the champion on the same rows (`registry/judge.ts`, `registry/promotion.ts`), record the
 * decision whatever it is, and promote when it says so.
 */
import { type ModelVersion, type ObjectStore, ModelRegistry } from '@mlops/kernel';
import { activePart, decodeDataset } from '../data/dataset.artifact.js';
import type { SliceMetrics } from '../data/slices.js';
import { loadModel, type BinaryClassifier } from '../ml/index.js';
import { modelKey, versionFingerprint } from '../registry/artifacts.js';
import { championAt } from '../registry/champion-at.js';
import { judgeChallenger, loadLakeModel } from '../registry/judge.js';
import { defineComponent, type JsonValue } from './component.js';
import { POPULATION_SLICE, type MetricsArtifact } from './evaluate.component.js';

/** Load a registered version's model (the artifact that scores) from the lake. */
export function loadRegisteredModel(
  objects: ObjectStore,
  version: Pick<ModelVersion, 'version' | 'artifactUri'>,
): Promise<BinaryClassifier> {
  return loadLakeModel(objects, version.version, version.artifactUri);
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

function headline(metrics: SliceMetrics): ModelVersion['metrics'] {
  return {
    rocAuc: metrics.rocAuc ?? 0.5,
    prAuc: metrics.prAuc ?? 0,
    logLoss: metrics.logLoss,
    calibration: metrics.calibration,
  };
}

function flatSampling(sampling: Record<string, JsonValue>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [key, value] of Object.entries(sampling))
    if (typeof value === 'number' || typeof value === 'string') out[key] = value;
  return out;
}

export const registerComponent = defineComponent({
  name: 'register',
  description:
    'Register the version with its lineage (idempotent by fingerprint), judge it against the champion on the same rows, record the decision and promote when it wins.',
  io: {
    parameters: {
      model_name: { type: 'STRING', description: 'Registry name of the model (churn).' },
      code_version: { type: 'STRING', description: 'Version of the trainer code.' },
      created_at: {
        type: 'STRING',
        description: 'Time of the triggering event (RFC 3339): the version, decision and promotion times.',
      },
      run_id: { type: 'STRING', description: 'Run id (`runid`) of the triggering event.' },
      event_id: { type: 'STRING', description: 'Id of the triggering event.' },
      trigger: { type: 'STRING', description: 'Why the run trains (asked, backfill-end, schedule, no-champion).' },
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
      sampling: { type: 'STRUCT', description: 'From features: the sampling as applied.' },
      refit_rows: { type: 'NUMBER_INTEGER', description: 'From refit.' },
    },
    artifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set (its holdout judges the challenger).' },
      holdout_model: { type: 'system.Model', description: 'The challenger fitted on the train part (measured).' },
      model: { type: 'system.Model', description: 'The challenger refitted on train + holdout (registered).' },
      baseline: { type: 'system.Model', description: 'The baseline.' },
      metrics: { type: 'system.Metrics', description: 'Holdout metrics from evaluate.' },
    },
    outputParameters: {
      version: { type: 'STRING', description: 'Registry version of the challenger.' },
      fingerprint: { type: 'STRING', description: 'SHA-256 of data, parameters and code version.' },
      artifact_uri: { type: 'STRING', description: 'Lake key of the challenger model (the refit).' },
      newly_registered: { type: 'BOOLEAN', description: 'False when the same version was registered before.' },
      promoted: {
        type: 'BOOLEAN',
        description: 'Whether this run (this triggering event, delivered once or again) made the challenger champion.',
      },
      first_champion: {
        type: 'BOOLEAN',
        description: 'Whether this promotion made the first champion of the model (no champion before it).',
      },
      champion_version: {
        type: 'STRING',
        description: 'The champion as of created_at, after this step (empty when there is none).',
      },
      decision: { type: 'STRUCT', description: 'The decision and its evidence (also recorded in the registry).' },
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
    // Where the step's time goes (the log line carries it): the year's register took 28 s, which
    // the same step at smaller sizes does not explain.
    const spans = { filesMs: 0, rowsMs: 0, registryMs: 0, judgeMs: 0 };
    let mark = performance.now();
    const lap = (span: keyof typeof spans): void => {
      const now = performance.now();
      spans[span] += Math.round(now - mark);
      mark = now;
    };
    const holdoutModelBytes = await artifacts.holdout_model.read();
    const baselineBytes = await artifacts.baseline.read();
    const metrics = JSON.parse((await artifacts.metrics.read()).toString('utf8')) as MetricsArtifact;
    const artifactUri = modelKey(params.model_name, version, 'model.json');
    const holdoutModelUri = modelKey(params.model_name, version, 'holdout-model.json');
    // Files first, then the registry entry: a version in the registry always has its files.
    const json = { contentType: 'application/json' };
    await deps.objects.put(artifactUri, await artifacts.model.read(), json);
    await deps.objects.put(holdoutModelUri, holdoutModelBytes, json);
    await deps.objects.put(modelKey(params.model_name, version, 'baseline.json'), baselineBytes, json);
    await deps.objects.put(modelKey(params.model_name, version, 'metrics.json'), JSON.stringify(metrics), json);

    lap('filesMs');
    const set = decodeDataset(await artifacts.dataset.read(), artifacts.dataset.uri);
    lap('rowsMs');
    const population = metrics.challenger[POPULATION_SLICE]!;
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
      metrics: headline(population),
      baselineMetrics: headline(metrics.baseline[POPULATION_SLICE]!),
      sliceMetrics: metrics.challenger,
      baselineSliceMetrics: metrics.baseline,
      featureImportance: metrics.featureImportance.map((item) => ({
        feature: item.feature,
        gain: item.gain,
        splits: item.splits,
      })),
      codeVersion: params.code_version,
      artifactUri,
      lineage: {
        runId: params.run_id,
        eventId: params.event_id,
        trigger: params.trigger,
        rowsFingerprint: params.data_fingerprint,
        snapshots: {
          train: set.header.snapshots.filter((s) => s.split === 'train').map((s) => s.date),
          holdout: set.header.snapshots.filter((s) => s.split === 'holdout').map((s) => s.date),
        },
        sampling: flatSampling(params.sampling),
        features: [...set.header.featureNames],
        artifact: { kind: 'refit', rows: params.refit_rows, holdoutModelUri },
      },
    };
    const newlyRegistered = await registry.register(entry);
    lap('registryMs');

    const champion = await registry.champion(params.model_name);
    const key = {
      modelName: params.model_name,
      challengerVersion: version,
      decidedAt: params.created_at,
      eventId: params.event_id,
    };
    // The same triggering event, delivered again (or replayed): report what was decided then.
    let decision = await registry.decisionFor(key);
    lap('registryMs');
    if (!decision) {
      const rows = activePart(set, ['holdout']);
      lap('rowsMs');
      const judgement = await judgeChallenger({
        objects: deps.objects,
        challengerVersion: version,
        challengerDataTo: params.data_to,
        challenger: loadModel(JSON.parse(holdoutModelBytes.toString('utf8'))),
        baseline: loadModel(JSON.parse(baselineBytes.toString('utf8'))),
        rows,
        champion,
      });
      lap('judgeMs');
      decision = await registry.recordDecision({
        ...key,
        championVersion: champion?.version ?? null,
        promoted: judgement.decision.promote,
        reason: judgement.decision.reason,
        runId: params.run_id,
        evidence: judgement.evidence,
      });
    }
    // A crash between the decision and the promotion is finished by the redelivery.
    const promotedBefore = (await registry.promotions(params.model_name)).some(
      (promotion) => promotion.version === version && promotion.promotedAt === params.created_at,
    );
    if (decision.promoted && !promotedBefore) {
      const champ = decision.evidence.champion as { rocAuc?: number } | null;
      await registry.promote({
        modelName: params.model_name,
        version,
        previousChampion: decision.championVersion,
        promotedAt: params.created_at,
        reason: decision.reason,
        challengerRocAuc: population.rocAuc ?? 0.5,
        championRocAuc: champ?.rocAuc ?? null,
      });
    }
    // The champion as of this event (not "now"): a replayed old event scores with the model of its time.
    const championVersion = (await championAt(registry, params.model_name, params.created_at))?.version ?? '';
    lap('registryMs');
    deps.log.info(
      `register: ${version} ${newlyRegistered ? 'registered' : 'already registered'}; ${decision.promoted ? 'promoted' : 'not promoted'}: ${decision.reason} (files ${spans.filesMs} ms, rows ${spans.rowsMs} ms, registry ${spans.registryMs} ms, judge ${spans.judgeMs} ms)`,
      {
        version,
        promoted: decision.promoted,
        championVersion,
        ...spans,
      },
    );
    return {
      version,
      fingerprint,
      artifact_uri: artifactUri,
      newly_registered: newlyRegistered,
      promoted: decision.promoted,
      first_champion: decision.promoted && decision.championVersion === null,
      champion_version: championVersion,
      decision: {
        promoted: decision.promoted,
        reason: decision.reason,
        championVersion: decision.championVersion,
        evidence: decision.evidence as { [key: string]: JsonValue },
      },
    };
  },
});
