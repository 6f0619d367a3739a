import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PermanentError,
  TransientError,
  type JsonDocument,
  type DocumentColumns,
  type DocumentFileWriter,
  type ParquetColumn,
  type ParquetColumnType,
  type ParquetFileInfo,
  type ParquetFileWriter,
  type ParquetRow,
  type ParquetWriter,
} from '@mlops/kernel';
import { fieldColumns, plainDocument, ruleLine, stagingKeys, type StagingKeys } from './document-staging.js';
import { NdjsonStaging } from './ndjson-staging.js';

export { plainDocument } from './document-staging.js';

/** The longest line (row or document) DuckDB's JSON reader accepts. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Files converted at once unless told otherwise (see {@link DuckDbParquetWriterOptions.conversions}). */
const DEFAULT_CONVERSIONS = 2;
/** Rows per row group unless told otherwise (see {@link DuckDbParquetWriterOptions.rowGroupSize}). */
const DEFAULT_ROW_GROUP_SIZE = 12_288;
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const TYPES = new Set(['VARCHAR', 'DOUBLE', 'BIGINT', 'BOOLEAN']);

/** Options of {@link DuckDbParquetWriter}. */
export interface DuckDbParquetWriterOptions {
  /**
   * How rows reach DuckDB. `ndjson` (default) streams them to a newline-delimited JSON file beside
   * the target and lets DuckDB convert it with `read_json` when the file is finished, on DuckDB's
   * own threads while the caller carries on. `appender` pushes every value through DuckDB's
   * appender into a temporary table on the caller's thread. Measured in bench/bronze: ndjson wins.
   */
  strategy?: 'ndjson' | 'appender';
  /**
   * DuckDB threads for one file's conversion (default 1). One thread per file keeps its bytes the
   * same from run to run: with more, DuckDB cuts row groups where its threads happen to meet.
   */
  threads?: number;
  /**
   * Files converted at once, each on its own connection and thread (default 2): the caller writes
   * the next file meanwhile. A new file waits while a finished one waits for its turn. Each
   * conversion buffers about one row group (see {@link rowGroupSize}).
   */
  conversions?: number;
  /** DuckDB memory limit (default `256MB`); DuckDB spills to `tempDirectory` beyond it. */
  memoryLimit?: string;
  /** Where DuckDB may spill (default the OS temp folder). */
  tempDirectory?: string;
  /** Parquet compression (default zstd). */
  compression?: 'zstd' | 'snappy' | 'uncompressed';
  /**
   * Rows per Parquet row group (default 12,288, six of DuckDB's 2,048-row vectors). Each conversion
   * buffers about a row group and the JSON it came from, so this bounds the writer's memory
   * (bench/bronze measures the trade-off against file size and speed).
   */
  rowGroupSize?: number;
  /**
   * Whether files of documents stage a plain document (see {@link plainDocument}) as it is stored
   * (default true). false parses and converts every document by the rule instead: the same bytes,
   * slower; tests compare the two.
   */
  plainDocuments?: boolean;
}

