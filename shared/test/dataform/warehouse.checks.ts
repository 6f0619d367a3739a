/** Checks over a DuckDB warehouse shared by the transform tests. */
import type { Warehouse } from '@mlops/shared';

/** Per-table checksums of every base table in the given schemas: row count and two row-hash folds. */
export async function tableChecksums(
  warehouse: Warehouse,
  schemas: readonly string[] = ['staging', 'warehouse'],
): Promise<Record<string, string>> {
  const tables = await warehouse.query<{ name: string }>(
    `select table_schema || '.' || table_name as name from information_schema.tables
     where table_type = 'BASE TABLE' and table_schema in (${schemas.map((schema) => `'${schema}'`).join(', ')}) order by 1`,
  );
  const sums: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await warehouse.query<{ n: number; x: string; s: string }>(
      `select count(*) as n, coalesce(bit_xor(hash(t)), 0)::varchar as x, coalesce(sum(hash(t) % 1000000007), 0)::varchar as s from ${name} as t`,
    );
    sums[name] = `${row!.n}:${row!.x}:${row!.s}`;
  }
  return sums;
}

/** The rows of a query as sorted JSON lines, for exact comparisons. */
export async function rowsOf(warehouse: Warehouse, sql: string): Promise<string[]> {
  return (await warehouse.query(sql)).map((row) => JSON.stringify(row)).sort();
}
