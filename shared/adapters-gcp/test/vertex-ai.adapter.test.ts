import { describe, expect, it } from 'vitest';
import {
  VertexModelRegistry,
  VertexPipelineJobs,
  fromProtoStruct,
  toProtoStruct,
  vertexCallError,
  type VertexModelClient,
  type VertexOperation,
  type VertexPipelineClient,
} from '@mlops/adapters-gcp';

const PARENT = 'projects/mlops-prod/locations/europe-west1';

type Request = Record<string, unknown>;

function grpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(`${code} ${message}`), { code });
}

/**
 * A fake of PipelineServiceClient (v1): records requests, answers as the API does (resource names,
 * enum states as names, a PENDING job on create, RUNNING polls, then the final state with the
 * error message Vertex writes when a task fails).
 */
class FakePipelines implements VertexPipelineClient {
  readonly calls: { method: string; request: Request }[] = [];
  runningPolls = 2;
  finalState: 'PIPELINE_STATE_SUCCEEDED' | 'PIPELINE_STATE_FAILED' | 'PIPELINE_STATE_CANCELLED' =
    'PIPELINE_STATE_SUCCEEDED';
  existing = false;
  createError?: Error;
  getErrors: Error[] = [];
  private polls = 0;
  private jobName = '';

  async createPipelineJob(request: Request): Promise<[Record<string, unknown>]> {
    this.calls.push({ method: 'createPipelineJob', request });
    this.jobName = `${request.parent as string}/pipelineJobs/${request.pipelineJobId as string}`;
    if (this.createError) throw this.createError;
    if (this.existing) throw grpcError(6, `ALREADY_EXISTS: PipelineJob ${this.jobName} already exists`);
    return [{ name: this.jobName, state: 'PIPELINE_STATE_PENDING', createTime: { seconds: '1767225600', nanos: 0 } }];
  }

  async getPipelineJob(request: Request): Promise<[Record<string, unknown>]> {
    this.calls.push({ method: 'getPipelineJob', request });
    const error = this.getErrors.shift();
    if (error) throw error;
    this.polls += 1;
    if (this.polls <= this.runningPolls) return [{ name: request.name, state: 'PIPELINE_STATE_RUNNING' }];
    const failed = this.finalState === 'PIPELINE_STATE_FAILED';
    return [
      {
        name: request.name,
        state: this.finalState,
        endTime: { seconds: '1767226800', nanos: 0 },
        ...(failed
          ? { error: { code: 9, message: 'The DAG failed because some tasks failed. The failed tasks are: [train].' } }
          : {}),
      },
    ];
  }

  async cancelPipelineJob(request: Request): Promise<[Record<string, never>]> {
    this.calls.push({ method: 'cancelPipelineJob', request });
    return [{}];
  }
}

function jobs(client: FakePipelines, options: { deadlineMs?: number } = {}) {
  let clock = 0;
  const sleeps: number[] = [];
  const runner = new VertexPipelineJobs({
    client,
    projectId: 'mlops-prod',
    region: 'europe-west1',
    poll: { minMs: 1_000, maxMs: 8_000 },
    random: () => 1,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
  });
  return { runner, sleeps };
}

const REQUEST = {
  jobId: 'churn-train-0123456789abcdef01234567-a1',
  displayName: 'mlops-churn-training churn-train-0123',
  pipelineSpec: {
    pipelineInfo: { name: 'mlops-churn-training' },
    schemaVersion: '2.1.0',
    root: { dag: { tasks: {} } },
  },
  parameterValues: { as_of: '2026-01-31', horizon_days: 30, excluded_dates: [], model_params: { nTrees: 100 } },
  gcsOutputDirectory: 'gs://mlops-lake/mlops/pipeline-root',
  serviceAccount: 'mlops-runtime@mlops-prod.iam.gserviceaccount.com',
  labels: { run_id: 'run_20260131_120000_abcdef', trigger: 'schedule' },
};

