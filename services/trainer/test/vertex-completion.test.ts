/**
 * The asynchronous trainer's bookkeeping with an in-memory job service: what is submitted for which
 * event, how state entries settle jobs (early, duplicated, foreign), the fallback to scoring when a
 * training is refused for too little history, and new generations for redriven events. The real
 * client and the stand-in are in `vertex-completion.integration.test.ts`.
 */
import {
  ModelRegistry,
  PermanentError,
  handlePushDelivery,
  silentLogger,
  type PushOutcome,
  type Service,
  type WarehouseReady,
} from '@mlops/kernel';
import {
  InMemoryDocumentStore,
  InMemoryObjectStore,
  RecordingPublisher,
  deliver,
  testEvent,
  unusedWarehouse,
} from '@mlops/testing';
import { describe, expect, it } from 'vitest';
import { createTrainerService } from '../src/index.js';
import type { PipelineDefinition } from '../src/pipeline/dag.js';
import type {
  AsyncPipelineRunner,
  PipelineJobProgress,
  PipelineRunRequest,
  PipelineRunResult,
} from '../src/pipeline/runner.port.js';

const PARENT = 'projects/p/locations/europe-west1/pipelineJobs';
const VERSION = 'v-aaaaaaaaaaaa';

/** Jobs held in memory; a test decides how each ends. */
class FakeJobs implements AsyncPipelineRunner {
  readonly kind = 'vertex' as const;
  readonly submissions: PipelineRunRequest[] = [];
  readonly outcomes = new Map<string, PipelineJobProgress>();
  readonly cancelled: string[] = [];

  jobName(runKey: string): string {
    return `${PARENT}/${runKey}`;
  }
  async submit(request: PipelineRunRequest) {
    const job = this.jobName(request.runKey);
    const adopted = this.outcomes.has(job);
    if (!adopted) {
      this.submissions.push(request);
      this.outcomes.set(job, { state: 'running', job });
    }
    return { job, adopted };
  }
  async read(job: string, _pipeline: PipelineDefinition, _runKey: string) {
    return this.outcomes.get(job)!;
  }
  async cancel(job: string) {
    this.cancelled.push(job);
  }
  async run(): Promise<PipelineRunResult> {
    throw new Error('the asynchronous trainer never waits');
  }
  /** End the last submitted job. */
  end(outcome: { error: Error } | { tasks: PipelineRunResult['tasks'] }): string {
    const request = this.submissions.at(-1)!;
    const job = this.jobName(request.runKey);
    this.outcomes.set(
      job,
      'error' in outcome
        ? { state: 'failed', job, error: outcome.error }
        : {
            state: 'succeeded',
            job,
            result: { pipeline: request.pipeline.name, runKey: request.runKey, tasks: outcome.tasks, job },
          },
    );
    return request.runKey;
  }
}

function entry(jobId: string, state: string): Record<string, unknown> {
  return {
    logName: 'projects/p/logs/aiplatform.googleapis.com%2Fpipeline_job_events',
    resource: {
      type: 'aiplatform.googleapis.com/PipelineJob',
      labels: { pipeline_job_id: jobId, location: 'europe-west1' },
    },
    jsonPayload: { state },
  };
}

function ready(runDates: string[], extra: Partial<WarehouseReady> = {}, id = 'ready-1') {
  const data: WarehouseReady = {
    runDates: runDates as [string, ...string[]],
    tables: [],
    quarantine: [],
    assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
    engine: 'bigquery',
    durationMs: 1,
    ...extra,
  };
  return { ...testEvent('mlops.warehouse.ready.v1', data, runDates.at(-1)!, { id }), time: '2026-02-02T06:00:00.000Z' };
}

