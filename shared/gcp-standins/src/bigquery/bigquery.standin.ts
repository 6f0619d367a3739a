import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GcsStorage } from '../gcs/object-storage.js';
import { withFields } from '../http/fields.js';
import {
  HttpError,
  NotImplementedError,
  onlyFields,
  onlyParams,
  readJson,
  sendJson,
  serve,
  stderrLog,
  type RunningServer,
  type StandinLog,
} from '../http/server.js';
import { Catalog } from './catalog.js';
import { BigQueryEngine, RESULTS_DATASET, checkDatasetId, checkTableId, type TableReference } from './engine.js';
import { JobStore, type Job } from './jobs.js';
import type { TimestampFormat } from './schema.js';

/** Options of {@link startBigQueryStandin}. */
export interface BigQueryStandinOptions {
  /** The one project the stand-in serves; other projects are 501. */
  projectId: string;
  /** Default location of datasets and jobs. */
  location?: string;
  /** DuckDB database file; in memory by default. */
  databasePath?: string;
  /** The GCS stand-in's storage, which load jobs read `gs://` URIs from. */
  storage?: GcsStorage;
  /**
   * Who a bearer token belongs to (the metadata server stand-in's `tokenInfo`). When given, every
   * request needs a token it knows (401 otherwise) and jobs record the caller as `user_email`.
   */
  tokenInfo?: (token: string) => { email: string } | undefined;
  log?: StandinLog;
  port?: number;
}

/** A running BigQuery REST stand-in. */
export interface BigQueryStandin extends RunningServer {
  readonly engine: BigQueryEngine;
  readonly jobs: JobStore;
}

const COMMON = ['prettyPrint', 'alt', 'fields'];
const FORMAT = ['formatOptions.useInt64Timestamp', 'formatOptions.timestampOutputFormat'];
const QUERY_REQUEST_FIELDS = [
  'kind',
  'query',
  'useLegacySql',
  'parameterMode',
  'queryParameters',
  'defaultDataset',
  'labels',
  'maxResults',
  'timeoutMs',
  'location',
  'formatOptions',
  'requestId',
  'jobCreationMode',
  'useQueryCache',
  'maximumBytesBilled',
  'dryRun',
];
const DEFAULT_WAIT_MS = 10_000;

/** How TIMESTAMP values are written, from `formatOptions` (query string or request body). */
function timestampFormat(useInt64: unknown, output: unknown): TimestampFormat {
  if (output === 'ISO8601_STRING') return 'iso';
  if (output === 'INT64' || useInt64 === true || useInt64 === 'true') return 'int64';
  if (
    output !== undefined &&
    output !== null &&
    output !== 'FLOAT64' &&
    output !== 'TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED'
  )
    throw new NotImplementedError(`formatOptions.timestampOutputFormat ${String(output)}`);
  return 'float';
}

