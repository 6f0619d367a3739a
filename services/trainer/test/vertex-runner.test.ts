/**
 * The gcp path at its boundaries: the runner submits the compiled spec and reads back what the
 * steps recorded; a step runs from a KFP ExecutorInput and records its outputs or its error.
 */
import { describe, expect, it } from 'vitest';
import { ModelRegistry, silentLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, InMemoryObjectStore } from '@mlops/testing';
import { defineComponent } from '../src/components/component.js';
import { parseComponentArgs, runComponentMain } from '../src/components/step-main.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from '../src/pipeline/churn.pipeline.js';
import { executeComponent, localPathOf, type ArtifactFiles, type ExecutorInput } from '../src/pipeline/kfp.executor.js';
import { runRecordKey } from '../src/pipeline/runner.port.js';
import { VertexPipelineRunner, type PipelineJobSubmitter } from '../src/pipeline/vertex.runner.js';

type Submission = Parameters<PipelineJobSubmitter['run']>[0];

/** Vertex as seen by the runner: records the submission, then plays the steps' lake records. */
class FakeVertex implements PipelineJobSubmitter {
  readonly submissions: Submission[] = [];
  constructor(
    private readonly objects: InMemoryObjectStore,
    private readonly play: (jobId: string) => Promise<{ state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error?: string }>,
  ) {}
  async run(request: Submission) {
    this.submissions.push(request);
    const outcome = await this.play(request.jobId);
    return {
      name: `projects/p/locations/europe-west1/pipelineJobs/${request.jobId}`,
      adopted: false,
      polls: 3,
      ...outcome,
    };
  }
}

function runner(objects: InMemoryObjectStore, vertex: FakeVertex) {
  return new VertexPipelineRunner({
    jobs: vertex,
    objects,
    pipelineRoot: 'gs://lake/mlops/pipeline-root',
    serviceAccount: 'sa@p.iam.gserviceaccount.com',
    compile: { image: 'img:1', env: { MLOPS_MODE: 'gcp' } },
    log: silentLogger,
  });
}