describe('Vertex AI Pipelines job', () => {
  it('submits a PipelineJob with the spec as a Struct, parameter Values, pipeline root, service account and labels', async () => {
    const client = new FakePipelines();
    const { runner } = jobs(client);
    const outcome = await runner.run(REQUEST);
    expect(outcome).toEqual({
      name: `${PARENT}/pipelineJobs/${REQUEST.jobId}`,
      state: 'SUCCEEDED',
      adopted: false,
      polls: 3,
    });
    const create = client.calls[0]!;
    expect(create.method).toBe('createPipelineJob');
    expect(create.request.parent).toBe(PARENT);
    expect(create.request.pipelineJobId).toBe(REQUEST.jobId);
    const job = create.request.pipelineJob as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(job.displayName).toBe(REQUEST.displayName);
    expect(job.serviceAccount).toBe(REQUEST.serviceAccount);
    expect(job.labels).toEqual(REQUEST.labels);
    expect(job.runtimeConfig.gcsOutputDirectory).toBe('gs://mlops-lake/mlops/pipeline-root');
    expect(job.runtimeConfig.parameterValues.as_of).toEqual({ stringValue: '2026-01-31' });
    expect(job.runtimeConfig.parameterValues.horizon_days).toEqual({ numberValue: 30 });
    expect(job.runtimeConfig.parameterValues.excluded_dates).toEqual({ listValue: { values: [] } });
    expect(job.runtimeConfig.parameterValues.model_params).toEqual({
      structValue: { fields: { nTrees: { numberValue: 100 } } },
    });
    expect(job.pipelineSpec.fields.schemaVersion).toEqual({ stringValue: '2.1.0' });
    expect(fromProtoStruct(job.pipelineSpec)).toEqual(REQUEST.pipelineSpec);
  });

  it('polls with growing backoff until the job ends', async () => {
    const client = new FakePipelines();
    client.runningPolls = 4;
    const { runner, sleeps } = jobs(client);
    await runner.run(REQUEST);
    expect(sleeps).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(client.calls.filter((call) => call.method === 'getPipelineJob')).toHaveLength(5);
  });

  it.each([
    ['PIPELINE_STATE_FAILED', 'FAILED', 'The DAG failed because some tasks failed. The failed tasks are: [train].'],
    ['PIPELINE_STATE_CANCELLED', 'CANCELLED', undefined],
  ] as const)('reports a job that ends %s', async (finalState, state, error) => {
    const client = new FakePipelines();
    client.finalState = finalState;
    const outcome = await jobs(client).runner.run(REQUEST);
    expect(outcome.state).toBe(state);
    expect(outcome.error).toBe(error);
  });

  it('adopts the existing job when the id exists (a redelivery) instead of starting another', async () => {
    const client = new FakePipelines();
    client.existing = true;
    const outcome = await jobs(client).runner.run(REQUEST);
    expect(outcome.adopted).toBe(true);
    expect(outcome.state).toBe('SUCCEEDED');
    expect(client.calls.map((call) => call.method)).toEqual([
      'createPipelineJob',
      'getPipelineJob',
      'getPipelineJob',
      'getPipelineJob',
    ]);
  });

  it('cancels the job and throws a transient VERTEX.PIPELINE_TIMEOUT past the deadline', async () => {
    const client = new FakePipelines();
    client.runningPolls = 1_000;
    await expect(jobs(client, { deadlineMs: 30_000 }).runner.run(REQUEST)).rejects.toMatchObject({
      code: 'VERTEX.PIPELINE_TIMEOUT',
      errorClass: 'transient',
    });
    expect(client.calls.at(-1)).toEqual({
      method: 'cancelPipelineJob',
      request: { name: `${PARENT}/pipelineJobs/${REQUEST.jobId}` },
    });
  });

  it('keeps polling through a transient status error', async () => {
    const client = new FakePipelines();
    client.getErrors = [grpcError(14, 'UNAVAILABLE: connection reset')];
    expect((await jobs(client).runner.run(REQUEST)).state).toBe('SUCCEEDED');
  });

  it.each([
    [
      grpcError(3, 'INVALID_ARGUMENT: Invalid PipelineSpec: component comp-x not found'),
      'VERTEX.REQUEST_REFUSED',
      'permanent',
    ],
    [grpcError(7, 'PERMISSION_DENIED: aiplatform.pipelineJobs.create'), 'VERTEX.REQUEST_REFUSED', 'permanent'],
    [grpcError(14, 'UNAVAILABLE: 503'), 'VERTEX.UNAVAILABLE', 'transient'],
    [grpcError(8, 'RESOURCE_EXHAUSTED: quota'), 'VERTEX.UNAVAILABLE', 'transient'],
  ])('classifies a refused submission: %s', async (error, code, errorClass) => {
    const client = new FakePipelines();
    client.createError = error;
    await expect(jobs(client).runner.run(REQUEST)).rejects.toMatchObject({ code, errorClass });
  });

  it.each([
    ['a job id with capitals', { ...REQUEST, jobId: 'Churn' }],
    ['a local pipeline root', { ...REQUEST, gcsOutputDirectory: '/tmp/root' }],
    ['a label with capitals', { ...REQUEST, labels: { Run: 'x' } }],
  ])('refuses %s before calling Vertex', async (_name, request) => {
    const client = new FakePipelines();
    await expect(jobs(client).runner.run(request)).rejects.toMatchObject({ code: 'VERTEX.INVALID_REQUEST' });
    expect(client.calls).toEqual([]);
  });

  it('refuses non-finite numbers in parameter values', () => {
    expect(() => toProtoStruct({ x: Number.NaN })).toThrow(expect.objectContaining({ code: 'VERTEX.INVALID_REQUEST' }));
  });
});