/** A page token: the offset of the next row. */
function offsetOf(pageToken: string | null, startIndex: string | null): number {
  if (pageToken) {
    const offset = Number(Buffer.from(pageToken, 'base64url').toString('utf8').replace(/^o:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'invalid', `Invalid page token ${pageToken}`);
    return offset;
  }
  return startIndex ? Number(startIndex) : 0;
}

/**
 * Start the BigQuery REST stand-in: point `@google-cloud/bigquery` at `url` with `apiEndpoint`.
 * Datasets, tables, query and load jobs, jobs.query and getQueryResults with paging, tabledata.list;
 * every other call, field or parameter is a 501 with a log line.
 */
export async function startBigQueryStandin(options: BigQueryStandinOptions): Promise<BigQueryStandin> {
  const engine = await BigQueryEngine.open({
    projectId: options.projectId,
    location: options.location ?? 'US',
    ...(options.databasePath ? { path: options.databasePath } : {}),
  });
  const jobs = new JobStore(engine, options.storage);
  const catalog = new Catalog(engine);

  /** A page of a table's rows, as getQueryResults and tabledata.list answer. */
  async function rowsPage(url: URL, table: TableReference, maxResults: unknown, timestamps: TimestampFormat) {
    const offset = offsetOf(url.searchParams.get('pageToken'), url.searchParams.get('startIndex'));
    const limit = Number(maxResults ?? url.searchParams.get('maxResults') ?? 100_000) || 100_000;
    const page = await engine.read((connection) =>
      engine.page(connection, table.datasetId, table.tableId, offset, Math.min(limit, 100_000), timestamps),
    );
    const next = offset + page.rows.length;
    return {
      schema: { fields: page.fields },
      totalRows: String(page.totalRows),
      rows: page.rows,
      ...(next < page.totalRows ? { pageToken: Buffer.from(`o:${next}`).toString('base64url') } : {}),
    };
  }

  /** The body of jobs.query and jobs.getQueryResults for a job (which must be a query job). */
  async function queryResults(url: URL, job: Job, waitMs: number, maxResults: unknown, timestamps: TimestampFormat) {
    if (job.jobType !== 'QUERY') throw new HttpError(400, 'invalid', `Job ${job.jobId} is not a query job`);
    const reference = { projectId: job.projectId, jobId: job.jobId, location: job.location };
    if (!(await jobs.wait(job, waitMs))) return { jobReference: reference, jobComplete: false };
    if (job.error) throw job.error;
    const results = jobs.results(job);
    return {
      jobReference: reference,
      jobComplete: true,
      totalBytesProcessed: '0',
      cacheHit: false,
      ...(job.query?.numDmlAffectedRows !== undefined
        ? { numDmlAffectedRows: String(job.query.numDmlAffectedRows) }
        : {}),
      ...(results ? await rowsPage(url, results, maxResults, timestamps) : { totalRows: '0' }),
    };
  }

  function callerOf(req: IncomingMessage): string | undefined {
    if (!options.tokenInfo) return undefined;
    const match = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const info = match ? options.tokenInfo(match[1]!) : undefined;
    if (!info) throw new HttpError(401, 'authError', 'Request had invalid authentication credentials.');
    return info.email;
  }

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const params = url.searchParams;
    const baseUrl = `http://${req.headers.host ?? '127.0.0.1'}`;
    const send = (status: number, body: unknown) => sendJson(res, status, withFields(body, params.get('fields')));
    if (params.get('alt') !== null && params.get('alt') !== 'json')
      throw new NotImplementedError(`alt=${params.get('alt')}`);
    const email = callerOf(req);
    const match = /^\/bigquery\/v2\/projects\/([^/]+)(\/.*)?$/.exec(path);
    if (!match) throw new NotImplementedError(`${method} ${path}`);
    const project = decodeURIComponent(match[1]!);
    if (project !== engine.projectId)
      throw new NotImplementedError(`project ${project} (this stand-in serves ${engine.projectId})`);
    const rest = (match[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const [collection, id, sub, subId, leaf] = rest;

    if (collection === 'datasets' && rest.length <= 2) {
      if (id === undefined && method === 'GET') {
        onlyParams(url, [...COMMON, 'maxResults', 'all'], 'datasets.list');
        return send(200, await engine.read((connection) => catalog.listDatasets(connection)));
      }
      if (id === undefined && method === 'POST') {
        onlyParams(url, COMMON, 'datasets.insert');
        const body = await readJson(req);
        const created = await engine.exclusive((connection) => catalog.insertDataset(connection, body));
        return send(200, await engine.read((connection) => catalog.datasetResource(connection, created, baseUrl)));
      }
      const datasetId = checkDatasetId(id ?? '');
      if (method === 'GET') {
        onlyParams(url, [...COMMON, 'datasetView', 'accessPolicyVersion'], 'datasets.get');
        return send(200, await engine.read((connection) => catalog.datasetResource(connection, datasetId, baseUrl)));
      }
      if (method === 'DELETE') {
        onlyParams(url, [...COMMON, 'deleteContents'], 'datasets.delete');
        await engine.exclusive((connection) =>
          catalog.deleteDataset(connection, datasetId, params.get('deleteContents') === 'true'),
        );
        res.writeHead(204).end();
        return;
      }
    }

    if (collection === 'datasets' && sub === 'tables') {
      const datasetId = checkDatasetId(id!);
      if (subId === undefined && method === 'GET') {
        onlyParams(url, [...COMMON, 'maxResults', 'pageToken'], 'tables.list');
        return send(200, await engine.read((connection) => catalog.listTables(connection, datasetId)));
      }
      if (subId === undefined && method === 'POST') {
        onlyParams(url, COMMON, 'tables.insert');
        const body = await readJson(req);
        const created = await engine.exclusive((connection) => catalog.insertTable(connection, datasetId, body));
        return send(200, await engine.read((connection) => catalog.tableResource(connection, created, baseUrl)));
      }
      const table: TableReference = { projectId: engine.projectId, datasetId, tableId: checkTableId(subId ?? '') };
      if (leaf === undefined && rest.length === 4 && method === 'GET') {
        onlyParams(url, [...COMMON, 'view', 'selectedFields'], 'tables.get');
        if (params.get('selectedFields')) throw new NotImplementedError('tables.get with selectedFields');
        return send(200, await engine.read((connection) => catalog.tableResource(connection, table, baseUrl)));
      }
      if (leaf === undefined && rest.length === 4 && method === 'DELETE') {
        onlyParams(url, COMMON, 'tables.delete');
        await engine.exclusive((connection) => catalog.deleteTable(connection, table));
        res.writeHead(204).end();
        return;
      }
      if (leaf === 'data' && rest.length === 5 && method === 'GET') {
        onlyParams(url, [...COMMON, ...FORMAT, 'maxResults', 'pageToken', 'startIndex'], 'tabledata.list');
        const timestamps = timestampFormat(
          params.get('formatOptions.useInt64Timestamp'),
          params.get('formatOptions.timestampOutputFormat') ?? undefined,
        );
        await engine.read((connection) => engine.requireTable(connection, table));
        const { schema: _schema, ...page } = await rowsPage(url, table, undefined, timestamps);
        return send(200, { kind: 'bigquery#tableDataList', etag: '', ...page });
      }
    }

    if (collection === 'jobs') {
      if (id === undefined && method === 'POST') {
        onlyParams(url, COMMON, 'jobs.insert');
        const body = await readJson(req);
        onlyFields(body, ['jobReference', 'configuration', 'kind'], 'jobs.insert');
        const reference = (body.jobReference ?? {}) as { jobId?: string; location?: string; projectId?: string };
        if (reference.projectId && reference.projectId !== engine.projectId)
          throw new NotImplementedError(`jobs in project ${reference.projectId}`);
        const job = jobs.submit(reference, (body.configuration ?? {}) as Record<string, unknown>, email);
        return send(200, jobs.resource(job, baseUrl));
      }
      if (id !== undefined && rest.length === 2 && method === 'GET') {
        onlyParams(url, [...COMMON, 'location'], 'jobs.get');
        return send(200, jobs.resource(jobs.get(id, params.get('location')), baseUrl));
      }
    }

    if (collection === 'queries') {
      if (id === undefined && method === 'POST') {
        onlyParams(url, COMMON, 'jobs.query');
        const body = await readJson(req);
        onlyFields(body, QUERY_REQUEST_FIELDS, 'jobs.query');
        if (body.dryRun) throw new NotImplementedError('dry runs');
        const format = (body.formatOptions ?? {}) as { useInt64Timestamp?: unknown; timestampOutputFormat?: unknown };
        const timestamps = timestampFormat(format.useInt64Timestamp, format.timestampOutputFormat);
        const previous = jobs.byRequestId(body.requestId as string | undefined);
        const job =
          previous ??
          jobs.submit(
            { ...(typeof body.location === 'string' ? { location: body.location } : {}) },
            {
              query: {
                query: body.query,
                useLegacySql: body.useLegacySql,
                ...(body.parameterMode ? { parameterMode: body.parameterMode } : {}),
                ...(body.queryParameters ? { queryParameters: body.queryParameters } : {}),
                ...(body.defaultDataset ? { defaultDataset: body.defaultDataset } : {}),
              },
              ...(body.labels ? { labels: body.labels } : {}),
            },
            email,
            body.requestId as string | undefined,
          );
        const waitMs = typeof body.timeoutMs === 'number' ? body.timeoutMs : DEFAULT_WAIT_MS;
        const answer = await queryResults(url, job, waitMs, body.maxResults, timestamps);
        return send(200, { kind: 'bigquery#queryResponse', ...answer, jobCreationReason: { code: 'REQUESTED' } });
      }
      if (id !== undefined && rest.length === 2 && method === 'GET') {
        onlyParams(
          url,
          [...COMMON, ...FORMAT, 'location', 'maxResults', 'pageToken', 'startIndex', 'timeoutMs'],
          'jobs.getQueryResults',
        );
        const timestamps = timestampFormat(
          params.get('formatOptions.useInt64Timestamp'),
          params.get('formatOptions.timestampOutputFormat') ?? undefined,
        );
        const job = jobs.get(id, params.get('location'));
        const waitMs = params.get('timeoutMs') ? Number(params.get('timeoutMs')) : DEFAULT_WAIT_MS;
        const answer = await queryResults(url, job, waitMs, undefined, timestamps);
        return send(200, { kind: 'bigquery#getQueryResultsResponse', etag: '', ...answer });
      }
    }
    throw new NotImplementedError(`${method} ${path}`);
  };

  const server = await serve('bigquery', handler, options.log ?? stderrLog, options.port);
  return {
    ...server,
    engine,
    jobs,
    stop: async () => {
      await server.stop();
      engine.close();
    },
  };
}

export { RESULTS_DATASET };