describe('Vertex pipeline runner', () => {
  it("stores the spec under mlops/pipelines/, submits it with resolved parameters and reads every step's outputs", async () => {
    const objects = new InMemoryObjectStore();
    const vertex = new FakeVertex(objects, async (jobId) => {
      await objects.put(
        runRecordKey(jobId, 'batch-predict', 'outputs.json'),
        JSON.stringify({
          model_version: 'v-aaaaaaaaaaaa',
          predictions: [{ snapshotDate: '2026-01-31', rows: 3, riskBands: { low: 1, medium: 1, high: 1 } }],
        }),
      );
      return { state: 'SUCCEEDED' };
    });
    const result = await runner(objects, vertex).run({
      pipeline: CHURN_PREDICT_PIPELINE,
      parameters: {
        model_version: 'v-aaaaaaaaaaaa',
        snapshot_dates: ['2026-01-31'],
        predicted_at: '2026-01-31T06:00:00.000Z',
      },
      runKey: 'churn-predict-abc-a1',
      labels: { run_id: 'run-1' },
    });
    expect(result.job).toBe('projects/p/locations/europe-west1/pipelineJobs/churn-predict-abc-a1');
    expect(result.tasks.batch_predict?.outputs.model_version).toBe('v-aaaaaaaaaaaa');
    const submission = vertex.submissions[0]!;
    expect(submission.jobId).toBe('churn-predict-abc-a1');
    expect(submission.gcsOutputDirectory).toBe('gs://lake/mlops/pipeline-root');
    expect(submission.serviceAccount).toBe('sa@p.iam.gserviceaccount.com');
    expect(submission.labels).toEqual({ run_id: 'run-1', pipeline: 'mlops-churn-batch-predict' });
    expect(submission.parameterValues).toMatchObject({
      model_version: 'v-aaaaaaaaaaaa',
      model_name: 'churn',
      high_threshold: 0.6,
      snapshot_dates: ['2026-01-31'],
    });
    const stored = await objects.list('mlops/pipelines/mlops-churn-batch-predict/');
    expect(stored.map((meta) => meta.key)).toContain('mlops/pipelines/mlops-churn-batch-predict/latest.json');
    expect(JSON.parse((await objects.get('mlops/pipelines/mlops-churn-batch-predict/latest.json')).toString())).toEqual(
      submission.pipelineSpec,
    );
  });

  it('fails a run with the code and class a step recorded', async () => {
    const objects = new InMemoryObjectStore();
    const vertex = new FakeVertex(objects, async (jobId) => {
      await objects.put(
        runRecordKey(jobId, 'features', 'error.json'),
        JSON.stringify({
          code: 'TRAINER.NON_FINITE_FEATURE',
          message: 'feature "x" is NaN in row 3',
          errorClass: 'permanent',
        }),
      );
      return { state: 'FAILED', error: 'The DAG failed because some tasks failed. The failed tasks are: [features].' };
    });
    const run = runner(objects, vertex).run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: { as_of: '2026-01-31', code_version: 'c', created_at: 't', snapshot_dates: [], predicted_at: 't' },
      runKey: 'churn-train-x-a1',
    });
    await expect(run).rejects.toMatchObject({ code: 'TRAINER.NON_FINITE_FEATURE', errorClass: 'permanent' });
  });

  it('treats a job that failed outside our steps (quota, cancelled) as transient', async () => {
    const objects = new InMemoryObjectStore();
    const vertex = new FakeVertex(objects, async () => ({ state: 'CANCELLED' }));
    const run = runner(objects, vertex).run({
      pipeline: CHURN_PREDICT_PIPELINE,
      parameters: { model_version: 'v-a', snapshot_dates: [], predicted_at: 't' },
      runKey: 'churn-predict-y-a1',
    });
    await expect(run).rejects.toMatchObject({ code: 'TRAINER.PIPELINE_FAILED', errorClass: 'transient' });
  });

  it('refuses a run with a parameter of the wrong type before submitting', async () => {
    const objects = new InMemoryObjectStore();
    const vertex = new FakeVertex(objects, async () => ({ state: 'SUCCEEDED' }));
    await expect(
      runner(objects, vertex).run({
        pipeline: CHURN_PREDICT_PIPELINE,
        parameters: { model_version: 'v-a', snapshot_dates: '2026-01-31', predicted_at: 't' },
        runKey: 'k',
      }),
    ).rejects.toMatchObject({
      code: 'TRAINER.INVALID_PIPELINE',
    });
    expect(vertex.submissions).toEqual([]);
  });
});

/** Files in memory, as the step would see /gcs/... */
class MemoryFiles implements ArtifactFiles {
  readonly files = new Map<string, Buffer>();
  async read(path: string): Promise<Buffer> {
    const bytes = this.files.get(path);
    if (!bytes) throw new Error(`ENOENT ${path}`);
    return bytes;
  }
  async write(path: string, bytes: Uint8Array | string): Promise<void> {
    this.files.set(path, Buffer.from(bytes));
  }
}

const upper = defineComponent({
  name: 'upper',
  description: 'test step',
  io: {
    parameters: { times: { type: 'NUMBER_INTEGER', description: '' } },
    artifacts: { text: { type: 'system.Dataset', description: '' } },
    outputParameters: { length: { type: 'NUMBER_INTEGER', description: '' } },
    outputArtifacts: { shout: { type: 'system.Artifact', description: '' } },
  },
  async run({ params, artifacts, outputs }) {
    const text = (await artifacts.text.read()).toString();
    if (text === 'NaN') throw new Error('cannot shout NaN');
    const out = text.toUpperCase().repeat(params.times);
    await outputs.shout.write(out, { chars: out.length });
    return { length: out.length };
  },
});

const deps = {
  warehouse: undefined as never,
  objects: new InMemoryObjectStore(),
  registry: new ModelRegistry(new InMemoryDocumentStore()),
  log: silentLogger,
};

function executorInput(): ExecutorInput {
  return {
    inputs: {
      parameterValues: { times: 2 },
      artifacts: {
        text: {
          artifacts: [
            {
              name: 'projects/p/locations/r/metadataStores/default/artifacts/1',
              uri: 'gs://lake/root/job/features/text',
              type: { schemaTitle: 'system.Dataset' },
            },
          ],
        },
      },
    },
    outputs: {
      parameters: { length: { outputFile: '/gcs/lake/root/job/upper/length' } },
      artifacts: {
        shout: {
          artifacts: [
            {
              name: 'projects/p/locations/r/metadataStores/default/artifacts/2',
              uri: 'gs://lake/root/job/upper/shout',
              type: { schemaTitle: 'system.Artifact' },
            },
          ],
        },
      },
      outputFile: '/gcs/lake/root/job/upper/executor_output.json',
    },
  };
}

