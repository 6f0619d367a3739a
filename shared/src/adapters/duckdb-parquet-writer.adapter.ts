import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PermanentError, TransientError } from '../errors.js';
import type { JsonDocument } from '../ports/document-store.port.js';
import type { DocumentColumns, DocumentFileWriter, ParquetColumn, ParquetColumnType, ParquetFileInfo, ParquetFileWriter, ParquetRow, ParquetWriter } from '../ports/parquet-writer.port.js';

/** Rows per row group unless told otherwise (see {@link DuckDbParquetWriterOptions.rowGroupSize}). */
const DEFAULT_ROW_GROUP_SIZE = 20_480;
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
   * DuckDB threads (default 1). The caller's thread producing rows is the bottleneck; one DuckDB
   * thread converts the previous file concurrently on another core, and more threads only buy
   * memory (each buffers its own row group).
   */
  threads?: number;
  /** DuckDB memory limit (default `256MB`); DuckDB spills to `tempDirectory` beyond it. */
  memoryLimit?: string;
  /** Where DuckDB may spill (default the OS temp folder). */
  tempDirectory?: string;
  /** Parquet compression (default zstd). */
  compression?: 'zstd' | 'snappy' | 'uncompressed';
  /**
   * Rows per Parquet row group (default 20,480). DuckDB buffers a whole row group per thread,
   * about 4 KB a sales row, so this bounds the writer's memory: ~85 MB at the default, ~250 MB at
   * DuckDB's own 122,880 (measured in bench/bronze).
   */
  rowGroupSize?: number;
  /**
   * Whether files of documents read a plain document (see {@link plainDocument}) as typed columns
   * (default true). false converts every document by the exact rule instead: the same bytes, about
   * three times slower; tests compare the two.
   */
  plainDocuments?: boolean;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function checkColumns(columns: readonly ParquetColumn[]): void {
  if (columns.length === 0) throw new PermanentError('PARQUET.BAD_COLUMNS', 'a Parquet file needs at least one column');
  const seen = new Set<string>();
  for (const column of columns) {
    if (!COLUMN_NAME.test(column.name)) throw new PermanentError('PARQUET.BAD_COLUMNS', `column name "${column.name}" must match ${COLUMN_NAME}`);
    if (!TYPES.has(column.type)) throw new PermanentError('PARQUET.BAD_COLUMNS', `column ${column.name} has unsupported type ${String(column.type)}`);
    if (seen.has(column.name)) throw new PermanentError('PARQUET.BAD_COLUMNS', `column ${column.name} appears twice`);
    seen.add(column.name);
  }
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** The largest integer a JavaScript number holds exactly: BIGINT columns take no larger, as `Number.isSafeInteger`. */
const SAFE_INTEGER = '9007199254740991';

/**
 * A field's value as its column's type, and whether it fits, from `t`: the field's JSON text
 * (VARCHAR, null when the field is null or missing). The first character tells the JSON type.
 */
function fitOf(t: string, type: ParquetColumnType): { value: string; fits: string } {
  const first = `left(${t}, 1)`;
  const notNumber = `${first} in ('"', 't', 'f', '{', '[')`;
  switch (type) {
    case 'VARCHAR': {
      // DuckDB writes exponents as 1e21 where JavaScript writes 1e+21.
      const digits = `(case when contains(${t}, 'e') then regexp_replace(${t}, 'e([0-9])', 'e+\\1') else ${t} end)`;
      const text = `(case when contains(${t}, '\\') then json_extract_string(${t}, '$') else ${t}[2:-2] end)`;
      return { value: `(case when ${first} = '"' then ${text} when ${first} in ('t', 'f', '{', '[') then null else ${digits} end)`, fits: `(${first} not in ('t', 'f', '{', '['))` };
    }
    case 'DOUBLE':
      return { value: `(case when ${notNumber} then null else cast(${t} as double) end)`, fits: `(not ${notNumber})` };
    case 'BIGINT': {
      // Integers are written without a point or an exponent (up to 1e21, beyond the safe range).
      const fits = `(not ${notNumber} and not contains(${t}, '.') and not contains(${t}, 'e') and try_cast(${t} as hugeint) between -${SAFE_INTEGER} and ${SAFE_INTEGER})`;
      return { value: `(case when ${fits} then cast(${t} as bigint) end)`, fits };
    }
    case 'BOOLEAN':
      return { value: `(case when ${first} in ('t', 'f') then ${t} = 'true' end)`, fits: `(${first} in ('t', 'f'))` };
  }
}

/**
 * The exact rule (see the port's {@link DocumentFileWriter}) over `d`, the column of the document as
 * a map of field to JSON text, for the rows where `exact` holds: each column's text is taken from
 * the map once (named `texts[index]`, in `extract`) and converted by `value`. The extra column is built only
 * for a document with a field without a column or a value that does not fit: when every value fits
 * and every field is a non-null column, the field count proves it without looking at the names.
 */
function exactRule(fields: readonly ParquetColumn[], d: string, texts: readonly string[], exact: string): { extract: string[]; value: (column: ParquetColumn) => string; extra: string } {
  const text = (index: number) => `"${texts[index]}"`;
  const extract = fields.map((column, index) => `(case when ${exact} then cast(${d}[${quoteLiteral(column.name)}] as varchar) end) as ${text(index)}`);
  const allFit = ['true', ...fields.map((column, index) => `coalesce(${fitOf(text(index), column.type).fits}, true)`)].join(' and ');
  const nonNull = ['0', ...fields.map((_column, index) => `(${text(index)} is not null)::integer`)].join(' + ');
  const present = ['0', ...fields.map((column) => `map_contains(${d}, ${quoteLiteral(column.name)})::integer`)].join(' + ');
  const kept = fields.length === 0 ? 'true' : `case ${fields.map((column) => `when e.key = ${quoteLiteral(column.name)} then not coalesce(${fitOf('cast(e.value as varchar)', column.type).fits}, true)`).join(' ')} else true end`;
  const listed = `'{' || array_to_string(list_transform(list_filter(map_entries(${d}), e -> ${kept}), e -> to_json(e.key) || ':' || coalesce(cast(e.value as varchar), 'null')), ',') || '}'`;
  // Each condition is evaluated only for the documents the previous ones left undecided.
  const extra = `(case when not (${allFit}) then ${listed} when cardinality(${d}) = ${nonNull} then null when cardinality(${d}) = ${present} then null else ${listed} end)`;
  return { extract, value: (column) => fitOf(text(fields.indexOf(column)), column.type).value, extra };
}

/** JSON text of a value that fits a column of the type and reads the same whichever way DuckDB reads it. */
const PLAIN_TOKEN: Record<ParquetColumnType, string> = {
  // A string without an escape or a control character: its content as written.
  VARCHAR: '"[^"\\\\\\u0000-\\u001f]*"',
  // At most 15 digits (a safe integer), no sign on zero (DuckDB's JSON reader may take -0 for a real).
  BIGINT: '(?:0|-?[1-9][0-9]{0,14})',
  // At most 15 integer digits, no exponent, no negative zero, no trailing zero (as JavaScript writes numbers).
  DOUBLE: '(?:0|-?[1-9][0-9]{0,14}|-?(?:0|[1-9][0-9]{0,14})\\.[0-9]*[1-9])',
  BOOLEAN: '(?:true|false)',
};

/**
 * What a plain document's text looks like: every field of `fields` once, in that order, each with
 * a value of its column's type in the plain form of {@link PLAIN_TOKEN}, nothing else, no space.
 * Such a document is nearly every document, and the exact rule would give each field's value as
 * DuckDB's typed JSON reader reads it, with no extra; so it is read that way, which is as fast as
 * DuckDB's own read_json of NDJSON. Undefined when there is no field to read.
 */
export function plainDocument(fields: readonly ParquetColumn[]): RegExp | undefined {
  if (fields.length === 0) return undefined;
  return new RegExp(`^\\{${fields.map((column, index) => `${index === 0 ? '' : ','}"${column.name}":${PLAIN_TOKEN[column.type]}`).join('')}\\}$`);
}

/**
 * Names no field has: the keys of a staged line for the id and for a document that is not plain,
 * and the query's names for each field's JSON text in such a document.
 */
interface StagingKeys {
  readonly id: string;
  readonly document: string;
  readonly texts: readonly string[];
}

function stagingKeys(fields: readonly ParquetColumn[]): StagingKeys {
  const taken = new Set(fields.map((column) => column.name));
  const free = (name: string): string => {
    if (taken.has(name)) return free(`${name}_`);
    taken.add(name);
    return name;
  };
  return { id: free('i'), document: free('d'), texts: fields.map((_column, index) => free(`f${index}`)) };
}

/**
 * The query turning staged documents into rows (see {@link DocumentFile}): a plain document's
 * fields are read as typed columns (see {@link plainDocument}); any other document, which has the
 * `document` key instead, is read as a map of field to JSON text and converted by the
 * {@link exactRule}. One pass, in order.
 */
function documentsQuery(stagingPath: string, columns: readonly ParquetColumn[], layout: DocumentColumns, keys: StagingKeys): string {
  const fields = columns.filter((column) => column.name !== layout.idColumn && column.name !== layout.extraColumn);
  const d = `"${keys.document}"`;
  const { extract, value, extra } = exactRule(fields, d, keys.texts, `${d} is not null`);
  const select = columns.map((column) => {
    if (column.name === layout.idColumn) return `"${keys.id}" as "${column.name}"`;
    if (column.name === layout.extraColumn) return `(case when ${d} is not null then ${extra} end) as "${column.name}"`;
    return `(case when ${d} is not null then ${value(column)} else "${column.name}" end) as "${column.name}"`;
  });
  const types = [`${quoteLiteral(keys.id)}: 'VARCHAR'`, ...fields.map((column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type)}`), `${quoteLiteral(keys.document)}: 'MAP(VARCHAR, JSON)'`];
  const read = `read_json(${quoteLiteral(stagingPath)}, format = 'newline_delimited', columns = {${types.join(', ')}}, maximum_object_size = ${MAX_LINE_BYTES})`;
  const typed = fields.map((column) => `"${column.name}"`);
  return `select ${select.join(', ')} from (select "${keys.id}", ${[...typed, d, ...extract].join(', ')} from ${read})`;
}

/**
 * Writes Parquet files with an embedded, in-memory DuckDB (no database file). Output is
 * deterministic: the same rows in the same order give byte-identical files.
 */
export class DuckDbParquetWriter implements ParquetWriter {
  /** Rows per row group unless told otherwise. */
  static readonly defaultRowGroupSize = DEFAULT_ROW_GROUP_SIZE;
  private instance: Promise<DuckDBInstance> | undefined;
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
      // one: measured ~50 MB lower peak RSS landing 1,000,000 rows in 10 parts, no slower.
      allocator_flush_threshold: '8MB',
      allocator_background_threads: 'true',
    });
    return this.instance;
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
    return NdjsonFile.open(instance, path, columns, this.copyOptions());
  }

  async createFromDocuments(path: string, columns: readonly ParquetColumn[], layout: DocumentColumns): Promise<DocumentFileWriter> {
    checkColumns(columns);
    for (const name of [layout.idColumn, layout.extraColumn]) {
      if (columns.find((column) => column.name === name)?.type !== 'VARCHAR') throw new PermanentError('PARQUET.BAD_COLUMNS', `column ${name} must be one of the columns, of type VARCHAR`);
    }
    if (layout.idColumn === layout.extraColumn) throw new PermanentError('PARQUET.BAD_COLUMNS', `the id and extra columns must differ (both are ${layout.idColumn})`);
    const instance = await this.engine();
    const fields = columns.filter((column) => column.name !== layout.idColumn && column.name !== layout.extraColumn);
    const plain = (this.options.plainDocuments ?? true) ? plainDocument(fields) : undefined;
    const keys = stagingKeys(fields);
    return DocumentFile.open(instance, path, documentsQuery(`${path}.staging.ndjson`, columns, layout, keys), plain, keys, this.copyOptions());
  }

  async close(): Promise<void> {
    this.closed = true;
    const instance = this.instance;
    this.instance = undefined;
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
  throw new TransientError('PARQUET.WRITE_FAILED', `could not write Parquet file ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** Bytes of NDJSON gathered before a write to the staging file. */
const STAGING_BUFFER_BYTES = 4 * 1024 * 1024;
/** The longest line (row or document) DuckDB's JSON reader accepts. */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

/**
 * Text staged as NDJSON beside the target, converted by DuckDB's JSON reader when finished. Lines
 * are encoded into two reused buffers (one fills while the other is written) and written through a
 * file handle, so staging allocates no buffer per write (a stream would leave one behind per chunk
 * for the garbage collector).
 */
abstract class StagedFile {
  protected readonly stagingPath: string;
  // Two buffers: one is filled while the other is written (the caller does not wait for the disk).
  private buffer = Buffer.allocUnsafe(STAGING_BUFFER_BYTES);
  private spare = Buffer.allocUnsafe(STAGING_BUFFER_BYTES);
  private writing: Promise<void> = Promise.resolve();
  private used = 0;
  private rows = 0;

  protected constructor(
    private readonly instance: DuckDBInstance,
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly copyOptions: string,
  ) {
    this.stagingPath = `${path}.staging.ndjson`;
  }

  /** The query whose result becomes the Parquet file. */
  protected abstract query(): string;

  private async writeAll(buffer: Buffer, length: number): Promise<void> {
    let offset = 0;
    while (offset < length) offset += (await this.handle.write(buffer, offset, length - offset)).bytesWritten;
  }

  /** Start writing the buffer (once the previous write is done) and fill the other one meanwhile. */
  private async flush(): Promise<void> {
    await this.writing;
    const writing = this.writeAll(this.buffer, this.used);
    writing.catch(() => undefined); // awaited by the next flush or by finish
    this.writing = writing;
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.used = 0;
  }

  /**
   * Append one line in two pieces, written straight into the buffer (no string of the whole line
   * is built): `head`, then `body`. `inline` (for a body that is a JSON object) makes the body's
   * fields continue the head's object: its `{` becomes a comma; otherwise a `}` closes the line.
   * Returns false, having appended nothing, when the buffer must be flushed first ({@link stageLong}).
   */
  protected stageLine(head: string, body: string, inline: boolean): boolean {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if ((head.length + body.length) * 3 + 2 > STAGING_BUFFER_BYTES - this.used) return false;
    const buffer = this.buffer;
    let used = this.used + buffer.write(head, this.used, 'utf8');
    const start = used;
    used += buffer.write(body, used, 'utf8');
    if (inline) buffer[start] = 0x2c;
    else buffer[used++] = 0x7d;
    buffer[used++] = 0x0a;
    this.used = used;
    this.rows += 1;
    return true;
  }

  /** Append the line {@link stageLine} had no room for: flush, then append it whatever its length. */
  protected async stageLong(head: string, body: string, inline: boolean): Promise<void> {
    await this.flush();
    if (!this.stageLine(head, body, inline)) await this.stage(inline ? `${head},${body.slice(1)}\n` : `${head}${body}}\n`, 1);
  }

  /** Append `rows` lines of NDJSON. */
  protected async stage(text: string, rows: number): Promise<void> {
    this.rows += rows;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > STAGING_BUFFER_BYTES - this.used) await this.flush();
    if (bytes > STAGING_BUFFER_BYTES) {
      await this.writing;
      await this.writeAll(Buffer.from(text, 'utf8'), bytes);
    }
    else this.used += this.buffer.write(text, this.used, 'utf8');
  }

  async finish(): Promise<ParquetFileInfo> {
    try {
      await this.flush();
      await this.writing;
      await this.handle.close();
    } catch (error) {
      await this.abort();
      return wrap(error, this.path);
    }
    let connection: DuckDBConnection | undefined;
    try {
      connection = await this.instance.connect();
      await connection.run(`copy (${this.query()}) to ${quoteLiteral(`${this.path}.writing`)} ${this.copyOptions}`);
      return await publish(`${this.path}.writing`, this.path, this.rows);
    } catch (error) {
      await rm(`${this.path}.writing`, { force: true });
      return wrap(error, this.path);
    } finally {
      connection?.closeSync();
      await rm(this.stagingPath, { force: true });
    }
  }

  async abort(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await rm(this.stagingPath, { force: true });
    await rm(`${this.path}.writing`, { force: true });
  }
}

/** Rows staged as NDJSON and read back with their column types. */
class NdjsonFile extends StagedFile implements ParquetFileWriter {
  private constructor(
    instance: DuckDBInstance,
    handle: FileHandle,
    path: string,
    private readonly columns: readonly ParquetColumn[],
    copyOptions: string,
  ) {
    super(instance, handle, path, copyOptions);
  }

  static async open(instance: DuckDBInstance, path: string, columns: readonly ParquetColumn[], copyOptions: string): Promise<NdjsonFile> {
    const handle = await open(`${path}.staging.ndjson`, 'w');
    return new NdjsonFile(instance, handle, path, columns, copyOptions);
  }

  protected query(): string {
    const columns = this.columns.map((column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type)}`).join(', ');
    return `select ${this.columns.map((column) => `"${column.name}"`).join(', ')} from read_json(${quoteLiteral(this.stagingPath)}, format = 'newline_delimited', columns = {${columns}}, maximum_object_size = ${MAX_LINE_BYTES})`;
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
    await this.stage(text, rows.length);
  }
}

/**
 * Documents staged as NDJSON, each exactly as stored (never parsed here, only matched): a plain
 * document (see {@link plainDocument}) with its id as a first field, `{"<id>":<id>,<fields>}`,
 * which DuckDB reads as typed columns; any other as `{"<id>":<id>,"<document>":<document>}`, read
 * as a map and converted by the exact rule (see {@link documentsQuery} for the two key names).
 */
class DocumentFile extends StagedFile implements DocumentFileWriter {
  private constructor(
    instance: DuckDBInstance,
    handle: FileHandle,
    path: string,
    private readonly sql: string,
    private readonly plain: RegExp | undefined,
    private readonly keys: StagingKeys,
    copyOptions: string,
  ) {
    super(instance, handle, path, copyOptions);
  }

  static async open(instance: DuckDBInstance, path: string, sql: string, plain: RegExp | undefined, keys: StagingKeys, copyOptions: string): Promise<DocumentFile> {
    const handle = await open(`${path}.staging.ndjson`, 'w');
    return new DocumentFile(instance, handle, path, sql, plain, keys, copyOptions);
  }

  protected query(): string {
    return this.sql;
  }

  async write(documents: readonly JsonDocument[]): Promise<void> {
    const { plain, keys } = this;
    for (const document of documents) {
      const head = `{"${keys.id}":${JSON.stringify(document.id)}`;
      const inline = plain?.test(document.json) === true;
      const first = inline ? head : `${head},"${keys.document}":`;
      if (!this.stageLine(first, document.json, inline)) await this.stageLong(first, document.json, inline);
    }
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

  static async open(instance: DuckDBInstance, path: string, columns: readonly ParquetColumn[], table: string, copyOptions: string): Promise<AppenderFile> {
    const connection = await instance.connect();
    await connection.run(`create table ${table} (${columns.map((column) => `"${column.name}" ${column.type}`).join(', ')})`);
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
