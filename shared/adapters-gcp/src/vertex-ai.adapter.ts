/**
 * Vertex AI for the gcp mode: Vertex AI Pipelines (submit a KFP v2 `PipelineSpec` as a
 * `PipelineJob` and wait for it) and the Vertex AI Model Registry (upload a model version and give
 * it an alias such as `champion`). The only module that imports `@google-cloud/aiplatform`.
 *
 * The classes take the few client methods they call as interfaces, so tests pass fakes and check
 * the requests at the boundary. JSON values (the pipeline spec, parameter values) are converted to
 * `google.protobuf.Struct`/`Value` here: the gRPC client does not accept plain objects for them.
 */
import type { protos } from '@google-cloud/aiplatform';
import {
  PermanentError,
  TransientError,
  backoffDelay,
  type ModelUploadOutcome,
  type ModelUploadRequest,
  type ModelUploads,
  type PipelineJobOutcome,
  type PipelineJobRequest,
  type PipelineJobs,
  type PipelineJobStatus,
  type PipelineJobSubmission,
  type ServingContainer,
} from '@mlops/kernel';
import type { VertexModelClient, VertexPipelineClient } from './vertex-ai.clients.js';

type IPipelineJob = protos.google.cloud.aiplatform.v1.IPipelineJob;
type IModel = protos.google.cloud.aiplatform.v1.IModel;
type IValue = protos.google.protobuf.IValue;
type IStruct = protos.google.protobuf.IStruct;

/** A JSON value as a `google.protobuf.Value`. Non-finite numbers are refused (JSON has none). */
export function toProtoValue(value: unknown): IValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new PermanentError('VERTEX.INVALID_REQUEST', `a pipeline value must be a finite number (got ${value})`);
    return { numberValue: value };
  }
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtoValue) } };
  if (typeof value === 'object') return { structValue: toProtoStruct(value as Record<string, unknown>) };
  throw new PermanentError('VERTEX.INVALID_REQUEST', `cannot send a ${typeof value} as a pipeline value`);
}

/** A JSON object as a `google.protobuf.Struct` (undefined fields are left out). */
export function toProtoStruct(object: Readonly<Record<string, unknown>>): IStruct {
  const fields: Record<string, IValue> = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) fields[key] = toProtoValue(value);
  return { fields };
}

/** A `google.protobuf.Value` back as JSON. */
export function fromProtoValue(value: IValue | null | undefined): unknown {
  if (!value) return null;
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
  if (value.numberValue !== undefined && value.numberValue !== null) return value.numberValue;
  if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue;
  if (value.listValue) return (value.listValue.values ?? []).map(fromProtoValue);
  if (value.structValue) return fromProtoStruct(value.structValue);
  return null;
}

/** A `google.protobuf.Struct` back as a JSON object. */
export function fromProtoStruct(struct: IStruct | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = fromProtoValue(value);
  return out;
}

const PIPELINE_STATES: Record<number, string> = {
  0: 'PIPELINE_STATE_UNSPECIFIED',
  1: 'PIPELINE_STATE_QUEUED',
  2: 'PIPELINE_STATE_PENDING',
  3: 'PIPELINE_STATE_RUNNING',
  4: 'PIPELINE_STATE_SUCCEEDED',
  5: 'PIPELINE_STATE_FAILED',
  6: 'PIPELINE_STATE_CANCELLING',
  7: 'PIPELINE_STATE_CANCELLED',
  8: 'PIPELINE_STATE_PAUSED',
};

/** A pipeline state as its name, whether the client gave the name or the number. */
export function pipelineStateName(state: unknown): string {
  if (typeof state === 'number') return PIPELINE_STATES[state] ?? String(state);
  return typeof state === 'string' ? state : 'PIPELINE_STATE_UNSPECIFIED';
}

const TERMINAL = new Set(['PIPELINE_STATE_SUCCEEDED', 'PIPELINE_STATE_FAILED', 'PIPELINE_STATE_CANCELLED']);

// gRPC status codes.
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const TRANSIENT_CODES = new Set([4, 8, 10, 13, 14]);

