/**
 * A stand-in for Vertex AI (v1, REST as `@google-cloud/aiplatform` sends it with `fallback: true`,
 * enums as numbers): the PipelineService calls of the trainer (create, get and cancel a
 * PipelineJob) and the ModelService calls of the champion's upload. Reached with
 * `new v1.PipelineServiceClient({ fallback: true, apiEndpoint: '127.0.0.1', port, protocol: 'http' })`
 * (the product: `VERTEX_API_ENDPOINT=http://127.0.0.1:PORT`). Requests need a bearer token (401
 * otherwise); it is not checked against the metadata server.
 *
 * A job runs its compiled spec's container tasks as local processes (`pipeline-jobs.ts`). Each state
 * change is handed to `onLogEntry` as the LogEntry Cloud Logging writes for it, which the
 * deployment's log sink publishes on `vertex-completions`. From Google's documentation: log
 * `projects/P/logs/aiplatform.googleapis.com%2Fpipeline_job_events`, resource type
 * `aiplatform.googleapis.com/PipelineJob` ("Vertex Pipelines Job") with the `pipeline_job_id`
 * label; the payload's `state` (`PIPELINE_STATE_*`) is all that is relied on of `jsonPayload`, and
 * the consumer re-reads the job anyway. By default only terminal states are handed over, as the
 * sink's filter passes only those.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HttpError,
  NotImplementedError,
  onlyFields,
  onlyParams,
  readJson,
  sendJson,
  serve,
  stderrLog,
  type StandinLog,
} from '../http/server.js';
import { StandinModels } from './model-service.js';
import {
  PIPELINE_STATE,
  executeJob,
  isTerminal,
  pipelineStateName,
  type PipelineJobRecord,
  type StepRunOptions,
} from './pipeline-jobs.js';
import { checkPipelineSpec, resolveRootParameters, type ContainerExecutor } from './pipeline-spec.js';

/** Options of {@link startVertexStandin}. */
export interface VertexStandinOptions {
  projectId: string;
  /** The one location served (default `europe-west1`). */
  location?: string;
  /** Working directory of the step processes, the image's working directory (default: this process's). */
  cwd?: string;
  /** Environment of the step processes, under each container's own `env` (default: PATH and HOME only). */
  env?: Record<string, string>;
  /**
   * The argv prefix that runs a container's `command` here, e.g. the TypeScript source instead of
   * the image's compiled `dist/` (default: the command as the spec gives it).
   */
  command?: (container: ContainerExecutor) => string[];
  /** Folder standing for the steps' `/gcs/` mount (`MLOPS_GCS_MOUNT` of the steps); default a temporary one. */
  gcsMount?: string;
  /** Longest a task may run before it is killed and fails (default 1 hour). */
  taskTimeoutMs?: number;
  /** The LogEntry of a job state change: what the log sink publishes on `vertex-completions`. */
  onLogEntry?: (entry: Record<string, unknown>) => void | Promise<void>;
  /** Hand over every state change, not only the terminal ones the sink's filter passes. */
  allStates?: boolean;
  log?: StandinLog;
}