/** A fake of ModelServiceClient (v1) holding versions of models, as the API reports them. */
class FakeModels implements VertexModelClient {
  readonly calls: { method: string; request: Request }[] = [];
  readonly versions = new Map<string, Record<string, any>[]>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  uploadError?: Error;

  async getModel(request: Request): Promise<[Record<string, unknown>]> {
    this.calls.push({ method: 'getModel', request });
    const versions = this.versions.get(request.name as string);
    if (!versions) throw grpcError(5, `NOT_FOUND: Model ${request.name as string} not found`);
    return [versions.at(-1)!];
  }

  async *listModelVersionsAsync(request: Request): AsyncIterable<Record<string, unknown>> {
    this.calls.push({ method: 'listModelVersions', request });
    for (const version of this.versions.get(request.name as string) ?? []) yield version;
  }

  async uploadModel(request: Request): Promise<[VertexOperation<Record<string, unknown>>]> {
    this.calls.push({ method: 'uploadModel', request });
    if (this.uploadError) throw this.uploadError;
    const name =
      (request.parentModel as string | undefined) ?? `${request.parent as string}/models/${request.modelId as string}`;
    const versions = this.versions.get(name) ?? [];
    const versionId = String(versions.length + 1);
    versions.push({ ...(request.model as object), name, versionId });
    this.versions.set(name, versions);
    return [{ promise: async () => [{ model: name, modelVersionId: versionId }] }];
  }

  async mergeVersionAliases(request: Request): Promise<[Record<string, unknown>]> {
    this.calls.push({ method: 'mergeVersionAliases', request });
    const [name, versionId] = (request.name as string).split('@');
    const version = this.versions.get(name!)!.find((candidate) => candidate.versionId === versionId)!;
    for (const alias of request.versionAliases as string[]) {
      if (alias.startsWith('-'))
        version.versionAliases = (version.versionAliases ?? []).filter((held: string) => held !== alias.slice(1));
      else version.versionAliases = [...(version.versionAliases ?? []), alias];
    }
    return [version];
  }
}

const MODEL = `${PARENT}/models/mlops-churn`;

