/**
 * Warehouse access on BigQuery, for the gcp mode. BigQuery serves any number of processes at once,
 * so a session waits for nobody: a read session's warehouse refuses anything but queries, a write
 * session's may change data (transactions as one script, see `bigquery-warehouse.adapter.ts`).
 *
 * `version()` is the newest `lastModifiedTime` of the warehouse dataset's tables (with their
 * names): BigQuery moves it on every DML, load or replace, whoever wrote (this platform's write
 * sessions, or Dataform's invocations), and reading it is metadata calls, not a query job. It is
 * remembered for `versionTtlMs`, and forgotten at once when a write session of this access ends.
 *
 * Every job carries the labels `service`, `run_id` and `purpose` (sanitised to BigQuery's label
 * rules), so a job in the console or the billing export names the run that sent it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { WarehouseErrors, type WarehouseAccess, type WarehouseSessionOptions, type Warehouse } from '@mlops/kernel';
import { jobLabels, warehouseErrorOf } from './bigquery-jobs.js';
import { BigQueryWarehouse } from './bigquery-warehouse.adapter.js';

/** Options of {@link openBigQueryWarehouseAccess}. */
export interface BigQueryWarehouseAccessOptions {
  /** The project that runs the jobs and holds the datasets. */
  projectId: string;
  /** Where jobs run: the datasets' location (e.g. `EU`). */
  location: string;
  /** The dataset of the gold tables, whose tables' modification times make the version. */
  warehouseDataset: string;
  /** The `service` label of every job. */
  service?: string;
  /** How long a version read is reused (default 2 s). */
  versionTtlMs?: number;
  /** Another endpoint than Google's (a stand-in); `BIGQUERY_EMULATOR_HOST` works too. */
  apiEndpoint?: string;
  /** Rows per result page (default: BigQuery's own). */
  pageRows?: number;
}

/** The access, with the client it made (for tests that inspect jobs). */
export interface BigQueryWarehouseAccess extends WarehouseAccess {
  readonly client: BigQuery;
}

/**
 * Open access to the BigQuery warehouse (see the module comment). Nothing is called until the
 * first session or version.
 */
export function openBigQueryWarehouseAccess(options: BigQueryWarehouseAccessOptions): BigQueryWarehouseAccess {
  const client = new BigQuery({
    projectId: options.projectId,
    location: options.location,
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
  });
  const inSession = new AsyncLocalStorage<true>();
  const active = new Set<Promise<unknown>>();
  const ttl = options.versionTtlMs ?? 2_000;
  let remembered: { at: number; value: Promise<string> } | undefined;
  let closed = false;

  const session = async <T>(
    kind: 'read' | 'write',
    work: (warehouse: Warehouse) => Promise<T>,
    sessionOptions: WarehouseSessionOptions,
  ): Promise<T> => {
    if (closed) throw WarehouseErrors.closed();
    if (inSession.getStore()) throw WarehouseErrors.nested(kind, sessionOptions.purpose ?? '');
    const warehouse = new BigQueryWarehouse({
      client,
      location: options.location,
      readOnly: kind === 'read',
      labels: jobLabels({
        service: options.service,
        run_id: sessionOptions.runId,
        purpose: sessionOptions.purpose,
        session: kind,
      }),
      ...(options.pageRows ? { pageRows: options.pageRows } : {}),
    });
    const running = inSession.run(true, () => work(warehouse));
    active.add(running);
    try {
      return await running;
    } finally {
      active.delete(running);
      warehouse.end(`the ${kind} session${sessionOptions.purpose ? ` (${sessionOptions.purpose})` : ''} has ended`);
      if (kind === 'write') remembered = undefined;
    }
  };

  const readVersion = async (): Promise<string> => {
    try {
      const dataset = client.dataset(options.warehouseDataset);
      const [tables] = await dataset.getTables();
      if (tables.length === 0) return 'missing';
      const stamps = await Promise.all(
        tables.map(async (table) => {
          const [metadata] = await table.getMetadata();
          return `${table.id}@${String((metadata as { lastModifiedTime?: string }).lastModifiedTime ?? '')}`;
        }),
      );
      return createHash('sha256').update(stamps.sort().join('\n')).digest('hex').slice(0, 16);
    } catch (error) {
      const mapped = warehouseErrorOf(error, `version of dataset ${options.warehouseDataset}`);
      if (mapped.code === 'WAREHOUSE.NOT_FOUND') return 'missing';
      throw mapped;
    }
  };

  return {
    client,
    read: (work, sessionOptions = {}) => session('read', work, sessionOptions),
    write: (work, sessionOptions = {}) => session('write', work, sessionOptions),
    version: () => {
      const now = Date.now();
      if (!remembered || now - remembered.at >= ttl) {
        const value = readVersion();
        remembered = { at: now, value };
        // A failed read is not reused.
        value.catch(() => {
          if (remembered?.value === value) remembered = undefined;
        });
      }
      return remembered.value;
    },
    async close() {
      closed = true;
      await Promise.allSettled([...active]);
    },
  };
}