/** A running Vertex AI stand-in. */
export interface VertexStandin {
  /** `http://127.0.0.1:<port>`: `VERTEX_API_ENDPOINT`. */
  readonly endpoint: string;
  readonly port: number;
  /** The jobs created so far, by resource name (read-only views for tests). */
  jobs(): { name: string; state: string; tasks: { taskName: string; state: number }[] }[];
  /** Resolves when every job created so far has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const PROJECT_NUMBER = '123456789012';
const ALT_PARAM = '$alt';
const JOB_ID = /^[a-z][-a-z0-9]{0,127}$/;
const LOCATION = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/(.+)$/;

function jobView(job: PipelineJobRecord): Record<string, unknown> {
  return {
    name: job.name,
    displayName: job.displayName,
    createTime: job.createTime,
    updateTime: job.updateTime,
    ...(job.startTime ? { startTime: job.startTime } : {}),
    ...(job.endTime ? { endTime: job.endTime } : {}),
    pipelineSpec: job.pipelineSpec,
    state: job.state,
    labels: job.labels,
    runtimeConfig: { gcsOutputDirectory: job.gcsOutputDirectory, parameterValues: job.parameterValues },
    ...(job.serviceAccount ? { serviceAccount: job.serviceAccount } : {}),
    ...(job.error ? { error: job.error } : {}),
    jobDetail: { taskDetails: job.tasks },
  };
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0);
}

/** Start the Vertex AI stand-in on 127.0.0.1 (a free port unless `port`). */
export async function startVertexStandin(options: VertexStandinOptions, port = 0): Promise<VertexStandin> {
  const log = options.log ?? stderrLog;
  const location = options.location ?? 'europe-west1';
  const parent = `projects/${options.projectId}/locations/${location}`;
  const workDir = mkdtempSync(join(tmpdir(), 'vertex-standin-'));
  const jobs = new Map<string, PipelineJobRecord>();
  const models = new StandinModels();
  let queue: Promise<void> = Promise.resolve();

  const logEntry = (job: PipelineJobRecord): Record<string, unknown> => {
    const time = new Date().toISOString();
    const state = pipelineStateName(job.state);
    return {
      insertId: randomUUID().replaceAll('-', '').slice(0, 14),
      logName: `projects/${options.projectId}/logs/aiplatform.googleapis.com%2Fpipeline_job_events`,
      resource: {
        type: 'aiplatform.googleapis.com/PipelineJob',
        labels: { pipeline_job_id: job.id, location, resource_container: options.projectId },
      },
      jsonPayload: { pipelineName: job.spec.name, state, ...(job.error ? { error: job.error } : {}) },
      labels: job.labels,
      severity: job.state === PIPELINE_STATE.FAILED ? 'ERROR' : 'INFO',
      timestamp: time,
      receiveTimestamp: time,
    };
  };
  const steps: StepRunOptions = {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
    },
    ...(options.command ? { command: options.command } : {}),
    gcsMount: options.gcsMount ?? join(workDir, 'gcs'),
    workDir: join(workDir, 'jobs'),
    projectNumber: PROJECT_NUMBER,
    taskTimeoutMs: options.taskTimeoutMs ?? 60 * 60 * 1000,
    log,
    changed: async (job) => {
      if (options.allStates || isTerminal(job.state)) await options.onLogEntry?.(logEntry(job));
    },
  };

