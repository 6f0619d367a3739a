import type { JsonDocument } from './document-store.port.js';

/** A column type a Parquet file written through {@link ParquetWriter} may have. */
export type ParquetColumnType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'BOOLEAN';

/** One column of a Parquet file. */
export interface ParquetColumn {
  /** Column name: letters, digits and underscores. */
  readonly name: string;
  readonly type: ParquetColumnType;
}

/** A value of a row: it must fit its column's type (VARCHAR a string, DOUBLE a finite number, BIGINT a safe integer or bigint, BOOLEAN a boolean), or be null. */
export type ParquetValue = string | number | bigint | boolean | null;

/** A row keyed by column name; a column missing from the row is null. */
export type ParquetRow = Readonly<Record<string, ParquetValue>>;

/** What a finished file holds. */
export interface ParquetFileInfo {
  /** The local path of the finished file. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
}

/**
 * One Parquet file being written. Rows are appended in order and the file keeps that order.
 * Memory stays bounded whatever the number of rows.
 */
export interface ParquetFileWriter {
  /** Append rows (the writer may buffer them on disk, never all in memory). */
  write(rows: readonly ParquetRow[]): Promise<void>;
  /**
   * Finish the file. The work may take a while; callers may start writing the next file while it
   * runs. Nothing is at `path` until this resolves, and the file is complete when it does.
   */
  finish(): Promise<ParquetFileInfo>;
  /** Give up: remove anything written so far. */
  abort(): Promise<void>;
}

/** Where a document's id and the fields that fit no column go in a file of documents. */
export interface DocumentColumns {
  /** The VARCHAR column that receives each document's id. */
  readonly idColumn: string;
  /**
   * The VARCHAR column that receives, as a JSON object in the document's field order, every field
   * without a column and every value that does not fit its column's type (null when there is none).
   */
  readonly extraColumn: string;
}

/**
 * One Parquet file written from JSON documents, one row per document in order. A field fills the
 * column of its name when its value fits the type: VARCHAR a string, or a finite number as the
 * digits `String(number)` writes (raw timestamps may be epoch millis); DOUBLE a number; BIGINT a
 * safe integer; BOOLEAN a boolean. A null or missing field is null; anything else (a string
 * quantity, an object where text belongs, an unknown field) leaves the column null and goes to
 * the extra column untouched, so nothing is lost. Memory stays bounded whatever the number of
 * documents.
 */
export interface DocumentFileWriter {
  /** Append documents (the writer may buffer them on disk, never all in memory). */
  write(documents: readonly JsonDocument[]): Promise<void>;
  /** Finish the file, as {@link ParquetFileWriter.finish}. */
  finish(): Promise<ParquetFileInfo>;
  /** Give up: remove anything written so far. */
  abort(): Promise<void>;
}

/**
 * Writes Parquet files to local paths (the lander then puts them in the lake atomically). Only an
 * adapter knows the engine; the lander sees this port.
 */
export interface ParquetWriter {
  /** Start a file at a local path with the given columns. */
  create(path: string, columns: readonly ParquetColumn[]): Promise<ParquetFileWriter>;
  /**
   * Start a file of documents at a local path (see {@link DocumentFileWriter}). `columns` must
   * include `idColumn` and `extraColumn`, both VARCHAR. A writer that converts finished files in
   * the background may make a new file wait until it has room, which bounds its memory and disk.
   */
  createFromDocuments(
    path: string,
    columns: readonly ParquetColumn[],
    layout: DocumentColumns,
  ): Promise<DocumentFileWriter>;
  /**
   * Start the engine now rather than on the first file, so a service can pay that cost while it
   * waits for its first event (optional; a writer without it starts on first use).
   */
  warmUp?(): Promise<void>;
  /** Release the engine. */
  close(): Promise<void>;
}
