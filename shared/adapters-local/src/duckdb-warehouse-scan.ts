/**
 * Bulk numeric reads from DuckDB, row-major: the query's DOUBLE columns are packed by DuckDB into
 * one fixed-size array per row (`[...]::double[k]`), whose values a data chunk holds contiguously,
 * so 2,048 rows of k values cross into JavaScript as one copy instead of k (bench/model).
 */
import {
  DuckDBTypeId,
  type DuckDBArrayVector,
  type DuckDBConnection,
  type DuckDBDoubleVector,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { PermanentError, type WarehouseNumberRows } from '@mlops/kernel';
import { doubleVector } from './duckdb-warehouse-append.js';

/** The values of an ARRAY vector's rows, as its DOUBLE child vector (node-api's field, checked). */
function childOf(vector: DuckDBArrayVector): DuckDBDoubleVector {
  const child = (vector as unknown as { childData?: unknown }).childData;
  if (!child || typeof child !== 'object' || !('items' in child))
    throw new PermanentError(
      'WAREHOUSE.DRIVER_CHANGED',
      'the DuckDB driver no longer exposes ARRAY vectors as expected',
    );
  return child as unknown as DuckDBDoubleVector;
}

/** NaN for every value whose bit in the null mask is clear. */
function markNulls(values: Float64Array, mask: Uint32Array, count: number): void {
  const words = Math.ceil(count / 32);
  for (let w = 0; w < words; w++) {
    const bits = mask[w]!;
    if (bits === 0xffffffff) continue;
    const end = Math.min(32, count - w * 32);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) values[w * 32 + b] = Number.NaN;
  }
}

/**
 * Stream a numeric query's rows to `visit`, one data chunk (up to 2,048 rows) at a time. Every
 * column must be DOUBLE; its names are the query's.
 */
export async function scanNumbersOn(
  connection: DuckDBConnection,
  sql: string,
  values: DuckDBValue[] | Record<string, DuckDBValue> | undefined,
  types: DuckDBType[] | Record<string, DuckDBType | undefined> | undefined,
  visit: (batch: WarehouseNumberRows) => void,
): Promise<void> {
  const prepared = await connection.prepare(sql);
  const names: string[] = [];
  for (let index = 0; index < prepared.columnCount; index++) {
    names.push(prepared.columnName(index));
    if (prepared.columnTypeId(index) !== DuckDBTypeId.DOUBLE)
      throw new PermanentError(
        'WAREHOUSE.NOT_NUMERIC',
        `scanNumbers needs DOUBLE columns; ${prepared.columnName(index)} is ${prepared.columnType(index).toString()} (cast it in the query)`,
      );
  }
  const width = names.length;
  if (width === 0) throw new PermanentError('WAREHOUSE.NOT_NUMERIC', 'scanNumbers needs at least one column');
  const result = await connection.stream(
    `select [*columns(*)]::double[${width}] as row__ from (${sql}) as scanned__`,
    values,
    types,
  );
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    const { items, mask } = doubleVector(childOf(chunk.getColumnVector(0) as DuckDBArrayVector));
    const values = items.subarray(0, rows * width);
    if (mask) markNulls(values, mask, rows * width);
    visit({ names, rows, values });
  }
}