function upload(version: string) {
  return {
    modelId: 'mlops-churn',
    displayName: 'mlops churn',
    description: `gbdt ${version}`,
    artifactUri: `gs://mlops-lake/mlops/models/churn/${version}/`,
    container: {
      imageUri: 'europe-west1-docker.pkg.dev/p/mlops/platform:abc',
      command: ['node', 'services/trainer/dist/serving/main.js'],
      ports: [{ containerPort: 8080 }],
      healthRoute: '/health',
      predictRoute: '/predict',
    },
    labels: { mlops_version: version, mlops_model: 'churn' },
    versionLabel: 'mlops_version',
    alias: 'champion',
  };
}

describe('Vertex AI Model Registry upload', () => {
  it('creates the model with its first version, aliased champion', async () => {
    const client = new FakeModels();
    const registry = new VertexModelRegistry({ client, projectId: 'mlops-prod', region: 'europe-west1' });
    const outcome = await registry.uploadVersion(upload('v-aaaaaaaaaaaa'));
    expect(outcome).toEqual({ model: MODEL, versionId: '1', resourceName: `${MODEL}@1`, action: 'uploaded' });
    const request = client.calls.find((call) => call.method === 'uploadModel')!.request;
    expect(request).toEqual({
      parent: PARENT,
      modelId: 'mlops-churn',
      model: {
        displayName: 'mlops churn',
        description: 'gbdt v-aaaaaaaaaaaa',
        versionDescription: 'gbdt v-aaaaaaaaaaaa',
        artifactUri: 'gs://mlops-lake/mlops/models/churn/v-aaaaaaaaaaaa/',
        containerSpec: {
          imageUri: 'europe-west1-docker.pkg.dev/p/mlops/platform:abc',
          command: ['node', 'services/trainer/dist/serving/main.js'],
          ports: [{ containerPort: 8080 }],
          healthRoute: '/health',
          predictRoute: '/predict',
        },
        labels: { mlops_version: 'v-aaaaaaaaaaaa', mlops_model: 'churn' },
        versionAliases: ['champion'],
      },
    });
  });

  it.each([
    ['no command', { command: [] }],
    ['no port', { ports: [] }],
    ['a route that is not a path', { predictRoute: 'predict' }],
    ['the same health and predict route', { healthRoute: '/predict' }],
  ])('refuses a serving container with %s, before any call', async (_name, change) => {
    const client = new FakeModels();
    const registry = new VertexModelRegistry({ client, projectId: 'mlops-prod', region: 'europe-west1' });
    const request = upload('v-aaaaaaaaaaaa');
    await expect(
      registry.uploadVersion({ ...request, container: { ...request.container, ...change } }),
    ).rejects.toThrow(/serving container/);
    expect(client.calls).toEqual([]);
  });

  it('adds a new champion as a version of the model and takes the alias from the old one', async () => {
    const client = new FakeModels();
    const registry = new VertexModelRegistry({ client, projectId: 'mlops-prod', region: 'europe-west1' });
    await registry.uploadVersion(upload('v-aaaaaaaaaaaa'));
    const outcome = await registry.uploadVersion(upload('v-bbbbbbbbbbbb'));
    expect(outcome).toMatchObject({ versionId: '2', action: 'uploaded' });
    const second = client.calls.filter((call) => call.method === 'uploadModel')[1]!.request;
    expect(second.parentModel).toBe(MODEL);
    expect(second.modelId).toBeUndefined();
    expect(client.calls.find((call) => call.method === 'mergeVersionAliases')!.request).toEqual({
      name: `${MODEL}@1`,
      versionAliases: ['-champion'],
    });
    const versions = client.versions.get(MODEL)!;
    expect(versions.map((version) => version.versionAliases)).toEqual([[], ['champion']]);
  });

  it('only moves the alias when the version was uploaded before (mergeVersionAliases, no upload)', async () => {
    const client = new FakeModels();
    const registry = new VertexModelRegistry({ client, projectId: 'mlops-prod', region: 'europe-west1' });
    await registry.uploadVersion(upload('v-aaaaaaaaaaaa'));
    await registry.uploadVersion(upload('v-bbbbbbbbbbbb'));
    client.calls.length = 0;
    const outcome = await registry.uploadVersion(upload('v-aaaaaaaaaaaa'));
    expect(outcome).toEqual({ model: MODEL, versionId: '1', resourceName: `${MODEL}@1`, action: 'aliased' });
    expect(client.calls.filter((call) => call.method === 'uploadModel')).toEqual([]);
    expect(client.calls.filter((call) => call.method === 'mergeVersionAliases').map((call) => call.request)).toEqual([
      { name: `${MODEL}@2`, versionAliases: ['-champion'] },
      { name: `${MODEL}@1`, versionAliases: ['champion'] },
    ]);
    // Asking again changes nothing.
    client.calls.length = 0;
    await registry.uploadVersion(upload('v-aaaaaaaaaaaa'));
    expect(client.calls.map((call) => call.method)).toEqual(['getModel', 'listModelVersions']);
  });

  it.each([
    [grpcError(14, 'UNAVAILABLE'), 'transient'],
    [grpcError(3, 'INVALID_ARGUMENT: artifact_uri'), 'permanent'],
  ])('classifies a failed upload', async (error, errorClass) => {
    const client = new FakeModels();
    client.uploadError = error;
    const registry = new VertexModelRegistry({ client, projectId: 'mlops-prod', region: 'europe-west1' });
    await expect(registry.uploadVersion(upload('v-aaaaaaaaaaaa'))).rejects.toMatchObject({ errorClass });
  });

  it('refuses a local artifact folder', async () => {
    const registry = new VertexModelRegistry({
      client: new FakeModels(),
      projectId: 'mlops-prod',
      region: 'europe-west1',
    });
    await expect(
      registry.uploadVersion({ ...upload('v-aaaaaaaaaaaa'), artifactUri: '/tmp/model/' }),
    ).rejects.toMatchObject({ code: 'VERTEX.INVALID_REQUEST' });
  });
});

