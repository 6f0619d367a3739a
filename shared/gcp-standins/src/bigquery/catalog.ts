import type { DuckDBConnection } from '@duckdb/node-api';
import { HttpError, NotImplementedError, onlyFields } from '../http/server.js';
import { RESULTS_DATASET, checkDatasetId, checkTableId, type BigQueryEngine, type TableReference } from './engine.js';
import { checkLabels } from './jobs.js';
import { translateQuery } from './query-runner.js';
import { canonicalTypeOf, quoteIdentifier, type TableField } from './schema.js';

const DATASET_FIELDS = ['datasetReference', 'location', 'description', 'labels', 'friendlyName'];
const TABLE_FIELDS = [
  'tableReference',
  'schema',
  'timePartitioning',
  'clustering',
  'description',
  'labels',
  'view',
  'friendlyName',
];

/** datasets, tables and their resources: the catalog calls of the BigQuery stand-in. */
export class Catalog {
  constructor(private readonly engine: BigQueryEngine) {}

  private get projectId(): string {
    return this.engine.projectId;
  }

  async datasetResource(
    connection: DuckDBConnection,
    datasetId: string,
    baseUrl: string,
  ): Promise<Record<string, unknown>> {
    await this.engine.requireDataset(connection, datasetId);
    const info = this.engine.datasets.get(datasetId);
    const created = String(info?.creationTime ?? Date.now());
    return {
      kind: 'bigquery#dataset',
      etag: Buffer.from(`${datasetId}/${created}`).toString('base64'),
      id: `${this.projectId}:${datasetId}`,
      selfLink: `${baseUrl}/bigquery/v2/projects/${this.projectId}/datasets/${datasetId}`,
      datasetReference: { datasetId, projectId: this.projectId },
      location: info?.location ?? this.engine.location,
      creationTime: created,
      lastModifiedTime: created,
      type: 'DEFAULT',
      ...(info?.description ? { description: info.description } : {}),
      ...(info?.labels ? { labels: info.labels } : {}),
    };
  }

  async insertDataset(connection: DuckDBConnection, body: Record<string, unknown>): Promise<string> {
    onlyFields(body, DATASET_FIELDS, 'datasets.insert');
    const reference = body.datasetReference as { datasetId?: string; projectId?: string } | undefined;
    const datasetId = checkDatasetId(reference?.datasetId ?? '');
    if (datasetId === RESULTS_DATASET || (await this.engine.datasetExists(connection, datasetId)))
      throw new HttpError(409, 'duplicate', `Already Exists: Dataset ${this.projectId}:${datasetId}`);
    const labels = checkLabels(body.labels);
    await connection.run(`create schema ${this.engine.catalog}.${quoteIdentifier(datasetId)}`);
    this.engine.datasets.set(datasetId, {
      location: typeof body.location === 'string' ? body.location : this.engine.location,
      creationTime: Date.now(),
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      ...(labels ? { labels } : {}),
    });
    return datasetId;
  }

  async deleteDataset(connection: DuckDBConnection, datasetId: string, deleteContents: boolean): Promise<void> {
    await this.engine.requireDataset(connection, datasetId);
    if (datasetId === RESULTS_DATASET) throw new NotImplementedError('deleting the anonymous results dataset');
    const reader = await connection.runAndReadAll(
      `select count(*) from duckdb_tables() where database_name = current_database() and schema_name = $d`,
      { d: datasetId },
    );
    const views = await connection.runAndReadAll(
      `select count(*) from duckdb_views() where database_name = current_database() and schema_name = $d`,
      { d: datasetId },
    );
    if (!deleteContents && Number(reader.getRows()[0]![0]) + Number(views.getRows()[0]![0]) > 0)
      throw new HttpError(400, 'resourceInUse', `Dataset ${this.projectId}:${datasetId} is still in use`);
    await connection.run(`drop schema ${this.engine.catalog}.${quoteIdentifier(datasetId)} cascade`);
    this.engine.datasets.delete(datasetId);
    for (const key of [...this.engine.tables.keys()])
      if (key.startsWith(`${datasetId}.`)) this.engine.tables.delete(key);
  }

  async listDatasets(connection: DuckDBConnection): Promise<Record<string, unknown>> {
    const reader = await connection.runAndReadAll(
      `select schema_name from duckdb_schemas() where database_name = current_database() and not internal and schema_name not in ('main', '${RESULTS_DATASET}') order by schema_name`,
    );
    return {
      kind: 'bigquery#datasetList',
      datasets: reader.getRows().map(([name]) => ({
        kind: 'bigquery#dataset',
        id: `${this.projectId}:${String(name)}`,
        datasetReference: { datasetId: String(name), projectId: this.projectId },
        location: this.engine.datasets.get(String(name))?.location ?? this.engine.location,
      })),
    };
  }