// The REST transport (`fallback`, another endpoint) reports HTTP statuses: their gRPC codes.
const GRPC_OF_HTTP: Record<number, number> = {
  400: 3,
  401: 16,
  403: 7,
  404: 5,
  409: 6,
  412: 9,
  429: 8,
  499: 1,
  500: 13,
  501: 12,
  503: 14,
  504: 4,
};

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return undefined;
  return code >= 100 ? (GRPC_OF_HTTP[code] ?? (code >= 500 ? 13 : 3)) : code;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  try {
    // A REST error's message is Google's JSON error body.
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message.slice(0, 500);
  } catch {
    // Not JSON: the message as it is.
  }
  return text.split('\n')[0]!.slice(0, 500);
}

/** A failed Vertex AI call as a platform error: unavailable/timeouts/quota transient, the rest permanent. */
export function vertexCallError(call: string, error: unknown): PermanentError | TransientError {
  const code = grpcCode(error);
  const message = `Vertex AI ${call} failed: ${messageOf(error)}`;
  if (code === undefined || TRANSIENT_CODES.has(code))
    return new TransientError('VERTEX.UNAVAILABLE', message, {
      cause: error,
      details: { call, grpcCode: code ?? null },
    });
  return new PermanentError('VERTEX.REQUEST_REFUSED', message, { cause: error, details: { call, grpcCode: code } });
}

/** Options of {@link VertexPipelineJobs}. */
export interface VertexPipelineJobsOptions {
  client: VertexPipelineClient;
  projectId: string;
  region: string;
  /** Give up (cancel, transient error) after this long; default 2 hours. */
  deadlineMs?: number;
  /** Backoff between status checks; default 5 s doubling to 60 s. */
  poll?: { minMs: number; maxMs: number };
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const JOB_ID = /^[a-z][-a-z0-9]{0,127}$/;
const LABEL = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

function checkLabels(labels: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL.test(key) || !LABEL_VALUE.test(value)) {
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `label ${key}=${value} is not a valid Vertex AI label (lowercase letters, digits, _ and -, at most 63 characters)`,
      );
    }
  }
}

function statusOf(job: IPipelineJob, name: string): PipelineJobStatus {
  const vertexState = pipelineStateName(job.state);
  const state = TERMINAL.has(vertexState)
    ? (vertexState.replace('PIPELINE_STATE_', '') as PipelineJobStatus['state'])
    : 'RUNNING';
  return {
    name: job.name || name,
    state,
    vertexState,
    ...(state !== 'SUCCEEDED' && state !== 'RUNNING' && job.error?.message ? { error: job.error.message } : {}),
    labels: { ...(job.labels ?? {}) },
  };
}

/**
 * Vertex AI Pipelines. `submit` creates a `PipelineJob` and returns at once (a job id that already
 * exists is adopted: a redelivered event does not start a second job); `read` says how a job stands;
 * `cancel` cancels one. `run` submits and polls with exponential backoff until the job succeeds,
 * fails or is cancelled, or the deadline passes (then the job is cancelled and a transient
 * `VERTEX.PIPELINE_TIMEOUT` is thrown so the event is retried).
 */
export class VertexPipelineJobs implements PipelineJobs {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** `projects/<project>/locations/<region>`. */
  readonly parent: string;

  constructor(private readonly options: VertexPipelineJobsOptions) {
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.parent = `projects/${options.projectId}/locations/${options.region}`;
  }

  /** The resource name of a job id. */
  jobName(jobId: string): string {
    return `${this.parent}/pipelineJobs/${jobId}`;
  }

  /** Create the job (or adopt the existing one of the same id) and return without waiting. */
  async submit(request: PipelineJobRequest): Promise<PipelineJobSubmission> {
    return (await this.create(request)).submission;
  }

  /** How the job stands now. */
  async read(name: string): Promise<PipelineJobStatus> {
    return statusOf(await this.get(name), name);
  }

  /** Cancel the job (Vertex ends it CANCELLED). */
  async cancel(name: string): Promise<void> {
    try {
      await this.options.client.cancelPipelineJob({ name });
    } catch (error) {
      throw vertexCallError('cancelPipelineJob', error);
    }
  }

