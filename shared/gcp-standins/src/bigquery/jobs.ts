import { randomBytes } from 'node:crypto';
import type { GcsStorage } from '../gcs/object-storage.js';
import { HttpError, NotImplementedError, onlyFields } from '../http/server.js';
import { RESULTS_DATASET, checkDatasetId, type BigQueryEngine, type TableReference } from './engine.js';
import { bigQueryError, errorProto } from './errors.js';
import { checkLoadConfig, runLoad, type LoadConfig, type LoadOutcome } from './load-runner.js';
import { runQuery, translateQuery, type QueryConfig, type QueryOutcome } from './query-runner.js';

/** A job as the stand-in keeps it. */
export interface Job {
  projectId: string;
  jobId: string;
  location: string;
  configuration: Record<string, unknown>;
  jobType: 'QUERY' | 'LOAD';
  state: 'PENDING' | 'RUNNING' | 'DONE';
  creationTime: number;
  startTime?: number;
  endTime?: number;
  error?: HttpError;
  query?: QueryOutcome;
  load?: LoadOutcome;
  userEmail?: string;
  /** Settles when the job is DONE, whatever its outcome. */
  done: Promise<void>;
}

/** The `configuration.query` fields the stand-in understands; others are 501. */
const QUERY_FIELDS = [
  'query',
  'useLegacySql',
  'parameterMode',
  'queryParameters',
  'destinationTable',
  'writeDisposition',
  'createDisposition',
  'defaultDataset',
  'priority',
  'useQueryCache',
  'maximumBytesBilled',
];
const CONFIGURATION_FIELDS = ['query', 'load', 'labels', 'jobTimeoutMs', 'jobType'];
const LABEL = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const JOB_ID = /^[A-Za-z0-9_-]{1,1024}$/;

/** 400 unless labels follow BigQuery's rules (lower-case keys and values, at most 64). */
export function checkLabels(labels: unknown): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object') throw new HttpError(400, 'invalid', 'labels must be an object');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 64) throw new HttpError(400, 'invalid', `Too many labels (${entries.length} > 64)`);
  for (const [key, value] of entries) {
    if (!LABEL.test(key)) throw new HttpError(400, 'invalid', `Invalid label key "${key}"`);
    if (typeof value !== 'string' || !LABEL_VALUE.test(value))
      throw new HttpError(400, 'invalid', `Invalid label value "${String(value)}" for key "${key}"`);
  }
  return labels as Record<string, string>;
}

function checkQueryConfig(config: Record<string, unknown>): QueryConfig {
  onlyFields(config, QUERY_FIELDS, 'configuration.query');
  if (typeof config.query !== 'string' || config.query.trim() === '')
    throw new HttpError(400, 'invalid', 'configuration.query.query is required');
  // The REST default is legacy SQL; the client libraries send useLegacySql: false.
  if (config.useLegacySql !== false) throw new NotImplementedError('legacy SQL (set useLegacySql: false)');
  if (config.priority !== undefined && config.priority !== 'INTERACTIVE' && config.priority !== 'BATCH')
    throw new HttpError(400, 'invalid', `Invalid priority ${String(config.priority)}`);
  const query = config as unknown as QueryConfig;
  if (query.destinationTable) {
    checkDatasetId(query.destinationTable.datasetId);
  }
  return query;
}

/**
 * The jobs of the BigQuery stand-in. A job is checked and (for a query) translated when it is
 * submitted, then runs in submission order on the engine's write queue; the API answers while it
 * is PENDING or RUNNING and clients poll, as against BigQuery. Failed jobs keep their error.
 */
