import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlatform, vertexAiOf } from '@mlops/platform';
import { loadConfig, silentLogger, type Platform } from '@mlops/kernel';
import { InMemoryDocumentStore, InMemoryObjectStore, unusedWarehouse } from '@mlops/testing';
import { GcsObjectStore } from '@mlops/adapters-gcp';
import { championUpload } from '../src/compose.js';
import { asPlatformError, trainerFromPlatform } from '../src/index.js';

function gcpPlatform(env: Record<string, string>): Platform & { objects: InMemoryObjectStore } {
  const config = loadConfig({
    MLOPS_MODE: 'gcp',
    GOOGLE_CLOUD_PROJECT: 'mlops-test',
    MLOPS_LAKE: 'gs://mlops-lake-test',
    MLOPS_PII_HMAC_KEY: 'a-secret-of-16-chars',
    MLOPS_REGION: 'europe-west1',
    ...env,
  });
  const objects = new InMemoryObjectStore();
  return {
    config,
    log: silentLogger,
    bus: undefined as never,
    documents: new InMemoryDocumentStore(),
    objects,
    warehouse: unusedWarehouse('not opened in gcp mode'),
    createParquetWriter: () => {
      throw new Error('the trainer writes no Parquet');
    },
    createTransformRunner: async () => {
      throw new Error('the trainer runs no transform');
    },
    vertexAi: (options) => vertexAiOf(config, options),
    close: async () => undefined,
  };
}

describe('trainer composition', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  it('composes the in-process trainer on a local platform and stores the compiled pipelines', async () => {
    const home = mkdtempSync(join(tmpdir(), 'trainer-compose-'));
    folders.push(home);
    const platform = await createPlatform(loadConfig({ MLOPS_HOME: home }), { log: silentLogger });
    try {
      const service = await trainerFromPlatform(platform);
      expect(service.name).toBe('trainer');
      expect(service.consumes).toEqual(['mlops.warehouse.ready.v1', 'mlops.stage.failed.v1']);
      const keys = (await platform.objects.list('mlops/pipelines/')).map((meta) => meta.key);
      expect(keys).toContain('mlops/pipelines/mlops-churn-training/latest.json');
      expect(keys).toContain('mlops/pipelines/mlops-churn-batch-predict/latest.json');
    } finally {
      await platform.close();
    }
  });

  it("composes the Vertex AI trainer in gcp mode: specs with the image and the steps' environment, no secrets", async () => {
    const platform = gcpPlatform({
      VERTEX_PIPELINE_ROOT: 'gs://mlops-lake-test/mlops/pipeline-root',
      MLOPS_SERVICE_ACCOUNT: 'runtime@mlops-test.iam.gserviceaccount.com',
    });
    // Fake clients: composing must not call Vertex AI (nothing is submitted until an event arrives).
    const service = await trainerFromPlatform(platform, {
      image: 'europe-west1-docker.pkg.dev/mlops-test/mlops/platform:abc',
      vertexClients: async () => ({ pipelines: {}, models: {} }),
    });
    // It submits and acknowledges: job completions come back on their own topic.
    expect(service.rawConsumers?.map((consumer) => consumer.topic)).toEqual(['vertex-completions']);
    const spec = JSON.parse(
      (await platform.objects.get('mlops/pipelines/mlops-churn-training/latest.json')).toString(),
    );
    const container = spec.deploymentSpec.executors['exec-train'].container;
    expect(container.image).toBe('europe-west1-docker.pkg.dev/mlops-test/mlops/platform:abc');
    expect(
      Object.fromEntries(container.env.map((v: { name: string; value: string }) => [v.name, v.value])),
    ).toMatchObject({ MLOPS_MODE: 'gcp', MLOPS_LAKE: 'gs://mlops-lake-test', GOOGLE_CLOUD_PROJECT: 'mlops-test' });
    expect(JSON.stringify(spec)).not.toContain('a-secret-of-16-chars');
    expect(spec.defaultPipelineRoot).toBe('gs://mlops-lake-test/mlops/pipeline-root');
  });

  it.each([
    ['the image', {}, {}, 'MLOPS_IMAGE'],
    ['the pipeline root', {}, { image: 'img:1' }, 'VERTEX_PIPELINE_ROOT'],
  ])('refuses gcp mode without %s, naming the setting', async (_name, env, options, setting) => {
    await expect(trainerFromPlatform(gcpPlatform(env), options)).rejects.toMatchObject({
      code: 'CONFIG.INVALID_SETTING',
      setting,
    });
  });
});

describe('error classification', () => {
  it.each([
    [
      'a DuckDB lock held by another process',
      new Error(
        'IO Error: Could not set lock on file "/x/warehouse.duckdb": Conflicting lock is held in /usr/bin/node (PID 42)',
      ),
      'TRAINER.WAREHOUSE_BUSY',
      'transient',
    ],
    [
      'a write-write conflict',
      new Error('TransactionContext Error: Catalog write-write conflict on create with "fact_predictions_churn"'),
      'TRAINER.WAREHOUSE_BUSY',
      'transient',
    ],
  ])('%s is %s', (_name, error, code, errorClass) => {
    expect(asPlatformError(error)).toMatchObject({ code, errorClass });
  });

  it('uploads a champion with its version folder and the image’s prediction server as serving container', () => {
    const lake = GcsObjectStore.fromUri('gs://mlops-lake-test', { projectId: 'mlops-test' });
    const request = championUpload(
      {
        modelName: 'churn',
        version: 'v-0123456789ab',
        algorithm: 'gbdt',
        metrics: { rocAuc: 0.81234 },
        holdoutRange: { from: '2026-01-01', to: '2026-01-31' },
        artifactUri: 'mlops/models/churn/v-0123456789ab/model.json',
      } as Parameters<typeof championUpload>[0],
      'europe-west1-docker.pkg.dev/mlops-test/mlops/platform:abc',
      lake,
    );
    expect(request).toEqual({
      modelId: 'mlops-churn',
      displayName: 'mlops churn',
      description: 'gbdt v-0123456789ab: ROC AUC 0.8123 on 2026-01-01..2026-01-31',
      artifactUri: 'gs://mlops-lake-test/mlops/models/churn/v-0123456789ab/',
      container: {
        imageUri: 'europe-west1-docker.pkg.dev/mlops-test/mlops/platform:abc',
        command: ['node', 'services/trainer/dist/serving/main.js'],
        ports: [{ containerPort: 8080 }],
        healthRoute: '/health',
        predictRoute: '/predict',
      },
      labels: { mlops_version: 'v-0123456789ab', mlops_model: 'churn' },
      versionLabel: 'mlops_version',
      alias: 'champion',
    });
  });
});
