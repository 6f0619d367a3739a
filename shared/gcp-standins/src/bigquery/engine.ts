import { DuckDBInstance, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { CATALOG_PLACEHOLDER, loadBigQueryTranslator } from '@mlops/adapters-local';
import { HttpError } from '../http/server.js';
import { bigQueryError } from './errors.js';
import {
  canonicalTypeOf,
  encodeRow,
  fieldOf,
  quoteIdentifier,
  type EncodedRow,
  type TableField,
  type TimestampFormat,
} from './schema.js';

/** `projectId`, `datasetId`, `tableId` of a table. */
export interface TableReference {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** What BigQuery keeps about a dataset that DuckDB's schema does not. */
export interface DatasetInfo {
  location: string;
  creationTime: number;
  description?: string;
  labels?: Record<string, string>;
}

/** What BigQuery keeps about a table that DuckDB's table does not. */
export interface TableInfo {
  creationTime: number;
  lastModifiedTime: number;
  timePartitioning?: { type: string; field?: string };
  clustering?: { fields: string[] };
  description?: string;
  labels?: Record<string, string>;
  /** A view's BigQuery SQL, as given. */
  viewQuery?: string;
}

/** A column of a stored table: its BigQuery field and its DuckDB type. */
export interface StoredColumn {
  field: TableField;
  type: DuckDBType;
}

/** A DuckDB table by its unquoted parts (the stage of a write is `temp.main.<name>`). */
export interface TableLocation {
  database: string;
  schema: string;
  table: string;
}

/** A table location, quoted for SQL. */
export function qualified(location: TableLocation): string {
  return [location.database, location.schema, location.table].map(quoteIdentifier).join('.');
}

/** A column name BigQuery would give as written; others are expressions without alias. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where query results without a destination go: BigQuery's hidden anonymous dataset. */
export const RESULTS_DATASET = '_standin_results';

const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u;

/** A dataset id, or 400 invalid. */
export function checkDatasetId(id: string): string {
  if (!DATASET_ID.test(id)) throw new HttpError(400, 'invalid', `Invalid dataset ID "${id}"`);
  return id;
}

/** A table id (without partition decorator), or 400 invalid. */
export function checkTableId(id: string): string {
  if (!TABLE_ID.test(id)) throw new HttpError(400, 'invalid', `Invalid table ID "${id}"`);
  return id;
}

/**
 * The DuckDB database behind the BigQuery stand-in: a dataset is a schema, a table a table.
 * Writes run one at a time (`exclusive`), each on a fresh connection (so a script's temporary
 * tables end with it) in UTC, which also orders jobs as BigQuery's per-table DML queue would;
 * reads (result pages, table data) run beside them on their own connections.
 */
export class BigQueryEngine {
  readonly datasets = new Map<string, DatasetInfo>();
  readonly tables = new Map<string, TableInfo>();
  private queue: Promise<unknown> = Promise.resolve();

  /** The DuckDB catalog, quoted, that stands for the project in translated SQL. */
  readonly catalog: string;

  private constructor(
    /** The DuckDB database itself (the Dataform stand-in runs its builds on it, as Dataform runs on BigQuery). */
    readonly instance: DuckDBInstance,
    /** The DuckDB catalog's name. */
    readonly database: string,
    readonly projectId: string,
    readonly location: string,
  ) {
    this.catalog = quoteIdentifier(database);
  }

  static async open(options: { projectId: string; location: string; path?: string }): Promise<BigQueryEngine> {
    await loadBigQueryTranslator();
    const instance = await DuckDBInstance.create(options.path ?? ':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll('select current_database()');
      const engine = new BigQueryEngine(instance, String(reader.getRows()[0]![0]), options.projectId, options.location);
      await connection.run(`create schema if not exists ${engine.catalog}.${quoteIdentifier(RESULTS_DATASET)}`);
      return engine;
    } finally {
      connection.closeSync();
    }
  }

  /** Bind translated SQL to this database (the translator's catalog placeholder). */
  bind(sql: string): string {
    return sql.split(CATALOG_PLACEHOLDER).join(this.catalog);
  }

  /** A table's DuckDB name. */
  tableName(datasetId: string, tableId: string): string {
    return qualified(this.locate(datasetId, tableId));
  }

  locate(datasetId: string, tableId: string): TableLocation {
    return { database: this.database, schema: datasetId, table: tableId };
  }

  private async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect();
    await connection.run("set TimeZone = 'UTC'");
    return connection;
  }

  /** Run writes one at a time, on a connection of their own; DuckDB errors become BigQuery's. */
  exclusive<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.read(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Run reads on a connection of their own, beside the writes. */
  async read<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.connect();
    try {
      return await work(connection);
    } catch (error) {
      throw bigQueryError(error);
    } finally {
      connection.closeSync();
    }
  }

  async datasetExists(connection: DuckDBConnection, datasetId: string): Promise<boolean> {
    const reader = await connection.runAndReadAll(
      'select 1 from duckdb_schemas() where database_name = current_database() and schema_name = $name',
      { name: datasetId },
    );
    return reader.currentRowCount > 0;
  }

  /** 404 unless the dataset exists (the anonymous results dataset included). */
  async requireDataset(connection: DuckDBConnection, datasetId: string): Promise<void> {
    if (!(await this.datasetExists(connection, datasetId)))
      throw new HttpError(404, 'notFound', `Not found: Dataset ${this.projectId}:${datasetId}`);
  }

  /** 'TABLE', 'VIEW', or undefined when absent. */
  async tableType(
    connection: DuckDBConnection,
    datasetId: string,
    tableId: string,
  ): Promise<'TABLE' | 'VIEW' | undefined> {
    const reader = await connection.runAndReadAll(
      `select 'TABLE' from duckdb_tables() where database_name = current_database() and schema_name = $d and table_name = $t
       union all
       select 'VIEW' from duckdb_views() where database_name = current_database() and schema_name = $d and view_name = $t`,
      { d: datasetId, t: tableId },
    );
    return reader.getRows()[0]?.[0] as 'TABLE' | 'VIEW' | undefined;
  }

  /** 404 unless the table (or view) exists. */
  async requireTable(connection: DuckDBConnection, reference: TableReference): Promise<'TABLE' | 'VIEW'> {
    const type = await this.tableType(connection, reference.datasetId, reference.tableId);
    if (!type)
      throw new HttpError(
        404,
        'notFound',
        `Not found: Table ${this.projectId}:${reference.datasetId}.${reference.tableId}`,
      );
    return type;
  }

  /** The columns of a table, as BigQuery fields (NOT NULL is REQUIRED) with their DuckDB types. */
  async columns(connection: DuckDBConnection, location: TableLocation): Promise<StoredColumn[]> {
    const prepared = await connection.prepare(`select * from ${qualified(location)}`);
    const notNull = new Set(
      (
        await connection.runAndReadAll(
          'select column_name from duckdb_columns() where database_name = $db and schema_name = $s and table_name = $t and not is_nullable',
          { db: location.database, s: location.schema, t: location.table },
        )
      )
        .getRows()
        .map((row) => String(row[0])),
    );
    const columns: StoredColumn[] = [];
    for (let index = 0; index < prepared.columnCount; index += 1) {
      const name = prepared.columnName(index);
      const type = prepared.columnType(index);
      columns.push({ field: fieldOf(name, type, notNull.has(name)), type });
    }
    prepared.destroySync();
    return columns;
  }

  /**
   * Give a table BigQuery's view of its columns: every column in the DuckDB type of its BigQuery
   * type (INTEGER as BIGINT, ...), and names BigQuery would give (`f0_`, `f1_` for expressions
   * without an alias). Rewrites keep row order.
   */
  async canonicalise(connection: DuckDBConnection, location: TableLocation): Promise<void> {
    const table = qualified(location);
    const columns = await this.columns(connection, location);
    let anonymous = 0;
    for (const { field, type } of columns) {
      let name = field.name;
      if (!IDENTIFIER.test(name)) {
        name = `f${anonymous}_`;
        anonymous += 1;
        await connection.run(
          `alter table ${table} rename column ${quoteIdentifier(field.name)} to ${quoteIdentifier(name)}`,
        );
      }
      const canonical = canonicalTypeOf(field);
      if (!sameType(type, canonical))
        await connection.run(`alter table ${table} alter column ${quoteIdentifier(name)} set data type ${canonical}`);
    }
  }

  /**
   * 400 when a query's result has two columns of one name, as BigQuery refuses them (DuckDB
   * would rename the second when storing it).
   */
  async checkColumnNames(connection: DuckDBConnection, select: string): Promise<void> {
    const prepared = await connection.prepare(select);
    const seen = new Set<string>();
    try {
      for (let index = 0; index < prepared.columnCount; index += 1) {
        const name = prepared.columnName(index);
        if (!IDENTIFIER.test(name)) continue; // an expression without alias: named f<n>_ later
        if (seen.has(name.toLowerCase()))
          throw new HttpError(
            400,
            'invalidQuery',
            `Duplicate column names in the result are not supported. Found duplicate(s): ${name}`,
          );
        seen.add(name.toLowerCase());
      }
    } finally {
      prepared.destroySync();
    }
  }

  /** Rows `[offset, offset + limit)` of a table, encoded; stops early past `maxBytes` of JSON. */
  async page(
    connection: DuckDBConnection,
    datasetId: string,
    tableId: string,
    offset: number,
    limit: number,
    timestamps: TimestampFormat,
    maxBytes = 10 * 1024 * 1024,
  ): Promise<{ rows: EncodedRow[]; fields: TableField[]; totalRows: number }> {
    const columns = await this.columns(connection, this.locate(datasetId, tableId));
    const fields = columns.map((column) => column.field);
    const table = this.tableName(datasetId, tableId);
    const total = Number((await connection.runAndReadAll(`select count(*) from ${table}`)).getRows()[0]![0]);
    const reader = await connection.runAndReadAll(`select * from ${table} limit ${limit} offset ${offset}`);
    const rows: EncodedRow[] = [];
    let bytes = 0;
    for (const values of reader.getRows()) {
      const row = encodeRow(values, fields, timestamps);
      bytes += approximateBytes(row);
      if (rows.length > 0 && bytes > maxBytes) break;
      rows.push(row);
    }
    return { rows, fields, totalRows: total };
  }

  close(): void {
    this.instance.closeSync();
  }
}

/** About the JSON size of an encoded value (strings and structure), without serialising it. */
function approximateBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 8;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + approximateBytes(item), 2);
  if (value && typeof value === 'object') return approximateBytes(Object.values(value)) + 6;
  return 8;
}

/** Whether a DuckDB type is already the canonical one (compared through DuckDB's own spelling). */
function sameType(type: DuckDBType, canonical: string): boolean {
  const normal = (text: string) =>
    text
      .toUpperCase()
      .replace(/\s+/g, '')
      .replace(/TIMESTAMPTZ/g, 'TIMESTAMPWITHTIMEZONE')
      .replace(/"/g, '');
  return normal(type.toString()) === normal(canonical) || (type.alias === 'JSON' && canonical === 'JSON');
}
