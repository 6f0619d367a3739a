/**
 * The trainer's reactions with a fake pipeline runner (the gcp wiring): which pipeline runs for
 * which event, with which parameters, and what is published. The pipelines themselves run on a
 * real warehouse in the integration tests.
 */
import { describe, expect, it } from 'vitest';
import { ModelRegistry, PermanentError, type WarehouseReady } from '@mlops/kernel';
import {
  unusedWarehouse,
  InMemoryDocumentStore,
  InMemoryObjectStore,
  RecordingPublisher,
  deliver,
  testEvent,
} from '@mlops/testing';
import { createTrainerService } from '../src/index.js';
import type { RawRunResult } from '../src/pipeline/runner.port.js';
import { servingContainer } from '../src/serving/serving.container.js';
import { FINGERPRINT, FakeRunner, VERSION } from './fixtures/fake-pipeline-runner.js';

function setup() {
  const documents = new InMemoryDocumentStore();
  const registry = new ModelRegistry(documents);
  const runner = new FakeRunner(registry);
  const uploads: string[] = [];
  const service = createTrainerService({
    warehouse: unusedWarehouse('the gcp path never opens the warehouse'),
    objects: new InMemoryObjectStore(),
    documents,
    registry,
    settings: { codeVersion: 'test' },
    serving: servingContainer('europe-west1-docker.pkg.dev/p/mlops/platform:abc'),
    runner,
    vertex: {
      uploadChampion: async (entry) => {
        uploads.push(entry.version);
        return `projects/p/locations/r/models/mlops-churn@${uploads.length}`;
      },
    },
  });
  return { documents, registry, runner, uploads, service };
}

function ready(runDates: string[], extra: Partial<WarehouseReady> = {}, id?: string) {
  const data: WarehouseReady = {
    runDates: runDates as [string, ...string[]],
    tables: [],
    quarantine: [],
    assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
    engine: 'bigquery',
    durationMs: 10,
    ...extra,
  };
  return testEvent('mlops.warehouse.ready.v1', data, runDates.at(-1)!, id ? { id } : {});
}

