/** Checks over a DuckDB warehouse shared by the transform tests. */
import type { Warehouse } from '@mlops/kernel';

export { tableChecksums } from '@mlops/kernel';

/** The rows of a query as sorted JSON lines, for exact comparisons. */
export async function rowsOf(warehouse: Warehouse, sql: string): Promise<string[]> {
  return (await warehouse.query(sql)).map((row) => JSON.stringify(row)).sort();
}