  const createJob = (body: Record<string, unknown>, url: URL): Record<string, unknown> => {
    onlyParams(url, [ALT_PARAM, 'pipelineJobId'], 'createPipelineJob');
    onlyFields(body, ['displayName', 'pipelineSpec', 'labels', 'runtimeConfig', 'serviceAccount'], 'PipelineJob');
    const runtime = (body.runtimeConfig ?? {}) as Record<string, unknown>;
    onlyFields(runtime, ['gcsOutputDirectory', 'parameterValues', 'parameters', 'inputArtifacts'], 'runtimeConfig');
    // The client sends the deprecated `parameters` and `inputArtifacts` maps, empty.
    if (!isEmpty(runtime.parameters)) throw new NotImplementedError('runtimeConfig.parameters (use parameterValues)');
    if (!isEmpty(runtime.inputArtifacts)) throw new NotImplementedError('runtimeConfig.inputArtifacts');
    const id = url.searchParams.get('pipelineJobId') ?? `job-${randomUUID()}`;
    if (!JOB_ID.test(id)) throw new HttpError(400, 'invalid', `pipeline_job_id ${id} must match [a-z][-a-z0-9]{0,127}`);
    const name = `${parent}/pipelineJobs/${id}`;
    if (jobs.has(name)) throw new HttpError(409, 'alreadyExists', `PipelineJob ${name} already exists.`);
    const spec = checkPipelineSpec(body.pipelineSpec);
    const root = String(runtime.gcsOutputDirectory ?? spec.defaultPipelineRoot ?? '');
    if (!root.startsWith('gs://'))
      throw new HttpError(400, 'invalid', 'runtimeConfig.gcsOutputDirectory must be a gs:// URI.');
    const labels = (body.labels ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(labels))
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key) || !/^[a-z0-9_-]{0,63}$/.test(value))
        throw new HttpError(400, 'invalid', `label ${key}=${value} is not valid.`);
    const time = new Date().toISOString();
    const job: PipelineJobRecord = {
      name,
      id,
      displayName: String(body.displayName ?? id),
      pipelineSpec: body.pipelineSpec as Record<string, unknown>,
      spec,
      labels: { ...labels, 'vertex-ai-pipelines-run-billing-id': id.slice(0, 63) },
      gcsOutputDirectory: root,
      parameterValues: resolveRootParameters(spec, (runtime.parameterValues ?? {}) as Record<string, unknown>),
      ...(body.serviceAccount ? { serviceAccount: String(body.serviceAccount) } : {}),
      state: PIPELINE_STATE.PENDING,
      createTime: time,
      updateTime: time,
      tasks: [],
    };
    jobs.set(name, job);
    queue = queue.then(() =>
      executeJob(job, steps).catch((error: unknown) =>
        log({ severity: 'ERROR', standin: 'vertex', message: `pipeline job ${name} broke: ${String(error)}` }),
      ),
    );
    return jobView(job);
  };

  const cancelJob = async (job: PipelineJobRecord) => {
    if (isTerminal(job.state))
      throw new HttpError(400, 'failedPrecondition', `PipelineJob ${job.name} is already in a final state.`);
    if (job.state === PIPELINE_STATE.PENDING) {
      job.state = PIPELINE_STATE.CANCELLED;
      job.endTime = new Date().toISOString();
      job.error = { code: 1, message: 'CANCELLED: the pipeline job was cancelled.' };
      await steps.changed(job);
      return;
    }
    job.state = PIPELINE_STATE.CANCELLING;
    job.child?.kill('SIGTERM');
  };

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? ''))
      throw new HttpError(401, 'unauthorized', 'Request is missing required authentication credential.');
    const path = decodeURIComponent(url.pathname);
    const scoped = LOCATION.exec(path);
    if (!scoped) throw new NotImplementedError(`${req.method} ${url.pathname}`);
    const [, project, where, rest] = scoped as unknown as [string, string, string, string];
    if (project !== options.projectId && project !== PROJECT_NUMBER)
      throw new NotImplementedError(`project ${project} (the stand-in serves ${options.projectId})`);
    if (where !== location) throw new NotImplementedError(`location ${where} (the stand-in serves ${location})`);
    const method = req.method ?? 'GET';
    if (rest === 'pipelineJobs' && method === 'POST') return sendJson(res, 200, createJob(await readJson(req), url));
    const jobPath = /^pipelineJobs\/([^/:]+)(:cancel)?$/.exec(rest);
    if (jobPath) {
      const job = jobs.get(`${parent}/pipelineJobs/${jobPath[1]}`);
      if (!job) throw new HttpError(404, 'notFound', `PipelineJob ${parent}/pipelineJobs/${jobPath[1]} not found.`);
      if (!jobPath[2] && method === 'GET') {
        onlyParams(url, [ALT_PARAM], 'getPipelineJob');
        return sendJson(res, 200, jobView(job));
      }
      if (jobPath[2] && method === 'POST') {
        onlyParams(url, [ALT_PARAM], 'cancelPipelineJob');
        await cancelJob(job);
        return sendJson(res, 200, {});
      }
    }
    if (rest === 'models:upload' && method === 'POST') {
      onlyParams(url, [ALT_PARAM], 'uploadModel');
      return sendJson(res, 200, models.upload(parent, await readJson(req)));
    }
    const modelPath = /^models\/([^/:]+)(:listVersions|:mergeVersionAliases)?$/.exec(rest);
    if (modelPath) {
      const name = `${parent}/models/${modelPath[1]}`;
      if (!modelPath[2] && method === 'GET') {
        onlyParams(url, [ALT_PARAM], 'getModel');
        return sendJson(res, 200, models.get(name));
      }
      if (modelPath[2] === ':listVersions' && method === 'GET') {
        onlyParams(url, [ALT_PARAM], 'listModelVersions');
        return sendJson(res, 200, { models: models.list(name) });
      }
      if (modelPath[2] === ':mergeVersionAliases' && method === 'POST') {
        onlyParams(url, [ALT_PARAM], 'mergeVersionAliases');
        return sendJson(res, 200, models.mergeAliases(name, await readJson(req)));
      }
    }
    throw new NotImplementedError(`${method} ${url.pathname}`);
  };

  const server = await serve('vertex', handler, log, port);
  const idle = async () => {
    let seen: Promise<void>;
    do {
      seen = queue;
      await seen;
    } while (seen !== queue);
  };
  return {
    endpoint: server.url,
    port: server.port,
    jobs: () =>
      [...jobs.values()].map((job) => ({
        name: job.name,
        state: pipelineStateName(job.state),
        tasks: job.tasks.map((task) => ({ taskName: task.taskName, state: task.state })),
      })),
    idle,
    close: async () => {
      for (const job of jobs.values()) if (!isTerminal(job.state)) await cancelJob(job).catch(() => undefined);
      await idle().catch(() => undefined);
      await server.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
