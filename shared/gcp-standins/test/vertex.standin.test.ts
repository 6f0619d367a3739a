/**
 * The Vertex AI stand-in through the real `@google-cloud/aiplatform` clients (REST): a KFP spec's
 * container tasks run as processes in order, parameters and artifacts passed on; failures, cancels
 * and what the stand-in does not implement are answered as Vertex would, or refused loudly.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@google-cloud/aiplatform';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVertexStandin, type VertexStandin } from '../src/index.js';

const PARENT = 'projects/p-standin/locations/europe-west1';
const ROOT = 'gs://lake/pipeline-root';

// A step: reads its ExecutorInput, writes its output artifact under the mount and its ExecutorOutput.
const STEP = `
const args = process.argv.slice(1);
const input = JSON.parse(args[args.indexOf('--executor_input') + 1]);
const task = args[args.indexOf('--task') + 1];
const fs = require('node:fs'); const path = require('node:path');
const local = (uri) => path.join(process.env.MLOPS_GCS_MOUNT, uri.slice(5));
const p = input.inputs.parameterValues;
if (p.fail) { console.error('step refused: ' + p.fail); process.exit(3); }
if (p.sleep) setTimeout(() => {}, 60000);
else {
  const out = input.outputs.artifacts.data.artifacts[0].uri;
  const seen = input.inputs.artifacts?.source ? fs.readFileSync(local(input.inputs.artifacts.source.artifacts[0].uri), 'utf8') : '';
  fs.mkdirSync(path.dirname(local(out)), { recursive: true });
  fs.writeFileSync(local(out), JSON.stringify({ task, p, seen, job: args[args.indexOf('--job') + 1] }));
  fs.writeFileSync(input.outputs.outputFile, JSON.stringify({ parameterValues: { count: (p.n ?? 0) * 2 } }));
}
`;

function spec(overrides: { caching?: boolean; args?: string[] } = {}): Record<string, unknown> {
  const component = (inputs: Record<string, unknown>) => ({
    executorLabel: 'exec-step',
    inputDefinitions: inputs,
    outputDefinitions: {
      parameters: { count: { parameterType: 'NUMBER_INTEGER' } },
      artifacts: { data: { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } },
    },
  });
  return {
    schemaVersion: '2.1.0',
    sdkVersion: 'kfp-2.9.0',
    pipelineInfo: { name: 'standin-test' },
    root: {
      inputDefinitions: {
        parameters: {
          n: { parameterType: 'NUMBER_INTEGER', defaultValue: 2, isOptional: true },
          fail: { parameterType: 'STRING', defaultValue: '', isOptional: true },
          sleep: { parameterType: 'BOOLEAN', defaultValue: false, isOptional: true },
        },
      },
      dag: {
        tasks: {
          second: {
            componentRef: { name: 'comp-second' },
            dependentTasks: ['first'],
            inputs: {
              parameters: { n: { taskOutputParameter: { producerTask: 'first', outputParameterKey: 'count' } } },
              artifacts: { source: { taskOutputArtifact: { producerTask: 'first', outputArtifactKey: 'data' } } },
            },
            taskInfo: { name: 'second' },
          },
          first: {
            componentRef: { name: 'comp-first' },
            inputs: {
              parameters: {
                n: { componentInputParameter: 'n' },
                fail: { componentInputParameter: 'fail' },
                sleep: { componentInputParameter: 'sleep' },
              },
            },
            taskInfo: { name: 'first' },
            ...(overrides.caching ? { cachingOptions: { enableCache: true } } : {}),
          },
        },
      },
    },
    components: {
      'comp-first': component({
        parameters: {
          n: { parameterType: 'NUMBER_INTEGER' },
          fail: { parameterType: 'STRING' },
          sleep: { parameterType: 'BOOLEAN' },
        },
      }),
      'comp-second': component({
        parameters: { n: { parameterType: 'NUMBER_INTEGER' } },
        artifacts: { source: { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } } },
      }),
    },
    deploymentSpec: {
      executors: {
        'exec-step': {
          container: {
            image: 'img:1',
            command: ['node', '-e', STEP, '--'],
            args: overrides.args ?? [
              '--executor_input',
              '{{$}}',
              '--job',
              '{{$.pipeline_job_name}}',
              '--task',
              '{{$.pipeline_task_name}}',
            ],
          },
        },
      },
    },
  };
}

function toStruct(value: unknown): unknown {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toStruct) } };
  return {
    structValue: { fields: Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, toStruct(v)])) },
  };
}

describe('Vertex AI stand-in', () => {
  const mount = mkdtempSync(join(tmpdir(), 'vertex-standin-test-'));
  const entries: Record<string, unknown>[] = [];
  let standin: VertexStandin;
  let pipelines: InstanceType<typeof v1.PipelineServiceClient>;
  let models: InstanceType<typeof v1.ModelServiceClient>;

  const create = (id: string, parameters: Record<string, unknown> = {}, pipelineSpec = spec(), extra = {}) =>
    pipelines.createPipelineJob({
      parent: PARENT,
      pipelineJobId: id,
      pipelineJob: {
        displayName: id,
        pipelineSpec: (toStruct(pipelineSpec) as { structValue: object }).structValue,
        runtimeConfig: {
          gcsOutputDirectory: ROOT,
          parameterValues: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, toStruct(v) as object])),
        },
        ...extra,
      },
    });
  const refusal = async (call: Promise<unknown>) => {
    const error = (await call.then(
      () => undefined,
      (thrown: unknown) => thrown,
    )) as { code?: number; message?: string } | undefined;
    return { code: error?.code, message: error?.message ?? '' };
  };

  beforeAll(async () => {
    standin = await startVertexStandin({
      projectId: 'p-standin',
      gcsMount: mount,
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
  });

  afterAll(async () => {
    await pipelines?.close();
    await models?.close();
    await standin?.close();
    rmSync(mount, { recursive: true, force: true });
  });

  it('runs the tasks in order as processes, passing parameters and artifacts, and logs the end', async () => {
    const [created] = await create('job-ok', { n: 5 });
    expect(created.state).toMatch(/PIPELINE_STATE_(PENDING|RUNNING)/);
    await standin.idle();
    const [job] = await pipelines.getPipelineJob({ name: `${PARENT}/pipelineJobs/job-ok` });
    expect(job.state).toBe('PIPELINE_STATE_SUCCEEDED');
    expect(job.jobDetail?.taskDetails?.map((task) => [task.taskName, task.state])).toEqual([
      ['first', 'SUCCEEDED'],
      ['second', 'SUCCEEDED'],
    ]);
    expect(standin.jobs().find((j) => j.name.endsWith('/job-ok'))?.state).toBe('PIPELINE_STATE_SUCCEEDED');
    const [second] = readdirSync(join(mount, 'lake/pipeline-root/123456789012/job-ok')).filter((d) =>
      d.startsWith('second_'),
    );
    const written = JSON.parse(
      readFileSync(join(mount, 'lake/pipeline-root/123456789012/job-ok', second!, 'data'), 'utf8'),
    );
    // `second` got first's count (5 * 2) and read first's artifact.
    expect(written).toMatchObject({ task: 'second', p: { n: 10 }, job: 'job-ok' });
    expect(JSON.parse(written.seen)).toMatchObject({ task: 'first', p: { n: 5, fail: '', sleep: false } });
    const entry = entries.find(
      (e) => (e.resource as { labels: { pipeline_job_id: string } }).labels.pipeline_job_id === 'job-ok',
    );
    expect(entry).toMatchObject({
      logName: 'projects/p-standin/logs/aiplatform.googleapis.com%2Fpipeline_job_events',
      resource: { type: 'aiplatform.googleapis.com/PipelineJob' },
      jsonPayload: { state: 'PIPELINE_STATE_SUCCEEDED' },
    });
  });

  it('answers an existing job id with ALREADY_EXISTS', async () => {
    expect((await refusal(create('job-ok'))).code).toBe(409);
  });

  it('fails the job at the failing task, with its exit code and output, and runs nothing after it', async () => {
    await create('job-fails', { fail: 'no table' });
    await standin.idle();
    const [job] = await pipelines.getPipelineJob({ name: `${PARENT}/pipelineJobs/job-fails` });
    expect(job.state).toBe('PIPELINE_STATE_FAILED');
    expect(job.error?.message).toContain('The failed tasks are: [first]');
    expect(job.error?.message).toContain('exited with code 3');
    expect(job.error?.message).toContain('step refused: no table');
    expect(job.jobDetail?.taskDetails?.map((task) => task.taskName)).toEqual(['first']);
  });

  it('cancels a running job: its process is stopped and the job ends CANCELLED', async () => {
    await create('job-slow', { sleep: true });
    const name = `${PARENT}/pipelineJobs/job-slow`;
    for (let i = 0; i < 100 && (await pipelines.getPipelineJob({ name }))[0].state !== 'PIPELINE_STATE_RUNNING'; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await pipelines.cancelPipelineJob({ name });
    await standin.idle();
    expect((await pipelines.getPipelineJob({ name }))[0].state).toBe('PIPELINE_STATE_CANCELLED');
    expect((await refusal(pipelines.cancelPipelineJob({ name }))).code).toBe(400);
  });

  it.each([
    ['execution caching', () => create('job-cache', {}, spec({ caching: true })), 501, 'caching'],
    [
      'an unknown placeholder',
      () => create('job-ph', {}, spec({ args: ['{{$.inputs.parameters.n}}'] })),
      501,
      'placeholder',
    ],
    ['a parameter the pipeline does not declare', () => create('job-param', { m: 1 }), 400, 'parameterValues.m'],
    ['a parameter of the wrong type', () => create('job-type', { n: 'five' }), 400, 'NUMBER_INTEGER'],
    ['a request field it does not implement', () => create('job-net', {}, spec(), { network: 'vpc' }), 501, 'network'],
    ['a bad job id', () => create('Job_Bad'), 400, 'pipeline_job_id'],
    [
      'another project',
      () => pipelines.getPipelineJob({ name: 'projects/other/locations/europe-west1/pipelineJobs/x' }),
      501,
      'project other',
    ],
    ['listing jobs', () => pipelines.listPipelineJobs({ parent: PARENT }), 501, 'does not implement'],
    ['an unknown job', () => pipelines.getPipelineJob({ name: `${PARENT}/pipelineJobs/nope` }), 404, 'not found'],
  ])('refuses %s', async (_what, call, status, text) => {
    const { code, message } = await refusal(call());
    expect(code).toBe(status);
    expect(message).toContain(text);
  });

  it('refuses a request without a bearer token', async () => {
    const response = await fetch(`${standin.endpoint}/v1/${PARENT}/pipelineJobs/job-ok`);
    expect(response.status).toBe(401);
  });

  it('keeps model versions with aliases that name one version at a time', async () => {
    const upload = async (parentModel?: string) => {
      const [operation] = await models.uploadModel({
        parent: PARENT,
        ...(parentModel ? { parentModel } : { modelId: 'churn' }),
        model: {
          displayName: 'churn',
          artifactUri: 'gs://lake/models/v1/',
          containerSpec: {
            imageUri: 'img:1',
            command: ['node'],
            ports: [{ containerPort: 8080 }],
            healthRoute: '/h',
            predictRoute: '/p',
          },
          labels: { mlops_version: parentModel ? 'v2' : 'v1' },
          versionAliases: parentModel ? [] : ['champion'],
        },
      });
      return (await operation.promise())[0];
    };
    expect((await refusal(models.getModel({ name: `${PARENT}/models/churn` }))).code).toBe(404);
    expect(await upload()).toMatchObject({ model: `${PARENT}/models/churn`, modelVersionId: '1' });
    expect(await upload(`${PARENT}/models/churn`)).toMatchObject({ modelVersionId: '2' });
    const versions = [];
    for await (const version of models.listModelVersionsAsync({ name: `${PARENT}/models/churn` }))
      versions.push(version);
    expect(versions.map((v) => [v.versionId, v.versionAliases])).toEqual([
      ['1', ['default', 'champion']],
      ['2', []],
    ]);
    expect(
      (await refusal(models.mergeVersionAliases({ name: `${PARENT}/models/churn@2`, versionAliases: ['champion'] })))
        .code,
    ).toBe(400);
    await models.mergeVersionAliases({ name: `${PARENT}/models/churn@1`, versionAliases: ['-champion'] });
    await models.mergeVersionAliases({ name: `${PARENT}/models/churn@2`, versionAliases: ['champion'] });
    expect((await models.getModel({ name: `${PARENT}/models/churn@champion` }))[0].labels).toMatchObject({
      mlops_version: 'v2',
    });
  });
});