async function setup(withChampion: boolean) {
  const documents = new InMemoryDocumentStore();
  const registry = new ModelRegistry(documents);
  if (withChampion) {
    await registry.register({
      modelName: 'churn',
      version: VERSION,
      fingerprint: 'a'.repeat(64),
      createdAt: '2026-01-01T06:00:00.000Z',
      algorithm: 'gbdt',
      dataRange: { from: '2025-11-01', to: '2026-01-01' },
      dataFingerprint: 'b'.repeat(64),
      trainingRows: 10,
      holdoutRows: 5,
      holdoutRange: { from: '2025-12-01', to: '2026-01-01' },
      params: { algorithm: 'gbdt' },
      metrics: { rocAuc: 0.8, prAuc: 0.5, logLoss: 0.4 },
      featureImportance: [],
      codeVersion: 'test',
      artifactUri: `mlops/models/churn/${VERSION}/model.json`,
    });
    await registry.promote({
      modelName: 'churn',
      version: VERSION,
      previousChampion: null,
      promotedAt: '2026-01-01T07:00:00.000Z',
      reason: 'first',
      challengerRocAuc: 0.8,
      championRocAuc: null,
    });
  }
  const jobs = new FakeJobs();
  const publisher = new RecordingPublisher();
  const service = createTrainerService({
    warehouse: unusedWarehouse('the gcp path never opens the warehouse'),
    objects: new InMemoryObjectStore(),
    documents,
    registry,
    settings: { codeVersion: 'test' },
    publisher,
    vertex: { runner: jobs, uploadChampion: async () => 'projects/p/locations/r/models/mlops-churn@1' },
  });
  let messages = 0;
  const push = (body: Record<string, unknown>): Promise<PushOutcome> =>
    handlePushDelivery(
      service as Service,
      {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub.googleapis.com/projects/p/topics/vertex-completions',
        id: `push-${++messages}`,
        data: {
          message: {
            data: Buffer.from(JSON.stringify(body)).toString('base64'),
            messageId: `m-${messages}`,
            publishTime: new Date().toISOString(),
          },
          subscription: 'projects/p/subscriptions/trainer-vertex-completions',
        },
      },
      { bus: publisher, log: silentLogger, maxAttempts: 5, maxMessageBytes: 262_144 },
    );
  return { jobs, publisher, service, push, documents };
}

const scored = (dates: string[]) => ({
  batch_predict: {
    outputs: {
      model_version: VERSION,
      predictions: dates.map((snapshotDate) => ({ snapshotDate, rows: 3, riskBands: { low: 1, medium: 1, high: 1 } })),
    },
    durationMs: 1,
  },
});

