/**
 * Bulk appends to DuckDB tables through its appender: Float64 columns a data chunk at a time (a
 * native copy per 2,048 rows), string columns value by value.
 */
import { DOUBLE, DuckDBDataChunk, type DuckDBConnection, type DuckDBDoubleVector } from '@duckdb/node-api';
import { PermanentError, type AppendColumn, type AppendTarget } from '@mlops/kernel';

/**
 * A DOUBLE vector's values as the Float64Array node-api keeps them, and its validity (null mask:
 * every value valid). These fields are not in node-api's typings; reading them is what makes a
 * million values one copy instead of a million calls. Checked at run time, and by the adapter's
 * tests, so a node-api that changes them fails loudly.
 */
export function doubleVector(vector: DuckDBDoubleVector): {
  items: Float64Array;
  valid: (row: number) => boolean;
  allValid: boolean;
} {
  const raw = vector as unknown as { items: unknown; validity: { data: unknown; itemValid(row: number): boolean } };
  if (!(raw.items instanceof Float64Array) || !raw.validity)
    throw new PermanentError(
      'WAREHOUSE.DRIVER_CHANGED',
      'the DuckDB driver no longer exposes DOUBLE vectors as expected',
    );
  return { items: raw.items, valid: (row) => raw.validity.itemValid(row), allValid: raw.validity.data === null };
}

const CHUNK_ROWS = 2048;

/** The appender's catalog and schema of a target. */
async function placeOf(
  connection: DuckDBConnection,
  target: AppendTarget,
): Promise<{ schema: string | null; catalog: string | null }> {
  if (target.temporary) return { schema: 'main', catalog: 'temp' };
  // A schema without a catalog is in this database (a file named warehouse.duckdb makes a catalog
  // "warehouse", which DuckDB would find ambiguous with a schema of that name).
  const catalog =
    target.catalog ??
    (target.schema === undefined
      ? null
      : String((await connection.runAndReadAll('select current_database() as db')).getRowObjects()[0]!.db));
  return { schema: target.schema ?? null, catalog };
}

function rowsOf(columns: readonly AppendColumn[]): number {
  const rows = columns[0]?.length ?? 0;
  if (columns.some((column) => column.length !== rows))
    throw new PermanentError('WAREHOUSE.BAD_APPEND', 'an append needs columns of one length');
  return rows;
}

/** Append Float64 columns to a table of DOUBLE columns through DuckDB's appender, a data chunk at a time. */
export async function appendNumbersTo(
  connection: DuckDBConnection,
  target: AppendTarget,
  columns: readonly Float64Array[],
): Promise<void> {
  const rows = rowsOf(columns);
  const place = await placeOf(connection, target);
  const appender = await connection.createAppender(target.table, place.schema, place.catalog);
  try {
    const chunk = DuckDBDataChunk.create(
      columns.map(() => DOUBLE),
      CHUNK_ROWS,
    );
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows - start);
      if (n !== chunk.rowCount) chunk.rowCount = n;
      columns.forEach((column, index) => {
        const vector = chunk.getColumnVector(index) as DuckDBDoubleVector;
        doubleVector(vector).items.set(column.subarray(start, start + n));
        vector.flush();
      });
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Append Float64 and string columns (DOUBLE and VARCHAR columns of the table) row by row. */
export async function appendColumnsTo(
  connection: DuckDBConnection,
  target: AppendTarget,
  columns: readonly AppendColumn[],
): Promise<void> {
  if (columns.every((column) => column instanceof Float64Array))
    return appendNumbersTo(connection, target, columns as readonly Float64Array[]);
  const rows = rowsOf(columns);
  const place = await placeOf(connection, target);
  const appender = await connection.createAppender(target.table, place.schema, place.catalog);
  try {
    for (let row = 0; row < rows; row += 1) {
      for (const column of columns) {
        if (column instanceof Float64Array) appender.appendDouble(column[row]!);
        else appender.appendVarchar(column[row]!);
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