describe('a pipeline step from its ExecutorInput', () => {
  it('reads inputs through /gcs/, writes the artifact, the ExecutorOutput and the lake record', async () => {
    const files = new MemoryFiles();
    files.files.set('/gcs/lake/root/job/features/text', Buffer.from('abc'));
    const objects = new InMemoryObjectStore();
    await executeComponent(upper as never, executorInput(), {
      deps,
      files,
      record: { objects, jobId: 'churn-train-x-a1', task: 'upper' },
    });
    expect(files.files.get('/gcs/lake/root/job/upper/shout')?.toString()).toBe('ABCABC');
    expect(JSON.parse(files.files.get('/gcs/lake/root/job/upper/executor_output.json')!.toString())).toEqual({
      parameterValues: { length: 6 },
      artifacts: {
        shout: {
          artifacts: [
            {
              name: 'projects/p/locations/r/metadataStores/default/artifacts/2',
              uri: 'gs://lake/root/job/upper/shout',
              metadata: { chars: 6 },
            },
          ],
        },
      },
    });
    expect(
      JSON.parse((await objects.get('mlops/pipeline-runs/churn-train-x-a1/upper/outputs.json')).toString()),
    ).toEqual({ length: 6 });
  });

  it('records a failure with its code for the trainer, and rethrows', async () => {
    const files = new MemoryFiles();
    files.files.set('/gcs/lake/root/job/features/text', Buffer.from('NaN'));
    const objects = new InMemoryObjectStore();
    await expect(
      executeComponent(upper as never, executorInput(), {
        deps,
        files,
        record: { objects, jobId: 'j', task: 'upper' },
      }),
    ).rejects.toThrow('cannot shout NaN');
    expect(JSON.parse((await objects.get('mlops/pipeline-runs/j/upper/error.json')).toString())).toEqual({
      code: 'INTERNAL.UNEXPECTED',
      message: 'cannot shout NaN',
      errorClass: 'transient',
    });
  });

  it('refuses an ExecutorInput whose parameter has the wrong type', async () => {
    const input = executorInput();
    input.inputs!.parameterValues = { times: 'two' };
    await expect(executeComponent(upper as never, input, { deps, files: new MemoryFiles() })).rejects.toMatchObject({
      code: 'TRAINER.INVALID_COMPONENT_IO',
    });
  });

  it('maps gs:// URIs to the /gcs/ mount', () => {
    expect(localPathOf('gs://bucket/a/b')).toBe('/gcs/bucket/a/b');
    expect(localPathOf('/tmp/x')).toBe('/tmp/x');
  });

  it('parses the container arguments the compiled spec passes', () => {
    const parsed = parseComponentArgs([
      'batch_predict',
      '--executor_input',
      '{"inputs":{}}',
      '--pipeline_job',
      'projects/p/locations/r/pipelineJobs/churn-predict-abc-a1',
      '--task',
      'batch-predict',
    ]);
    expect(parsed).toEqual({
      component: 'batch_predict',
      executorInput: { inputs: {} },
      jobId: 'churn-predict-abc-a1',
      task: 'batch-predict',
    });
    expect(() => parseComponentArgs(['xgboost', '--executor_input', '{}'])).toThrow(
      expect.objectContaining({ code: 'TRAINER.UNKNOWN_COMPONENT' }),
    );
  });

  it('prints its usage and the components on --help, without building a platform', async () => {
    const printed: string[] = [];
    expect(await runComponentMain(['--help'], { MLOPS_MODE: 'no-such-mode' }, (text) => printed.push(text))).toBe(0);
    expect(printed.join('\n')).toMatch(/^Usage: node services\/trainer\/dist\/components\/main\.js <component>/);
    expect(printed.join('\n')).toContain('features, train, evaluate, refit, register, batch_predict');
  });
});