  private async create(request: PipelineJobRequest): Promise<{ submission: PipelineJobSubmission; job: IPipelineJob }> {
    if (!JOB_ID.test(request.jobId))
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `pipeline job id "${request.jobId}" must match [a-z][-a-z0-9]{0,127}`,
      );
    if (!request.gcsOutputDirectory.startsWith('gs://')) {
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `the pipeline root must be a gs:// URI (got "${request.gcsOutputDirectory}"); set VERTEX_PIPELINE_ROOT`,
      );
    }
    checkLabels(request.labels ?? {});
    const name = this.jobName(request.jobId);
    try {
      const [job] = await this.options.client.createPipelineJob({
        parent: this.parent,
        pipelineJobId: request.jobId,
        pipelineJob: {
          displayName: request.displayName,
          pipelineSpec: toProtoStruct(request.pipelineSpec),
          labels: { ...(request.labels ?? {}) },
          runtimeConfig: {
            gcsOutputDirectory: request.gcsOutputDirectory,
            parameterValues: Object.fromEntries(
              Object.entries(request.parameterValues).map(([key, value]) => [key, toProtoValue(value)]),
            ),
          },
          ...(request.serviceAccount ? { serviceAccount: request.serviceAccount } : {}),
        },
      });
      return { submission: { name: job.name || name, adopted: false }, job };
    } catch (error) {
      if (grpcCode(error) !== ALREADY_EXISTS) throw vertexCallError('createPipelineJob', error);
      const job = await this.get(name);
      return { submission: { name: job.name || name, adopted: true }, job };
    }
  }

  /** Submit (or adopt) the job and wait for its outcome. */
  async run(request: PipelineJobRequest): Promise<PipelineJobOutcome> {
    const started = this.now();
    const created = await this.create(request);
    const { name, adopted } = created.submission;
    let job = created.job;
    let polls = 0;
    const deadline = this.options.deadlineMs ?? 2 * 60 * 60 * 1000;
    const poll = this.options.poll ?? { minMs: 5_000, maxMs: 60_000 };
    while (!TERMINAL.has(pipelineStateName(job.state))) {
      if (this.now() - started >= deadline) {
        await this.options.client.cancelPipelineJob({ name: job.name || name }).catch(() => undefined);
        throw new TransientError(
          'VERTEX.PIPELINE_TIMEOUT',
          `pipeline job ${job.name || name} did not finish within ${Math.round(deadline / 1000)} s (last state ${pipelineStateName(job.state)}); it was cancelled`,
          {
            details: { job: job.name || name, state: pipelineStateName(job.state) },
          },
        );
      }
      polls += 1;
      await this.sleep(backoffDelay(polls, poll, this.options.random));
      try {
        job = await this.get(job.name || name);
      } catch (error) {
        // A status check that fails transiently is retried until the deadline.
        if (!(error instanceof TransientError)) throw error;
      }
    }
    const { state, error } = statusOf(job, name);
    return {
      name: job.name || name,
      state: state as PipelineJobOutcome['state'],
      ...(error ? { error } : {}),
      adopted,
      polls,
    };
  }

  private async get(name: string): Promise<IPipelineJob> {
    try {
      const [job] = await this.options.client.getPipelineJob({ name });
      return job;
    } catch (error) {
      throw vertexCallError('getPipelineJob', error);
    }
  }
}

/** Options of {@link VertexModelRegistry}. */
export interface VertexModelRegistryOptions {
  client: VertexModelClient;
  projectId: string;
  region: string;
}

const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;

/**
 * The Vertex AI Model Registry. `uploadVersion` is idempotent: a version already uploaded (found by
 * its identifying label) only gets the alias (`mergeVersionAliases`); otherwise the files are
 * uploaded as a new version of the model (or as the model's first version) with the alias.
 * The alias is first removed from the version that holds it, so it names one version at a time.
 */
export class VertexModelRegistry implements ModelUploads {
  /** `projects/<project>/locations/<region>`. */
  readonly parent: string;

  constructor(private readonly options: VertexModelRegistryOptions) {
    this.parent = `projects/${options.projectId}/locations/${options.region}`;
  }