describe('Vertex AI call errors', () => {
  it.each([
    [{ code: 5 }, 'VERTEX.REQUEST_REFUSED'],
    [{ code: 14 }, 'VERTEX.UNAVAILABLE'],
    // The REST transport reports HTTP statuses, with Google's JSON error body as the message.
    [
      { code: 404, message: '{"error":{"code":404,"message":"Model m not found.","status":"NOT_FOUND"}}' },
      'VERTEX.REQUEST_REFUSED',
    ],
    [{ code: 503, message: 'Service Unavailable' }, 'VERTEX.UNAVAILABLE'],
    [{ code: 429, message: 'quota' }, 'VERTEX.UNAVAILABLE'],
  ])('classifies %j as %s', (thrown, code) => {
    const error = vertexCallError(
      'getModel',
      Object.assign(new Error('message' in thrown ? thrown.message : 'x'), thrown),
    );
    expect(error.code).toBe(code);
    if (thrown.code === 404) expect(error.message).toBe('Vertex AI getModel failed: Model m not found.');
  });

  it('adopts a job that already exists when the REST transport answers 409', async () => {
    const jobs = new VertexPipelineJobs({
      client: {
        createPipelineJob: async () => {
          throw Object.assign(new Error('{"error":{"code":409,"status":"ALREADY_EXISTS"}}'), { code: 409 });
        },
        getPipelineJob: async ({ name }) => [{ name, state: 3 }],
        cancelPipelineJob: async () => [{}],
      },
      projectId: 'p',
      region: 'europe-west1',
    });
    const submission = await jobs.submit({
      jobId: 'churn-train-abc',
      displayName: 'x',
      pipelineSpec: {},
      parameterValues: {},
      gcsOutputDirectory: 'gs://b/root',
    });
    expect(submission).toEqual({
      name: 'projects/p/locations/europe-west1/pipelineJobs/churn-train-abc',
      adopted: true,
    });
    expect(await jobs.read(submission.name)).toMatchObject({ state: 'RUNNING', vertexState: 'PIPELINE_STATE_RUNNING' });
  });
});