export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly requests = new Map<string, string>();
  /** Anonymous result tables, oldest first; BigQuery keeps them a day, the stand-in the last few hundred. */
  private readonly anonymous: TableReference[] = [];

  constructor(
    private readonly engine: BigQueryEngine,
    private readonly storage: GcsStorage | undefined,
    private readonly keepResults = 500,
  ) {}

  /** Drop the oldest anonymous results beyond the limit (their jobs then answer notFound for rows). */
  private async expireResults(results: TableReference | undefined): Promise<void> {
    if (results?.datasetId !== RESULTS_DATASET) return;
    this.anonymous.push(results);
    while (this.anonymous.length > this.keepResults) {
      const old = this.anonymous.shift()!;
      await this.engine.exclusive((connection) =>
        connection.run(`drop table if exists ${this.engine.tableName(old.datasetId, old.tableId)}`),
      );
    }
  }

  /** A new job id, in the shape BigQuery's clients use. */
  static newJobId(): string {
    return `job_${randomBytes(16).toString('base64url').replace(/-/g, '_')}`;
  }

  get(jobId: string, location?: string | null): Job {
    const job = this.jobs.get(jobId);
    if (!job || (location && location.toUpperCase() !== job.location.toUpperCase()))
      throw new HttpError(
        404,
        'notFound',
        `Not found: Job ${this.engine.projectId}:${location ?? this.engine.location}.${jobId}`,
      );
    return job;
  }

  /** The job an earlier jobs.query with the same requestId created. */
  byRequestId(requestId: string | undefined): Job | undefined {
    const jobId = requestId ? this.requests.get(requestId) : undefined;
    return jobId ? this.jobs.get(jobId) : undefined;
  }

  /** Check, translate and queue a job; 409 duplicate for a job id already used. */
  submit(
    reference: { jobId?: string; location?: string },
    configuration: Record<string, unknown>,
    userEmail: string | undefined,
    requestId?: string,
  ): Job {
    onlyFields(configuration, CONFIGURATION_FIELDS, 'configuration');
    if ((configuration as { dryRun?: unknown }).dryRun) throw new NotImplementedError('dry runs');
    checkLabels(configuration.labels);
    const jobId = reference.jobId ?? JobStore.newJobId();
    if (!JOB_ID.test(jobId)) throw new HttpError(400, 'invalid', `Invalid job ID "${jobId}"`);
    const location = reference.location ?? this.engine.location;
    if (this.jobs.has(jobId))
      throw new HttpError(409, 'duplicate', `Already Exists: Job ${this.engine.projectId}:${location}.${jobId}`);
    let work: () => Promise<void>;
    let jobType: Job['jobType'];
    const job: Job = {
      projectId: this.engine.projectId,
      jobId,
      location,
      configuration,
      jobType: 'QUERY',
      state: 'PENDING',
      creationTime: Date.now(),
      ...(userEmail ? { userEmail } : {}),
      done: Promise.resolve(),
    };
    if (configuration.query && !configuration.load) {
      jobType = 'QUERY';
      const config = checkQueryConfig(configuration.query as Record<string, unknown>);
      const statements = translateQuery(config);
      work = async () => {
        job.query = await this.engine.exclusive((connection) => {
          job.state = 'RUNNING';
          job.startTime = Date.now();
          return runQuery(this.engine, connection, jobId, config, statements);
        });
        await this.expireResults(job.query.results).catch(() => undefined);
      };
    } else if (configuration.load && !configuration.query) {
      jobType = 'LOAD';
      const config: LoadConfig = checkLoadConfig(configuration.load as Record<string, unknown>);
      work = async () => {
        job.load = await this.engine.exclusive((connection) => {
          job.state = 'RUNNING';
          job.startTime = Date.now();
          return runLoad(this.engine, connection, this.storage, config);
        });
      };
    } else {
      throw new NotImplementedError('jobs other than one query or one load (extract, copy)');
    }
    job.jobType = jobType;
    job.done = work()
      .catch((error: unknown) => {
        job.error = bigQueryError(error);
      })
      .finally(() => {
        job.state = 'DONE';
        job.startTime ??= Date.now();
        job.endTime = Date.now();
      });
    this.jobs.set(jobId, job);
    if (requestId) this.requests.set(requestId, jobId);
    return job;
  }

  /** Wait until the job is DONE or the time is up; resolves to whether it is DONE. */
  async wait(job: Job, timeoutMs: number): Promise<boolean> {
    if (job.state === 'DONE') return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
    await Promise.race([job.done, timeout]);
    clearTimeout(timer);
    return (job.state as Job['state']) === 'DONE';
  }

  /** The `bigquery#job` resource. */
  resource(job: Job, baseUrl: string): Record<string, unknown> {
    const reference = { projectId: job.projectId, jobId: job.jobId, location: job.location };
    const configuration: Record<string, unknown> = { ...job.configuration, jobType: job.jobType };
    const results = job.query?.results;
    if (job.jobType === 'QUERY' && results && !(job.configuration.query as QueryConfig).destinationTable)
      configuration.query = { ...(job.configuration.query as object), destinationTable: results };
    const statistics: Record<string, unknown> = {
      creationTime: String(job.creationTime),
      ...(job.startTime ? { startTime: String(job.startTime) } : {}),
      ...(job.endTime ? { endTime: String(job.endTime) } : {}),
    };
    if (job.jobType === 'QUERY' && job.state === 'DONE' && !job.error) {
      statistics.totalBytesProcessed = '0';
      statistics.query = {
        statementType: job.query?.statementType,
        totalBytesProcessed: '0',
        totalBytesBilled: '0',
        cacheHit: false,
        ...(job.query?.numDmlAffectedRows !== undefined
          ? { numDmlAffectedRows: String(job.query.numDmlAffectedRows) }
          : {}),
      };
    }
    if (job.jobType === 'LOAD' && job.load)
      statistics.load = {
        inputFiles: String(job.load.inputFiles),
        inputFileBytes: String(job.load.inputFileBytes),
        outputRows: String(job.load.outputRows),
        outputBytes: '0',
      };
    return {
      kind: 'bigquery#job',
      etag: Buffer.from(`${job.jobId}/${job.state}`).toString('base64'),
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      selfLink: `${baseUrl}/bigquery/v2/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
      ...(job.userEmail ? { user_email: job.userEmail } : {}),
      jobReference: reference,
      configuration,
      status: {
        state: job.state,
        ...(job.error ? { errorResult: errorProto(job.error), errors: [errorProto(job.error)] } : {}),
      },
      statistics,
    };
  }

  /** Where a finished query job's rows are, or undefined when it returns none (DML, DDL). */
  results(job: Job): TableReference | undefined {
    return job.query?.results;
  }
}