describe('asynchronous trainer (gcp)', () => {
  it('scores with the champion when the training job is refused for too little history, each job once', async () => {
    const { jobs, publisher, service, push } = await setup(true);
    const event = ready(['2026-02-01'], { backfill: { from: '2025-11-01', to: '2026-02-01' } });
    await deliver(service, event, { publisher });
    expect(jobs.submissions.map((s) => [s.pipeline.name, s.runKey])).toEqual([
      ['mlops-churn-training', expect.stringMatching(/^churn-train-[0-9a-f]{24}$/)],
    ]);
    expect(publisher.events).toEqual([]);
    const train = jobs.end({
      error: new PermanentError('TRAINER.INSUFFICIENT_HISTORY', 'not enough labelled history'),
    });
    expect(await push(entry(train, 'PIPELINE_STATE_FAILED'))).toEqual({ status: 'handled' });
    expect(jobs.submissions.map((s) => s.pipeline.name)).toEqual(['mlops-churn-training', 'mlops-churn-batch-predict']);
    expect(jobs.submissions[1]!.parameters).toMatchObject({ model_version: VERSION, snapshot_dates: ['2026-02-01'] });
    expect(jobs.submissions[1]!.runKey).toBe(train.replace('churn-train-', 'churn-predict-'));
    expect(publisher.events).toEqual([]);
    // The training job's entry again: that job is no longer awaited.
    expect(await push(entry(train, 'PIPELINE_STATE_FAILED'))).toEqual({ status: 'handled' });
    expect(jobs.submissions).toHaveLength(2);
    const predict = jobs.end({ tasks: scored(['2026-02-01']) });
    await push(entry(predict, 'PIPELINE_STATE_SUCCEEDED'));
    await push(entry(predict, 'PIPELINE_STATE_SUCCEEDED'));
    expect(publisher.events.map((e) => [e.type, e.causationid])).toEqual([['mlops.predictions.ready.v1', event.id]]);
  });

  it('closes the run with "no model yet" when the refused training had no champion to fall back on', async () => {
    const { jobs, publisher, service, push } = await setup(false);
    await deliver(service, ready(['2026-02-01'], { backfill: { from: '2025-11-01', to: '2026-02-01' } }), {
      publisher,
    });
    const train = jobs.end({
      error: new PermanentError('TRAINER.INSUFFICIENT_HISTORY', 'not enough labelled history'),
    });
    await push(entry(train, 'PIPELINE_STATE_FAILED'));
    expect(publisher.events.map((e) => [e.type, (e.data as { code?: string }).code])).toEqual([
      ['mlops.stage.skipped.v1', 'TRAINER.INSUFFICIENT_HISTORY'],
    ]);
  });

  it('reads an early completion again later, notes a non-terminal entry, and ignores jobs it did not submit', async () => {
    const { jobs, publisher, service, push } = await setup(true);
    await deliver(service, ready(['2026-02-01'], { retrain: true }), { publisher });
    const runKey = jobs.submissions[0]!.runKey;
    expect(await push(entry(runKey, 'PIPELINE_STATE_RUNNING'))).toEqual({ status: 'handled' });
    expect(await push(entry(runKey, 'PIPELINE_STATE_SUCCEEDED'))).toMatchObject({
      status: 'retry',
      code: 'TRAINER.COMPLETION_EARLY',
    });
    expect(await push(entry('another-pipeline-1234', 'PIPELINE_STATE_SUCCEEDED'))).toEqual({ status: 'handled' });
    expect(publisher.events).toEqual([]);
  });

  it('announces a failed job once, and a redriven event runs a new generation of its job', async () => {
    const { jobs, publisher, service, push } = await setup(true);
    const event = ready(['2026-02-01'], { retrain: true });
    await deliver(service, event, { publisher });
    const first = jobs.end({ error: new PermanentError('TRAINER.FEATURE_TABLE_MISSING', 'no table warehouse.x') });
    await push(entry(first, 'PIPELINE_STATE_FAILED'));
    await push(entry(first, 'PIPELINE_STATE_FAILED'));
    expect(publisher.ofType('mlops.stage.failed.v1').map((e) => e.data)).toEqual([
      expect.objectContaining({ stage: 'trainer', code: 'TRAINER.FEATURE_TABLE_MISSING', causeEventId: event.id }),
    ]);
    await deliver(service, event, { publisher });
    expect(jobs.submissions.map((s) => s.runKey)).toEqual([first, `${first}-g2`]);
    // While the second generation runs, a redelivery adopts it.
    await deliver(service, event, { publisher });
    expect(jobs.submissions).toHaveLength(2);
  });

  it('cancels a job that outlives its deadline and announces TRAINER.DEADLINE_EXCEEDED', async () => {
    const documents = new InMemoryDocumentStore();
    const jobs = new FakeJobs();
    const publisher = new RecordingPublisher();
    const service = createTrainerService({
      warehouse: unusedWarehouse('never opened'),
      objects: new InMemoryObjectStore(),
      documents,
      settings: { codeVersion: 'test' },
      publisher,
      jobDeadlineMs: 0,
      vertex: { runner: jobs, uploadChampion: async () => 'unused' },
    });
    const event = ready(['2026-02-01'], { retrain: true });
    await deliver(service, event, { publisher });
    expect(jobs.cancelled).toEqual([jobs.jobName(jobs.submissions[0]!.runKey)]);
    expect(publisher.ofType('mlops.stage.failed.v1').map((e) => e.data.code)).toEqual(['TRAINER.DEADLINE_EXCEEDED']);
  });
});