function checkColumns(columns: readonly ParquetColumn[]): void {
  if (columns.length === 0) throw new PermanentError('PARQUET.BAD_COLUMNS', 'a Parquet file needs at least one column');
  const seen = new Set<string>();
  for (const column of columns) {
    if (!COLUMN_NAME.test(column.name))
      throw new PermanentError('PARQUET.BAD_COLUMNS', `column name "${column.name}" must match ${COLUMN_NAME}`);
    if (!TYPES.has(column.type))
      throw new PermanentError(
        'PARQUET.BAD_COLUMNS',
        `column ${column.name} has unsupported type ${String(column.type)}`,
      );
    if (seen.has(column.name)) throw new PermanentError('PARQUET.BAD_COLUMNS', `column ${column.name} appears twice`);
    seen.add(column.name);
  }
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/**
 * Writes Parquet files with an embedded, in-memory DuckDB (no database file). Output is
 * deterministic: the same rows in the same order give byte-identical files.
 */
export class DuckDbParquetWriter implements ParquetWriter {
  /** Rows per row group unless told otherwise. */
  static readonly defaultRowGroupSize = DEFAULT_ROW_GROUP_SIZE;
  private instance: Promise<DuckDBInstance> | undefined;
  private conversions: Conversions | undefined;
  private closed = false;
  private tables = 0;
  readonly strategy: 'ndjson' | 'appender';

  constructor(private readonly options: DuckDbParquetWriterOptions = {}) {
    this.strategy = options.strategy ?? 'ndjson';
  }

  private engine(): Promise<DuckDBInstance> {
    if (this.closed) throw new PermanentError('PARQUET.CLOSED', 'the Parquet writer is closed');
    this.instance ??= DuckDBInstance.create(':memory:', {
      threads: String(Math.max(1, Math.floor(this.options.threads ?? 1))),
      memory_limit: this.options.memoryLimit ?? '256MB',
      temp_directory: this.options.tempDirectory ?? join(tmpdir(), 'mlops-duckdb-spill'),
      preserve_insertion_order: 'true',
      // Return memory to the system after each conversion instead of keeping it cached for the next
      // one: a lower peak RSS when landing many parts (bench/bronze), no slower.
      allocator_flush_threshold: '8MB',
      allocator_background_threads: 'true',
    });
    return this.instance;
  }

  private converter(instance: DuckDBInstance): Conversions {
    this.conversions ??= new Conversions(
      instance,
      this.copyOptions(),
      Math.max(1, Math.floor(this.options.conversions ?? DEFAULT_CONVERSIONS)),
    );
    return this.conversions;
  }

  /** The `TO ... (...)` options of the COPY statement. */
  private copyOptions(): string {
    return `(format parquet, compression ${this.options.compression ?? 'zstd'}, row_group_size ${Math.max(1024, Math.floor(this.options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE))})`;
  }

  async create(path: string, columns: readonly ParquetColumn[]): Promise<ParquetFileWriter> {
    checkColumns(columns);
    const instance = await this.engine();
    if (this.strategy === 'appender') {
      this.tables += 1;
      return AppenderFile.open(instance, path, columns, `parquet_rows_${this.tables}`, this.copyOptions());
    }
    const conversions = this.converter(instance);
    await conversions.room();
    return NdjsonFile.open(conversions, path, columns);
  }

  async createFromDocuments(
    path: string,
    columns: readonly ParquetColumn[],
    layout: DocumentColumns,
  ): Promise<DocumentFileWriter> {
    checkColumns(columns);
    for (const name of [layout.idColumn, layout.extraColumn]) {
      if (columns.find((column) => column.name === name)?.type !== 'VARCHAR')
        throw new PermanentError('PARQUET.BAD_COLUMNS', `column ${name} must be one of the columns, of type VARCHAR`);
    }
    if (layout.idColumn === layout.extraColumn)
      throw new PermanentError(
        'PARQUET.BAD_COLUMNS',
        `the id and extra columns must differ (both are ${layout.idColumn})`,
      );
    const conversions = this.converter(await this.engine());
    await conversions.room();
    return DocumentFile.open(conversions, path, columns, layout, this.options.plainDocuments ?? true);
  }

  /** Create the DuckDB instance and run one query, so the first file does not wait for them. */
  async warmUp(): Promise<void> {
    const connection = await (await this.engine()).connect();
    try {
      await connection.run('select 1');
    } finally {
      connection.closeSync();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const instance = this.instance;
    this.instance = undefined;
    await this.conversions?.close();
    this.conversions = undefined;
    if (instance) (await instance).closeSync();
  }
}

// DuckDB writes the file progressively; it is renamed into place only once complete.
async function publish(writing: string, path: string, rows: number): Promise<ParquetFileInfo> {
  await rename(writing, path);
  return { path, rows, bytes: (await stat(path)).size };
}

function wrap(error: unknown, path: string): never {
  if (error instanceof PermanentError || error instanceof TransientError) throw error;
  throw new TransientError(
    'PARQUET.WRITE_FAILED',
    `could not write Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/**
 * Converts staged files to Parquet, `lanes` at a time, each on its own DuckDB connection (and so
 * its own thread: one file's conversion is single-threaded, which keeps its bytes deterministic),
 * in the order the files were finished. A file's staging is closed the moment it is finished.
 * A new file waits (in {@link room}) while a finished one waits for a lane, so at most `lanes`
 * files convert while one more is written.
 */
class Conversions {
  private readonly idle: DuckDBConnection[] = [];
  private connections = 0;
  /** Finished files waiting for a connection, in order. */
  private readonly queued: ((connection: DuckDBConnection) => void)[] = [];
  /** Callers of {@link room} waiting for the queue to empty. */
  private readonly roomWaiters: (() => void)[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly copyOptions: string,
    private readonly lanes: number,
  ) {}

  /** Resolves once no finished file is waiting for a lane. */
  async room(): Promise<void> {
    while (this.queued.length > 0) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private async connection(): Promise<DuckDBConnection> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.connections < this.lanes) {
      this.connections += 1;
      try {
        return await this.instance.connect();
      } catch (error) {
        this.connections -= 1;
        throw error;
      }
    }
    return new Promise<DuckDBConnection>((resolve) => this.queued.push(resolve));
  }

  private release(connection: DuckDBConnection): void {
    const next = this.queued.shift();
    if (next) next(connection);
    else this.idle.push(connection);
    if (this.queued.length === 0) for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  /** Close `stagings`, then (once a lane is free) write `query`'s rows to `path`. */
  convert(stagings: readonly NdjsonStaging[], query: string, path: string): Promise<ParquetFileInfo> {
    const sealed = Promise.all(stagings.map((staging) => staging.close()));
    sealed.catch(() => undefined); // awaited below
    const connecting = this.connection();
    const converted = (async () => {
      let connection: DuckDBConnection | undefined;
      try {
        connection = await connecting;
        await sealed;
        await connection.run(`copy (${query}) to ${quoteLiteral(`${path}.writing`)} ${this.copyOptions}`);
        return await publish(
          `${path}.writing`,
          path,
          stagings.reduce((sum, staging) => sum + staging.rows, 0),
        );
      } catch (error) {
        await rm(`${path}.writing`, { force: true });
        return wrap(error, path);
      } finally {
        if (connection) this.release(connection);
        await Promise.all(stagings.map((staging) => staging.remove()));
      }
    })();
    const settled = converted.catch(() => undefined);
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return converted;
  }

  /** Wait for the conversions under way and release the connections. */
  async close(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    for (const connection of this.idle.splice(0)) connection.closeSync();
  }
}

/** Rows staged as NDJSON and read back with their column types. */
class NdjsonFile implements ParquetFileWriter {
  private constructor(
    private readonly conversions: Conversions,
    private readonly staging: NdjsonStaging,
    private readonly path: string,
    private readonly columns: readonly ParquetColumn[],
  ) {}

  static async open(conversions: Conversions, path: string, columns: readonly ParquetColumn[]): Promise<NdjsonFile> {
    return new NdjsonFile(conversions, await NdjsonStaging.open(`${path}.staging.ndjson`), path, columns);
  }

  async write(rows: readonly ParquetRow[]): Promise<void> {
    if (rows.length === 0) return;
    let text = '';
    for (const row of rows) {
      let line: string;
      try {
        line = JSON.stringify(row);
      } catch {
        line = JSON.stringify(row, bigintSafe);
      }
      text += line + '\n';
    }
    await this.staging.text(text, rows.length);
  }

  finish(): Promise<ParquetFileInfo> {
    const columns = this.columns
      .map((column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type)}`)
      .join(', ');
    const read = `read_json(${quoteLiteral(this.staging.path)}, format = 'newline_delimited', columns = {${columns}}, maximum_object_size = ${MAX_LINE_BYTES})`;
    return this.conversions.convert(
      [this.staging],
      `select ${this.columns.map((column) => `"${column.name}"`).join(', ')} from ${read}`,
      this.path,
    );
  }

  async abort(): Promise<void> {
    await this.staging.remove();
    await rm(`${this.path}.writing`, { force: true });
  }
}

/**
 * The query reading staged documents (see {@link DocumentFile}) as rows: DuckDB's typed JSON reader
 * alone, the very work of converting NDJSON rows to Parquet.
 */
function documentsQuery(
  stagingPath: string,
  columns: readonly ParquetColumn[],
  layout: DocumentColumns,
  keys: StagingKeys,
): string {
  const select = columns.map((column) => {
    if (column.name === layout.idColumn) return `"${keys.id}" as "${column.name}"`;
    if (column.name === layout.extraColumn) return `"${keys.extra}" as "${column.name}"`;
    return `"${column.name}"`;
  });
  const types = [
    { name: keys.id, type: 'VARCHAR' },
    ...fieldColumns(columns, layout),
    { name: keys.extra, type: 'VARCHAR' },
  ].map((column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type)}`);
  return `select ${select.join(', ')} from read_json(${quoteLiteral(stagingPath)}, format = 'newline_delimited', columns = {${types.join(', ')}}, maximum_object_size = ${MAX_LINE_BYTES})`;
}

/**
 * Documents staged as NDJSON lines of typed fields, read back by {@link documentsQuery}: a plain
 * document (see {@link plainDocument}) exactly as stored, never parsed, with its id as a first
 * field, `{"<id>":<id>,<fields>}`; any other converted by the rule ({@link ruleLine}).
 */
class DocumentFile implements DocumentFileWriter {
  /** `{"<id key>":` in bytes: what opens each staged line. */
  private readonly idPrefix: Uint8Array;

  private constructor(
    private readonly conversions: Conversions,
    private readonly staging: NdjsonStaging,
    private readonly path: string,
    private readonly query: string,
    private readonly pattern: RegExp | undefined,
    private readonly fields: ReadonlyMap<string, ParquetColumnType>,
    private readonly keys: StagingKeys,
  ) {
    this.idPrefix = Buffer.from(`{"${keys.id}":`, 'utf8');
  }

  static async open(
    conversions: Conversions,
    path: string,
    columns: readonly ParquetColumn[],
    layout: DocumentColumns,
    plainDocuments: boolean,
  ): Promise<DocumentFile> {
    const fields = fieldColumns(columns, layout);
    const keys = stagingKeys(fields);
    const stagingPath = `${path}.staging.ndjson`;
    const pattern = plainDocuments ? plainDocument(fields) : undefined;
    const types = new Map(fields.map((column) => [column.name, column.type]));
    return new DocumentFile(
      conversions,
      await NdjsonStaging.open(stagingPath),
      path,
      documentsQuery(stagingPath, columns, layout, keys),
      pattern,
      types,
      keys,
    );
  }

  async write(documents: readonly JsonDocument[]): Promise<void> {
    const { pattern, keys, staging, idPrefix } = this;
    for (const document of documents) {
      if (pattern?.test(document.json) === true) {
        if (!staging.idLine(idPrefix, document.id, document.json))
          await staging.lineLong(`{"${keys.id}":${JSON.stringify(document.id)}`, document.json, true);
      } else {
        await staging.text(`${ruleLine(document.id, document.json, this.fields, keys)}\n`, 1);
      }
    }
  }

  finish(): Promise<ParquetFileInfo> {
    return this.conversions.convert([this.staging], this.query, this.path);
  }

  async abort(): Promise<void> {
    await this.staging.remove();
    await rm(`${this.path}.writing`, { force: true });
  }
}

/** Rows appended value by value into a temporary table, copied out when finished. */
class AppenderFile implements ParquetFileWriter {
  private rows = 0;

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly appender: DuckDBAppender,
    private readonly path: string,
    private readonly columns: readonly ParquetColumn[],
    private readonly table: string,
    private readonly copyOptions: string,
  ) {}

  static async open(
    instance: DuckDBInstance,
    path: string,
    columns: readonly ParquetColumn[],
    table: string,
    copyOptions: string,
  ): Promise<AppenderFile> {
    const connection = await instance.connect();
    await connection.run(
      `create table ${table} (${columns.map((column) => `"${column.name}" ${column.type}`).join(', ')})`,
    );
    const appender = await connection.createAppender(table);
    return new AppenderFile(connection, appender, path, columns, table, copyOptions);
  }

  async write(rows: readonly ParquetRow[]): Promise<void> {
    const { appender, columns } = this;
    for (const row of rows) {
      for (const column of columns) {
        const value = row[column.name];
        if (value === null || value === undefined) appender.appendNull();
        else if (column.type === 'VARCHAR') appender.appendVarchar(String(value));
        else if (column.type === 'DOUBLE') appender.appendDouble(Number(value));
        else if (column.type === 'BIGINT') appender.appendBigInt(BigInt(value));
        else appender.appendBoolean(Boolean(value));
      }
      appender.endRow();
    }
    this.rows += rows.length;
  }

  async finish(): Promise<ParquetFileInfo> {
    try {
      this.appender.closeSync();
      await this.connection.run(`copy ${this.table} to ${quoteLiteral(`${this.path}.writing`)} ${this.copyOptions}`);
      return await publish(`${this.path}.writing`, this.path, this.rows);
    } catch (error) {
      await rm(`${this.path}.writing`, { force: true });
      return wrap(error, this.path);
    } finally {
      await this.connection.run(`drop table if exists ${this.table}`).catch(() => undefined);
      this.connection.closeSync();
    }
  }

  async abort(): Promise<void> {
    try {
      this.appender.closeSync();
    } catch {
      // Already closed.
    }
    await this.connection.run(`drop table if exists ${this.table}`).catch(() => undefined);
    this.connection.closeSync();
    await rm(`${this.path}.writing`, { force: true });
  }
}
