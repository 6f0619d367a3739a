/**
 * The gcp-mode pipeline runner: compile the description to a KFP v2 PipelineSpec, store it in the
 * lake (`mlops/pipelines/`), submit it to Vertex AI Pipelines as a PipelineJob and wait. Each step
 * runs in the platform's container (`components/main.ts`) and records its output parameters in the
 * lake (`mlops/pipeline-runs/<job>/<task>/outputs.json`), or its error (`error.json`); the runner
 * reads them back, so the outcome maps to the same events and the same error codes as in-process.
 * The asynchronous trainer (gcp) submits without waiting and reads the job when its completion
 * arrives (`submit`, `read`, `cancel`); `run` submits and waits.
 */
import { type Logger, type ObjectStore, PermanentError, TransientError } from '@mlops/kernel';
import type { JsonValue } from '../components/component.js';
import { TrainerErrors } from '../errors.js';
import { assertValidPipeline, topologicalOrder, type PipelineDefinition } from './dag.js';
import { compilePipeline, kfpName, storePipelineSpec, type KfpCompileOptions } from './kfp.compiler.js';
import { preflight, resolveParameters } from './local.runner.js';
import {
  PIPELINE_RUNS_PREFIX,
  runRecordKey,
  type AsyncPipelineRunner,
  type PipelineJobProgress,
  type PipelineRunRequest,
  type PipelineRunResult,
} from './runner.port.js';

/** What a step records when it fails (read back by the runner). */
export interface StepErrorRecord {
  code: string;
  message: string;
  errorClass: 'permanent' | 'transient';
}

/** Submits and waits for a PipelineJob: `VertexPipelineJobs` of `@mlops/adapters-gcp`. */
export interface PipelineJobSubmitter {
  run(request: {
    jobId: string;
    displayName: string;
    pipelineSpec: Readonly<Record<string, unknown>>;
    parameterValues: Readonly<Record<string, unknown>>;
    gcsOutputDirectory: string;
    serviceAccount?: string;
    labels?: Readonly<Record<string, string>>;
  }): Promise<{
    name: string;
    state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
    error?: string;
    adopted: boolean;
    polls: number;
  }>;
}

/** Submits a PipelineJob without waiting, reads and cancels one: `VertexPipelineJobs` of `@mlops/adapters-gcp`. */
export interface PipelineJobControl {
  jobName(jobId: string): string;
  submit(request: Parameters<PipelineJobSubmitter['run']>[0]): Promise<{ name: string; adopted: boolean }>;
  read(
    name: string,
  ): Promise<{ name: string; state: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; error?: string }>;
  cancel(name: string): Promise<void>;
}

/** Options of {@link VertexPipelineRunner}. */
export interface VertexPipelineRunnerOptions {
  /** `run` waits for a job; the asynchronous trainer uses `submit`, `read` and `cancel`. */
  jobs: PipelineJobSubmitter & Partial<PipelineJobControl>;
  objects: ObjectStore;
  /** The job's artifact root (`config.gcp.vertexPipelineRoot`, a gs:// URI). */
  pipelineRoot: string;
  serviceAccount?: string;
  compile: KfpCompileOptions;
  log?: Logger;
}

/** Runs pipelines on Vertex AI Pipelines. */
export class VertexPipelineRunner implements AsyncPipelineRunner {
  readonly kind = 'vertex' as const;

  constructor(private readonly options: VertexPipelineRunnerOptions) {}

  /** Compile, store and describe the job of a run. */
  private async prepare(request: PipelineRunRequest) {
    const { pipeline, runKey } = request;
    assertValidPipeline(pipeline);
    const parameterValues = resolveParameters(pipeline, request.parameters);
    preflight(pipeline, parameterValues);
    const spec = compilePipeline(pipeline, { ...this.options.compile, pipelineRoot: this.options.pipelineRoot });
    const specKey = await storePipelineSpec(this.options.objects, spec);
    this.options.log?.info(`submitting ${pipeline.name} as Vertex AI PipelineJob ${runKey}`, { spec: specKey, runKey });
    return {
      jobId: runKey,
      displayName: `${pipeline.name} ${runKey}`.slice(0, 128),
      pipelineSpec: spec,
      parameterValues,
      gcsOutputDirectory: this.options.pipelineRoot,
      ...(this.options.serviceAccount ? { serviceAccount: this.options.serviceAccount } : {}),
      labels: { ...(request.labels ?? {}), pipeline: pipeline.name },
    };
  }