  async tableResource(
    connection: DuckDBConnection,
    reference: TableReference,
    baseUrl: string,
  ): Promise<Record<string, unknown>> {
    const type = await this.engine.requireTable(connection, reference);
    const key = `${reference.datasetId}.${reference.tableId}`;
    const info = this.engine.tables.get(key);
    const now = String(Date.now());
    const columns = await this.engine.columns(connection, this.engine.locate(reference.datasetId, reference.tableId));
    const rows =
      type === 'TABLE'
        ? String(
            (
              await connection.runAndReadAll(
                `select count(*) from ${this.engine.tableName(reference.datasetId, reference.tableId)}`,
              )
            ).getRows()[0]![0],
          )
        : '0';
    return {
      kind: 'bigquery#table',
      etag: Buffer.from(`${key}/${info?.lastModifiedTime ?? now}`).toString('base64'),
      id: `${this.projectId}:${key}`,
      selfLink: `${baseUrl}/bigquery/v2/projects/${this.projectId}/datasets/${reference.datasetId}/tables/${reference.tableId}`,
      tableReference: { projectId: this.projectId, datasetId: reference.datasetId, tableId: reference.tableId },
      schema: { fields: columns.map((column) => column.field) },
      numBytes: '0',
      numLongTermBytes: '0',
      numRows: rows,
      creationTime: String(info?.creationTime ?? now),
      lastModifiedTime: String(info?.lastModifiedTime ?? now),
      type,
      location: this.engine.datasets.get(reference.datasetId)?.location ?? this.engine.location,
      ...(info?.timePartitioning ? { timePartitioning: info.timePartitioning } : {}),
      ...(info?.clustering ? { clustering: info.clustering } : {}),
      ...(info?.description ? { description: info.description } : {}),
      ...(info?.labels ? { labels: info.labels } : {}),
      ...(type === 'VIEW' ? { view: { query: info?.viewQuery ?? '', useLegacySql: false } } : {}),
    };
  }

  /** tables.insert: a table from a schema (NOT NULL for REQUIRED), or a view from BigQuery SQL. */
  async insertTable(
    connection: DuckDBConnection,
    datasetId: string,
    body: Record<string, unknown>,
  ): Promise<TableReference> {
    onlyFields(body, TABLE_FIELDS, 'tables.insert');
    const reference = body.tableReference as TableReference | undefined;
    const tableId = checkTableId(reference?.tableId ?? '');
    if (reference?.datasetId && reference.datasetId !== datasetId)
      throw new HttpError(400, 'invalid', `tableReference.datasetId ${reference.datasetId} is not ${datasetId}`);
    await this.engine.requireDataset(connection, datasetId);
    if (await this.engine.tableType(connection, datasetId, tableId))
      throw new HttpError(409, 'duplicate', `Already Exists: Table ${this.projectId}:${datasetId}.${tableId}`);
    const partitioning = body.timePartitioning as { type?: string; field?: string; expirationMs?: unknown } | undefined;
    if (partitioning) {
      onlyFields(partitioning, ['type', 'field'], 'timePartitioning');
      if (partitioning.type !== 'DAY' || !partitioning.field)
        throw new NotImplementedError('time partitioning other than DAY on a column');
    }
    const labels = checkLabels(body.labels);
    const name = this.engine.tableName(datasetId, tableId);
    const view = body.view as { query?: string; useLegacySql?: boolean } | undefined;
    if (view) {
      if (view.useLegacySql !== false) throw new NotImplementedError('legacy SQL views (set useLegacySql: false)');
      if (body.schema) throw new HttpError(400, 'invalid', 'a view takes its schema from its query');
      const statements = translateQuery({ query: view.query ?? '' });
      if (statements.length !== 1) throw new HttpError(400, 'invalid', 'a view is one query');
      await connection.run(`create view ${name} as ${this.engine.bind(statements[0]!)}`);
    } else {
      const fields = (body.schema as { fields?: TableField[] } | undefined)?.fields ?? [];
      if (fields.length === 0) throw new NotImplementedError('tables without a schema');
      const columns = fields.map(
        (field) =>
          `${quoteIdentifier(field.name)} ${canonicalTypeOf(field)}${field.mode === 'REQUIRED' ? ' not null' : ''}`,
      );
      await connection.run(`create table ${name} (${columns.join(', ')})`);
    }
    const now = Date.now();
    const clustering = body.clustering as { fields: string[] } | undefined;
    this.engine.tables.set(`${datasetId}.${tableId}`, {
      creationTime: now,
      lastModifiedTime: now,
      ...(partitioning ? { timePartitioning: { type: 'DAY', field: partitioning.field! } } : {}),
      ...(clustering ? { clustering: { fields: clustering.fields } } : {}),
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      ...(labels ? { labels } : {}),
      ...(view ? { viewQuery: view.query! } : {}),
    });
    return { projectId: this.projectId, datasetId, tableId };
  }

  async deleteTable(connection: DuckDBConnection, reference: TableReference): Promise<void> {
    const type = await this.engine.requireTable(connection, reference);
    await connection.run(
      `drop ${type === 'VIEW' ? 'view' : 'table'} ${this.engine.tableName(reference.datasetId, reference.tableId)}`,
    );
    this.engine.tables.delete(`${reference.datasetId}.${reference.tableId}`);
  }

  async listTables(connection: DuckDBConnection, datasetId: string): Promise<Record<string, unknown>> {
    await this.engine.requireDataset(connection, datasetId);
    const reader = await connection.runAndReadAll(
      `select table_name, 'TABLE' from duckdb_tables() where database_name = current_database() and schema_name = $d
       union all
       select view_name, 'VIEW' from duckdb_views() where database_name = current_database() and schema_name = $d and not internal
       order by 1`,
      { d: datasetId },
    );
    const tables = reader.getRows().map(([name, type]) => {
      const info = this.engine.tables.get(`${datasetId}.${String(name)}`);
      return {
        kind: 'bigquery#table',
        id: `${this.projectId}:${datasetId}.${String(name)}`,
        tableReference: { projectId: this.projectId, datasetId, tableId: String(name) },
        type: String(type),
        ...(info ? { creationTime: String(info.creationTime) } : {}),
        ...(info?.timePartitioning ? { timePartitioning: info.timePartitioning } : {}),
      };
    });
    return { kind: 'bigquery#tableList', tables, totalItems: tables.length };
  }
}
