/**
 * The trainer in gcp mode against the Vertex AI stand-in, through the real `@google-cloud/aiplatform`
 * clients (REST): `warehouse.ready` submits the PipelineJob and returns within a second; the
 * stand-in runs the compiled spec's steps as processes (the step entrypoint, on the fixture
 * warehouse) and hands over the LogEntry a Cloud Logging sink would publish; pushed as Eventarc
 * pushes `vertex-completions`, it makes the trainer re-read the job and publish what a synchronous
 * run would have, once. A failing step ends as one `stage.failed` with the step's code; a job past
 * its deadline is cancelled and announced.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { v1 } from '@google-cloud/aiplatform';
import { startVertexStandin, type VertexStandin } from '@mlops/gcp-standins';
import {
  ModelRegistry,
  handlePushDelivery,
  loadConfig,
  silentLogger,
  type ObjectStore,
  type Platform,
  type PushOutcome,
  type Service,
  type WarehouseReady,
} from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { releaseDuckDbFile } from '@mlops/adapters-local';
import {
  VertexModelRegistry,
  VertexPipelineJobs,
  type VertexModelClient,
  type VertexPipelineClient,
} from '@mlops/adapters-gcp';
import { RecordingPublisher, deliver, testEvent, waitFor } from '@mlops/testing';
import { LakeWarehouse, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS, dateRange } from '@mlops/testing/fixtures';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAINER_JOBS_COLLECTION } from '../src/completion.js';
import { championUpload } from '../src/compose.js';
import { createTrainerService } from '../src/index.js';
import { VertexPipelineRunner } from '../src/pipeline/vertex.runner.js';
import { servingContainer } from '../src/serving/serving.container.js';
import type { TrainerSettingsInput } from '../src/settings.js';

const REPO = resolve(import.meta.dirname, '../../..');
const TSX = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const PROJECT_ID = 'mlops-standin';
const REGION = 'europe-west1';
const IMAGE = 'europe-west1-docker.pkg.dev/mlops-standin/mlops/platform:test';
const LAKE_BUCKET = 'gs://mlops-standin-lake';
const DATES = dateRange('2025-01-01', 90);
const LAST = DATES.slice(-3);
const JOB_TIMEOUT_MS = 600_000;

function ready(id: string, extra: Partial<WarehouseReady> = {}) {
  const data: WarehouseReady = {
    runDates: LAST as [string, ...string[]],
    tables: [],
    quarantine: [],
    assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
    engine: 'bigquery',
    durationMs: 1,
    backfill: { from: DATES[0]!, to: DATES.at(-1)! },
    ...extra,
  };
  return testEvent('mlops.warehouse.ready.v1', data, LAST.at(-1)!, { id, runid: `run_${id}` });
}

describe('trainer completing Vertex AI jobs asynchronously (gcp, Vertex AI stand-in)', () => {
  const entries: Record<string, unknown>[] = [];
  const publisher = new RecordingPublisher();
  let world: LakeWarehouse;
  let platform: Platform;
  let standin: VertexStandin;
  let pipelines: InstanceType<typeof v1.PipelineServiceClient>;
  let models: InstanceType<typeof v1.ModelServiceClient>;
  let messages = 0;

  /** The lake as Vertex sees it: the same keys under the bucket. */
  const gcsView = (objects: ObjectStore): ObjectStore =>
    new Proxy(objects, {
      get: (target, key) => (key === 'uri' ? (k: string) => `${LAKE_BUCKET}/${k}` : Reflect.get(target, key)),
    });

  const trainer = (settings: Partial<TrainerSettingsInput> = {}, jobDeadlineMs?: number): Service => {
    const jobs = new VertexPipelineJobs({
      client: pipelines as unknown as VertexPipelineClient,
      projectId: PROJECT_ID,
      region: REGION,
    });
    const registry = new VertexModelRegistry({
      client: models as unknown as VertexModelClient,
      projectId: PROJECT_ID,
      region: REGION,
    });
    const runner = new VertexPipelineRunner({
      jobs,
      objects: platform.objects,
      pipelineRoot: `${LAKE_BUCKET}/mlops/pipeline-root`,
      compile: { image: IMAGE, env: { MLOPS_MODE: 'local', MLOPS_LOG_LEVEL: 'warning' } },
      log: silentLogger,
    });
    return createTrainerService({
      warehouse: platform.warehouse,
      objects: platform.objects,
      documents: platform.documents,
      registry: new ModelRegistry(platform.documents),
      settings: { codeVersion: 'vertex-standin', ...settings },
      serving: servingContainer(IMAGE),
      publisher,
      ...(jobDeadlineMs === undefined ? {} : { jobDeadlineMs }),
      runner,
      vertex: {
        uploadChampion: async (version) =>
          (await registry.uploadVersion(championUpload(version, IMAGE, gcsView(platform.objects)))).resourceName,
      },
    });
  };

  /** A state entry as Eventarc pushes the log sink's message to the trainer. */
  const push = (service: Service, entry: Record<string, unknown>): Promise<PushOutcome> => {
    messages += 1;
    return handlePushDelivery(
      service,
      {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: `//pubsub.googleapis.com/projects/${PROJECT_ID}/topics/vertex-completions`,
        id: `push-${messages}`,
        data: {
          message: {
            data: Buffer.from(JSON.stringify(entry)).toString('base64'),
            messageId: `m-${messages}`,
            publishTime: new Date().toISOString(),
          },
          subscription: `projects/${PROJECT_ID}/subscriptions/eventarc-${REGION}-trainer-vertex-completions-sub-1`,
        },
      },
      { bus: publisher, log: silentLogger, maxAttempts: 5, maxMessageBytes: 262_144 },
    );
  };

  const entryOf = (jobId: string) =>
    entries.find((entry) => (entry.resource as { labels: Record<string, string> }).labels.pipeline_job_id === jobId);
  const jobIdOf = async (eventId: string) => {
    for await (const stored of platform.documents.query(TRAINER_JOBS_COLLECTION))
      if ((stored.data.event as { id: string }).id === eventId) return String(stored.data.runKey);
    throw new Error(`no job recorded for ${eventId}`);
  };

  beforeAll(async () => {
    world = await LakeWarehouse.cached(DATES);
    // The steps open the warehouse file in their own processes, through the platform's lock.
    await world.warehouse.close();
    releaseDuckDbFile(world.warehousePath);
    const env = { MLOPS_MODE: 'local', MLOPS_HOME: world.root, MLOPS_LOG_LEVEL: 'warning' };
    platform = await createPlatform(loadConfig(env), { service: 'trainer', log: silentLogger });
    standin = await startVertexStandin({
      projectId: PROJECT_ID,
      location: REGION,
      cwd: REPO,
      env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
      // The image runs the compiled entrypoint; here the same file runs from its TypeScript source.
      command: (container) => {
        expect(container.command).toEqual(['node', 'services/trainer/dist/components/main.js']);
        return ['node', '--conditions=@mlops/source', '--import', TSX, 'services/trainer/src/components/main.ts'];
      },
      onLogEntry: (entry) => void entries.push(entry),
      log: () => undefined,
    });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'standin-token', expiry_date: Date.now() + 3_600_000 });
    const options = { fallback: true, apiEndpoint: '127.0.0.1', port: standin.port, protocol: 'http', authClient };
    pipelines = new v1.PipelineServiceClient(
      options as unknown as ConstructorParameters<typeof v1.PipelineServiceClient>[0],
    );
    models = new v1.ModelServiceClient(options as unknown as ConstructorParameters<typeof v1.ModelServiceClient>[0]);
    // A service process loads the client's protos and auth once, at its first call: not per request.
    await pipelines
      .getPipelineJob({ name: `projects/${PROJECT_ID}/locations/${REGION}/pipelineJobs/warm-up` })
      .catch(() => undefined);
  }, LAKE_WAREHOUSE_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await pipelines?.close();
    await models?.close();
    await standin?.close();
    await platform?.close();
    await world?.close();
  });

  it(
    "a failing step ends the job as one stage.failed with the step's code",
    async () => {
      const service = trainer({ featureTable: 'no_such_features' });
      const event = ready('ready-broken');
      await deliver(service, event, { publisher });
      expect(publisher.ofType('mlops.stage.failed.v1')).toEqual([]);
      const jobId = await jobIdOf(event.id);
      await waitFor(() => entryOf(jobId) !== undefined, `the state entry of ${jobId}`, JOB_TIMEOUT_MS);
      const entry = entryOf(jobId)!;
      expect(entry).toMatchObject({
        logName: `projects/${PROJECT_ID}/logs/aiplatform.googleapis.com%2Fpipeline_job_events`,
        jsonPayload: { state: 'PIPELINE_STATE_FAILED' },
      });
      expect(await push(service, entry)).toEqual({ status: 'handled' });
      expect(await push(service, entry)).toEqual({ status: 'handled' });
      const failed = publisher.ofType('mlops.stage.failed.v1');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.data).toMatchObject({
        stage: 'trainer',
        code: 'TRAINER.FEATURE_TABLE_MISSING',
        runDates: LAST,
        causeEventId: event.id,
        details: { errorClass: 'permanent' },
      });
      expect(failed[0]!.runid).toBe(event.runid);
      const job = standin.jobs().find((j) => j.name.endsWith(`/${jobId}`))!;
      expect(job.state).toBe('PIPELINE_STATE_FAILED');
      // The DAG stopped at the failing step.
      expect(job.tasks.map((task) => task.taskName)).toEqual(['features']);
    },
    JOB_TIMEOUT_MS,
  );

  it(
    'returns within a second of submitting; the completion publishes model.trained and predictions.ready once',
    async () => {
      const service = trainer();
      const event = ready('ready-backfill-end');
      const count = publisher.events.length;
      const started = performance.now();
      await deliver(service, event, { publisher });
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(1000);
      // Nothing is published until the job completes: the run's trainer stage stays open.
      expect(publisher.events.length).toBe(count);
      const jobId = await jobIdOf(event.id);
      expect(jobId).toMatch(/^churn-train-[0-9a-f]{24}$/);
      const record = await platform.documents.get(TRAINER_JOBS_COLLECTION, jobId.replace('-train', ''));
      expect(record?.data).toMatchObject({ status: 'running', kind: 'train' });
      expect(entryOf(jobId)).toBeUndefined();

      // A redelivery while the job runs adopts it: no second job.
      await deliver(service, event, { publisher });
      expect(standin.jobs().filter((j) => j.name.endsWith(`/${jobId}`))).toHaveLength(1);

      await waitFor(() => entryOf(jobId) !== undefined, `the state entry of ${jobId}`, JOB_TIMEOUT_MS);
      const entry = entryOf(jobId)!;
      expect(entry.jsonPayload, JSON.stringify(entry.jsonPayload)).toMatchObject({ state: 'PIPELINE_STATE_SUCCEEDED' });
      const before = publisher.events.length;
      expect(await push(service, entry)).toEqual({ status: 'handled' });
      const out = publisher.events.slice(before);
      const trained = out.filter((e) => e.type === 'mlops.model.trained.v1');
      expect(trained).toHaveLength(1);
      expect(trained[0]!.data).toMatchObject({
        modelName: 'churn',
        promoted: true,
        pipelineJob: `projects/${PROJECT_ID}/locations/${REGION}/pipelineJobs/${jobId}`,
      });
      expect(trained[0]!.causationid).toBe(event.id);
      const predictions = out.filter((e) => e.type === 'mlops.predictions.ready.v1');
      // At a backfill's end the window's snapshots are scored, each once.
      const scored = predictions.map((e) => (e.data as { snapshotDate: string }).snapshotDate);
      expect(new Set(scored).size).toBe(scored.length);
      expect(scored).toEqual(expect.arrayContaining(LAST));
      expect(scored.every((date) => DATES.includes(date))).toBe(true);
      // The champion went to the Model Registry on the stand-in, with its alias.
      const version = (trained[0]!.data as { version: string }).version;
      const [model] = await models.getModel({
        name: `projects/${PROJECT_ID}/locations/${REGION}/models/mlops-churn@champion`,
      });
      expect(model.labels).toMatchObject({ mlops_version: version });
      expect(model.artifactUri).toBe(`${LAKE_BUCKET}/mlops/models/churn/${version}/`);
      expect((await platform.documents.get(TRAINER_JOBS_COLLECTION, jobId.replace('-train', '')))?.data.status).toBe(
        'succeeded',
      );

      // The sink delivers at least once: the same entry again publishes nothing.
      const after = publisher.events.length;
      expect(await push(service, entry)).toEqual({ status: 'handled' });
      await deliver(service, event, { publisher });
      expect(publisher.events.length).toBe(after);
    },
    JOB_TIMEOUT_MS,
  );

  it(
    'a job past its deadline is cancelled and announced as TRAINER.DEADLINE_EXCEEDED',
    async () => {
      const service = trainer({}, 0);
      const event = ready('ready-too-slow', { retrain: true });
      const before = publisher.events.length;
      // The sweep after the submission finds the new job already past a zero deadline.
      await deliver(service, event, { publisher });
      const jobId = await jobIdOf(event.id);
      const failed = publisher.events
        .slice(before)
        .filter((e) => e.type === 'mlops.stage.failed.v1' && e.causationid === event.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.data).toMatchObject({
        stage: 'trainer',
        code: 'TRAINER.DEADLINE_EXCEEDED',
        causeEventId: event.id,
      });
      await standin.idle();
      const job = standin.jobs().find((j) => j.name.endsWith(`/${jobId}`))!;
      expect(job.state).toBe('PIPELINE_STATE_CANCELLED');
      // Its CANCELLED entry arrives afterwards and changes nothing.
      await waitFor(() => entryOf(jobId) !== undefined, `the CANCELLED entry of ${jobId}`, 10_000);
      const count = publisher.events.length;
      expect(await push(service, entryOf(jobId)!)).toEqual({ status: 'handled' });
      expect(publisher.events.length).toBe(count);
    },
    JOB_TIMEOUT_MS,
  );

  it('refuses a message that is not a PipelineJob state entry (dead letter, TRAINER.BAD_COMPLETION)', async () => {
    const outcome = await push(trainer(), {
      jsonPayload: { state: 'PIPELINE_STATE_SUCCEEDED' },
      resource: { type: 'gce_instance' },
    });
    expect(outcome).toMatchObject({ status: 'dead-lettered', code: 'TRAINER.BAD_COMPLETION' });
  });
});