  /** Upload (or find) the version and give it the alias. */
  async uploadVersion(request: ModelUploadRequest): Promise<ModelUploadOutcome> {
    if (!ALIAS.test(request.alias))
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `version alias "${request.alias}" must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]`,
      );
    if (!/^[a-z0-9][a-z0-9-]{0,127}$/.test(request.modelId))
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `model id "${request.modelId}" must be lowercase letters, digits and -`,
      );
    if (!request.artifactUri.startsWith('gs://'))
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `the model's artifact URI must be a gs:// folder (got "${request.artifactUri}")`,
      );
    const identity = request.labels[request.versionLabel];
    if (!identity)
      throw new PermanentError(
        'VERTEX.INVALID_REQUEST',
        `the labels must carry the version label ${request.versionLabel}`,
      );
    checkLabels(request.labels);
    checkContainer(request.container);
    const { client } = this.options;
    const name = `${this.parent}/models/${request.modelId}`;
    let exists = true;
    try {
      await client.getModel({ name });
    } catch (error) {
      if (grpcCode(error) !== NOT_FOUND) throw vertexCallError('getModel', error);
      exists = false;
    }
    let existing: IModel | undefined;
    const holders: IModel[] = [];
    if (exists) {
      try {
        // An async iterator pages by itself; saying so keeps the client from warning.
        for await (const version of client.listModelVersionsAsync({ name }, { autoPaginate: false })) {
          if (version.labels?.[request.versionLabel] === identity) existing = version;
          else if (version.versionAliases?.includes(request.alias)) holders.push(version);
        }
      } catch (error) {
        throw vertexCallError('listModelVersions', error);
      }
    }
    for (const holder of holders) {
      await client
        .mergeVersionAliases({ name: `${name}@${holder.versionId}`, versionAliases: [`-${request.alias}`] })
        .catch((error: unknown) => {
          throw vertexCallError('mergeVersionAliases', error);
        });
    }
    if (existing?.versionId) {
      if (!existing.versionAliases?.includes(request.alias)) {
        await client
          .mergeVersionAliases({ name: `${name}@${existing.versionId}`, versionAliases: [request.alias] })
          .catch((error: unknown) => {
            throw vertexCallError('mergeVersionAliases', error);
          });
      }
      return {
        model: name,
        versionId: existing.versionId,
        resourceName: `${name}@${existing.versionId}`,
        action: 'aliased',
      };
    }
    let response: protos.google.cloud.aiplatform.v1.IUploadModelResponse;
    try {
      const [operation] = await client.uploadModel({
        parent: this.parent,
        ...(exists ? { parentModel: name } : { modelId: request.modelId }),
        model: {
          displayName: request.displayName,
          ...(request.description ? { description: request.description, versionDescription: request.description } : {}),
          artifactUri: request.artifactUri,
          containerSpec: {
            imageUri: request.container.imageUri,
            command: [...request.container.command],
            ports: request.container.ports.map((port) => ({ containerPort: port.containerPort })),
            healthRoute: request.container.healthRoute,
            predictRoute: request.container.predictRoute,
          },
          labels: { ...request.labels },
          versionAliases: [request.alias],
        },
      });
      [response] = await operation.promise();
    } catch (error) {
      throw vertexCallError('uploadModel', error);
    }
    const model = response.model ?? name;
    const versionId = response.modelVersionId ?? '';
    return { model, versionId, resourceName: `${model}@${versionId}`, action: 'uploaded' };
  }
}

/** A serving container Vertex AI can run: a command, a port, and two distinct absolute routes. */
function checkContainer(container: ServingContainer): void {
  const problems: string[] = [];
  if (!container.imageUri) problems.push('no image');
  if (container.command.length === 0) problems.push('no command');
  if (container.ports.length === 0) problems.push('no port');
  for (const [name, route] of [
    ['healthRoute', container.healthRoute],
    ['predictRoute', container.predictRoute],
  ] as const)
    if (!route.startsWith('/')) problems.push(`${name} "${route}" is not an absolute path`);
  if (container.healthRoute === container.predictRoute) problems.push('the health and predict routes are the same');
  if (problems.length > 0)
    throw new PermanentError('VERTEX.INVALID_REQUEST', `the serving container is invalid: ${problems.join('; ')}`);
}