  async run(request: PipelineRunRequest): Promise<PipelineRunResult> {
    const { pipeline, runKey } = request;
    const outcome = await this.options.jobs.run(await this.prepare(request));
    if (outcome.state !== 'SUCCEEDED') throw await this.failure(pipeline.name, runKey, outcome);
    return this.collect(pipeline, runKey, outcome.name);
  }

  private control(): PipelineJobControl {
    const { jobs } = this.options;
    if (!jobs.submit || !jobs.read || !jobs.cancel || !jobs.jobName)
      throw new Error('the pipeline jobs client cannot submit without waiting');
    return jobs as PipelineJobControl;
  }

  /** The resource name of a run's job. */
  jobName(runKey: string): string {
    return this.control().jobName(runKey);
  }

  /** Submit the run's job and return at once; a job of the same key is adopted. */
  async submit(request: PipelineRunRequest): Promise<{ job: string; adopted: boolean }> {
    const submission = await this.control().submit(await this.prepare(request));
    return { job: submission.name, adopted: submission.adopted };
  }

  /** How a submitted job stands: its steps' outputs once it succeeded, the step's error once it failed. */
  async read(job: string, pipeline: PipelineDefinition, runKey: string): Promise<PipelineJobProgress> {
    const status = await this.control().read(job);
    if (status.state === 'RUNNING') return { state: 'running', job: status.name };
    if (status.state !== 'SUCCEEDED')
      return { state: 'failed', job: status.name, error: await this.failure(pipeline.name, runKey, status) };
    return { state: 'succeeded', job: status.name, result: await this.collect(pipeline, runKey, status.name) };
  }

  /** Cancel a submitted job. */
  async cancel(job: string): Promise<void> {
    await this.control().cancel(job);
  }

  /** What every step of a succeeded job recorded. */
  private async collect(pipeline: PipelineDefinition, runKey: string, job: string): Promise<PipelineRunResult> {
    const result: PipelineRunResult = { pipeline: pipeline.name, runKey, tasks: {}, job };
    for (const name of topologicalOrder(pipeline)) {
      const key = runRecordKey(runKey, kfpName(name), 'outputs.json');
      let outputs: Record<string, JsonValue>;
      try {
        outputs = JSON.parse((await this.options.objects.get(key)).toString('utf8')) as Record<string, JsonValue>;
      } catch (error) {
        throw TrainerErrors.pipelineFailed(
          pipeline.name,
          `job ${job} succeeded but step ${name} left no outputs at ${key}`,
          true,
          error,
        );
      }
      result.tasks[name] = { outputs, durationMs: 0 };
    }
    return result;
  }

  /** The error of a failed job: a step's recorded error keeps its code and class. */
  private async failure(
    pipeline: string,
    runKey: string,
    outcome: { name: string; state: string; error?: string },
  ): Promise<Error> {
    const records = (await this.options.objects.list(`${PIPELINE_RUNS_PREFIX}/${runKey}/`)).filter((meta) =>
      meta.key.endsWith('/error.json'),
    );
    for (const meta of records) {
      try {
        const record = JSON.parse((await this.options.objects.get(meta.key)).toString('utf8')) as StepErrorRecord;
        const message = `${record.message} (Vertex AI job ${outcome.name})`;
        return record.errorClass === 'transient'
          ? new TransientError(record.code, message)
          : new PermanentError(record.code, message);
      } catch {
        // An unreadable record: fall through to the job's own error.
      }
    }
    // Cancelled by someone else, or failed outside our code (quota, image pull): worth a retry.
    return TrainerErrors.pipelineFailed(
      pipeline,
      `Vertex AI job ${outcome.name} ended ${outcome.state}${outcome.error ? `: ${outcome.error}` : ''}`,
      true,
    );
  }
}