describe('trainer service', () => {
  it('trains on the last date of a backfill, uploads the new champion and publishes model.trained and predictions.ready', async () => {
    const { service, runner, uploads, registry } = setup();
    const event = ready(['2026-01-30', '2026-01-31'], { backfill: { from: '2025-11-01', to: '2026-01-31' } });
    const published = await deliver(service, event);
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual(['mlops-churn-training']);
    const parameters = runner.runs[0]!.parameters;
    expect(parameters).toMatchObject({
      as_of: '2026-01-31',
      created_at: event.time,
      predicted_at: event.time,
      snapshot_dates: ['2026-01-30', '2026-01-31'],
      horizon_days: 30,
      algorithm: 'gbdt',
      baseline_algorithm: 'logreg',
      excluded_dates: [],
      embargo_days: 30,
      warmup_days: 90,
      run_id: event.runid,
      event_id: event.id,
      trigger: 'backfill-end',
    });
    expect(runner.runs[0]!.runKey).toMatch(/^churn-train-[0-9a-f]{24}-a1$/);
    expect(runner.runs[0]!.labels).toMatchObject({ run_id: event.runid.toLowerCase(), trigger: 'backfill-end' });
    expect(uploads).toEqual([VERSION]);
    expect((await registry.get('churn', VERSION))?.vertexModel).toBe('projects/p/locations/r/models/mlops-churn@1');
    expect((await registry.get('churn', VERSION))?.serving).toEqual({
      imageUri: 'europe-west1-docker.pkg.dev/p/mlops/platform:abc',
      command: ['node', 'services/trainer/dist/serving/main.js'],
      ports: [{ containerPort: 8080 }],
      healthRoute: '/health',
      predictRoute: '/predict',
    });
    const [trained] = published.ofType('mlops.model.trained.v1');
    expect(trained?.data).toMatchObject({
      modelName: 'churn',
      version: VERSION,
      fingerprint: FINGERPRINT,
      promoted: true,
      championVersion: VERSION,
      metrics: { rocAuc: 0.81 },
      baselineMetrics: { rocAuc: 0.76 },
      pipelineJob: expect.stringContaining('pipelineJobs/churn-train-'),
    });
    expect(
      published
        .ofType('mlops.predictions.ready.v1')
        .map((e) => [e.data.snapshotDate, e.data.modelVersion, e.data.table, e.data.rows]),
    ).toEqual([
      ['2026-01-30', VERSION, 'warehouse.fact_predictions_churn', 10],
      ['2026-01-31', VERSION, 'warehouse.fact_predictions_churn', 10],
    ]);
  });

  it('trains again when a late date closes the window: as of its last date, scoring the dates the late one changed', async () => {
    const { service, runner } = setup();
    const backfill = { from: '2025-11-01', to: '2026-01-31' };
    // The window's last date was built while 2026-01-10 was still landing.
    await deliver(service, ready(['2026-01-30', '2026-01-31'], { backfill, closesBackfill: true }));
    const late = ready(['2026-01-10'], {
      backfill,
      closesBackfill: true,
      affectedDates: ['2026-01-11', '2026-01-30', '2026-01-31'],
    });
    await deliver(service, late);
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual(['mlops-churn-training', 'mlops-churn-training']);
    expect(runner.runs[1]!.parameters).toMatchObject({
      as_of: '2026-01-31',
      trigger: 'backfill-end',
      snapshot_dates: ['2026-01-10', '2026-01-11', '2026-01-30', '2026-01-31'],
      event_id: late.id,
    });
  });

  it('scores the later dates a late date changed when it only predicts', async () => {
    const { service, runner } = setup();
    await deliver(service, ready(['2026-01-31']));
    await deliver(service, ready(['2026-01-20'], { affectedDates: ['2026-01-21', '2026-01-31'] }));
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual(['mlops-churn-training', 'mlops-churn-batch-predict']);
    expect(runner.runs[1]!.parameters).toMatchObject({
      snapshot_dates: ['2026-01-20', '2026-01-21', '2026-01-31'],
    });
  });

  it('does not train while a backfill is still running, predicts nothing without a champion, and closes the run with why', async () => {
    const { service, runner } = setup();
    const event = ready(['2026-01-09', '2026-01-10'], { backfill: { from: '2025-11-01', to: '2026-01-31' } });
    const published = await deliver(service, event);
    expect(runner.runs).toEqual([]);
    expect(published.events.map((e) => e.type)).toEqual(['mlops.stage.skipped.v1']);
    expect(published.ofType('mlops.stage.skipped.v1')[0]).toMatchObject({
      runid: event.runid,
      causationid: event.id,
      data: {
        stage: 'trainer',
        code: 'TRAINER.NO_CHAMPION',
        runDates: ['2026-01-09', '2026-01-10'],
        causeEventId: event.id,
        reason: expect.stringMatching(
          /^no champion yet: nothing to score \(backfill 2025-11-01..2026-01-31 in progress/,
        ),
      },
    });
  });

  it.each([
    [
      'a version that is not a string',
      (tasks: RawRunResult['tasks']) => (tasks.register!.outputs = { ...tasks.register!.outputs, version: 7 }),
      /task register: output version must be a STRING/,
    ],
    ['no register task', (tasks: RawRunResult['tasks']) => delete tasks.register, /task register reported no outputs/],
    [
      'predictions of another shape',
      (tasks: RawRunResult['tasks']) =>
        (tasks.batch_predict!.outputs = { model_version: VERSION, predictions: [{ date: 1 }] }),
      /task batch_predict: output predictions must be a LIST of \{snapshotDate/,
    ],
  ])(
    'refuses a run whose result reports %s (TRAINER.INVALID_RUN_OUTPUT), announcing only the failure',
    async (_, tamper, message) => {
      const { service, runner, publisher } = { ...setup(), publisher: new RecordingPublisher() };
      runner.tamper = tamper;
      const event = ready(['2026-01-31'], { retrain: true });
      const delivery = deliver(service, event, { publisher });
      await expect(delivery).rejects.toMatchObject({ code: 'TRAINER.INVALID_RUN_OUTPUT', errorClass: 'permanent' });
      await expect(delivery).rejects.toThrow(message);
      // The runtime announces the permanent failure; nothing trained nor scored is published.
      expect(publisher.events.map((e) => [e.type, (e.data as { code?: string }).code])).toEqual([
        ['mlops.stage.failed.v1', 'TRAINER.INVALID_RUN_OUTPUT'],
      ]);
    },
  );

  it('closes the run with "no model yet" when the first training lacks history and there is no champion', async () => {
    const { service, runner } = setup();
    runner.fail = new PermanentError(
      'TRAINER.INSUFFICIENT_HISTORY',
      'not enough labelled history to train: a training run needs at least 32 days of history',
    );
    const published = await deliver(service, ready(['2026-01-02']));
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual(['mlops-churn-training']);
    expect(published.events.map((e) => [e.type, (e.data as { code?: string }).code])).toEqual([
      ['mlops.stage.skipped.v1', 'TRAINER.INSUFFICIENT_HISTORY'],
    ]);
    expect(published.ofType('mlops.stage.skipped.v1')[0]!.data.reason).toBe(
      'no model yet: not enough labelled history to train: a training run needs at least 32 days of history',
    );
  });

  it('scores with the champion as of the event, so a replayed older event scores with the model of its time', async () => {
    const { service, runner } = setup();
    const at = (event: ReturnType<typeof ready>, time: string) => ({ ...event, time });
    await deliver(
      service,
      at(ready(['2026-01-31'], { backfill: { from: '2025-11-01', to: '2026-01-31' } }), '2026-02-01T06:00:00.000Z'),
    );
    const later = at(ready(['2026-02-01']), '2026-02-02T06:00:00.000Z');
    await deliver(service, later);
    expect(runner.runs.at(-1)!.parameters).toEqual({
      model_name: 'churn',
      model_version: VERSION,
      snapshot_dates: ['2026-02-01'],
      predicted_at: later.time,
      horizon_days: 30,
      feature_table: 'fct_customer_features',
      warehouse_schema: 'warehouse',
      medium_threshold: 0.3,
      high_threshold: 0.6,
    });
    // An event from before the first promotion, replayed now: there was no champion then, so nothing is scored.
    const runs = runner.runs.length;
    const published = await deliver(service, at(ready(['2026-01-20']), '2026-01-21T06:00:00.000Z'));
    expect(runner.runs.length).toBe(runs);
    expect(published.events.map((e) => e.type)).toEqual(['mlops.stage.skipped.v1']);
  });

  it('predicts with the champion when it is fresh, and retrains when asked', async () => {
    const { service, runner } = setup();
    await deliver(service, ready(['2026-01-31'], { backfill: { from: '2025-11-01', to: '2026-01-31' } }));
    const next = await deliver(service, ready(['2026-02-01']));
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual(['mlops-churn-training', 'mlops-churn-batch-predict']);
    expect(next.ofType('mlops.model.trained.v1')).toEqual([]);
    expect(next.ofType('mlops.predictions.ready.v1').map((e) => e.data.modelVersion)).toEqual([VERSION]);
    await deliver(service, ready(['2026-02-02'], { retrain: true }));
    expect(runner.runs.at(-1)!.pipeline.name).toBe('mlops-churn-training');
  });

  it("retrains weekly: when the champion's data is retrainEveryDays old", async () => {
    const { service, runner } = setup();
    await deliver(service, ready(['2026-01-31'], { backfill: { from: '2025-11-01', to: '2026-01-31' } }));
    await deliver(service, ready(['2026-02-06']));
    await deliver(service, ready(['2026-02-07']));
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual([
      'mlops-churn-training',
      'mlops-churn-batch-predict',
      'mlops-churn-training',
    ]);
  });

  it('refuses an event that reports a failed assertion: dead letter, stage.failed, nothing run', async () => {
    const { service, runner, registry } = setup();
    const publisher = new RecordingPublisher();
    const event = ready(['2026-01-31'], {
      retrain: true,
      assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: false, failingRows: 3 }],
    });
    await expect(deliver(service, event, { publisher })).rejects.toMatchObject({
      code: 'TRAINER.ASSERTIONS_FAILED',
      errorClass: 'permanent',
    });
    expect(runner.runs).toEqual([]);
    expect(await registry.list()).toEqual([]);
    expect(publisher.ofType('mlops.stage.failed.v1')[0]?.data).toMatchObject({
      stage: 'trainer',
      code: 'TRAINER.ASSERTIONS_FAILED',
    });
  });

  it('falls back to predicting when an automatic trigger lacks history, but reports it when retraining was asked', async () => {
    const { service, runner } = setup();
    await deliver(service, ready(['2026-01-31'], { backfill: { from: '2025-11-01', to: '2026-01-31' } }));
    runner.fail = new PermanentError('TRAINER.INSUFFICIENT_HISTORY', 'not enough labelled history to train: ...');
    const published = await deliver(service, ready(['2026-02-08']));
    expect(runner.runs.map((run) => run.pipeline.name)).toEqual([
      'mlops-churn-training',
      'mlops-churn-training',
      'mlops-churn-batch-predict',
    ]);
    expect(published.ofType('mlops.predictions.ready.v1')).toHaveLength(1);
    await expect(deliver(service, ready(['2026-02-09'], { retrain: true }))).rejects.toMatchObject({
      code: 'TRAINER.INSUFFICIENT_HISTORY',
    });
  });

  it('leaves out run dates an upstream stage failed for, until they are rebuilt', async () => {
    const { service, runner } = setup();
    const failure = testEvent(
      'mlops.stage.failed.v1',
      {
        stage: 'transformer',
        code: 'TRANSFORMER.ASSERTION_FAILED',
        reason: 'uniqueKey failed',
        runDates: ['2026-01-20', '2026-01-21'],
      },
      '2026-01-21',
    );
    await deliver(service, failure);
    await deliver(service, ready(['2026-01-31'], { retrain: true }));
    expect(runner.runs.at(-1)!.parameters.excluded_dates).toEqual(['2026-01-20', '2026-01-21']);
    await deliver(service, ready(['2026-01-21']));
    await deliver(service, ready(['2026-02-01'], { retrain: true }));
    expect(runner.runs.at(-1)!.parameters.excluded_dates).toEqual(['2026-01-20']);
    // A failure of the trainer itself is not about the data.
    await deliver(
      service,
      testEvent(
        'mlops.stage.failed.v1',
        { stage: 'trainer', code: 'TRAINER.UNKNOWN_MODEL', reason: 'x', runDates: ['2026-01-25'] },
        '2026-01-25',
      ),
    );
    await deliver(service, ready(['2026-02-02'], { retrain: true }));
    expect(runner.runs.at(-1)!.parameters.excluded_dates).toEqual(['2026-01-20']);
  });

  it('runs the same pipeline run key for a redelivered event', async () => {
    const { service, runner } = setup();
    const event = ready(['2026-01-31'], { retrain: true }, 'fixed-event-id');
    await deliver(service, event);
    await deliver(service, event);
    expect(runner.runs[0]!.runKey).toBe(runner.runs[1]!.runKey);
  });

  it.each([
    ['an unknown model name', { algorithm: 'xgboost' }, 'TRAINER.UNKNOWN_MODEL'],
    ['an unknown GBDT parameter', { modelParams: { trees: 10 } }, 'TRAINER.INVALID_PARAM'],
    ['inverted risk thresholds', { riskThresholds: { medium: 0.7, high: 0.6 } }, 'TRAINER.INVALID_SETTING'],
    ['a feature table that is not an identifier', { featureTable: 'x; drop table y' }, 'TRAINER.INVALID_SETTING'],
  ])('refuses to start with %s', (_name, settings, code) => {
    expect(() =>
      createTrainerService({
        warehouse: unusedWarehouse('not used'),
        objects: new InMemoryObjectStore(),
        documents: new InMemoryDocumentStore(),
        settings: { codeVersion: 't', ...settings },
        runner: new FakeRunner(new ModelRegistry(new InMemoryDocumentStore())),
      }),
    ).toThrow(expect.objectContaining({ code, errorClass: 'permanent' }));
  });
});
