/**
 * Checksums of warehouse tables, to compare two builds of the same data (an interrupted run with
 * an uninterrupted one, a replay with the first pass): per table, the row count and two folds of
 * the row hashes that do not depend on row order. DuckDB SQL.
 */
import type { WarehouseTransaction } from '../ports/warehouse.port.js';

/**
 * Columns whose values legitimately differ between two builds of the same data: the time a
 * prediction was written is the triggering event's time.
 */
export const VOLATILE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  'warehouse.fact_predictions_churn': ['predicted_at'],
};

/** Options of {@link tableChecksums}. */
export interface TableChecksumOptions {
  /** Schemas whose base tables are summed (default `staging` and `warehouse`). */
  schemas?: readonly string[];
  /** Columns left out, by `schema.table` (default {@link VOLATILE_COLUMNS}). */
  exclude?: Readonly<Record<string, readonly string[]>>;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * `rows:xor:sum` per `schema.table`: the row count, the XOR and the sum (mod 1e9+7) of every
 * row's hash. Equal strings mean equal tables up to row order (with overwhelming probability).
 */
export async function tableChecksums(
  warehouse: WarehouseTransaction,
  options: TableChecksumOptions = {},
): Promise<Record<string, string>> {
  const schemas = options.schemas ?? ['staging', 'warehouse'];
  const exclude = options.exclude ?? VOLATILE_COLUMNS;
  const columns = await warehouse.query<{ name: string; column_name: string }>(
    `select c.table_schema || '.' || c.table_name as name, c.column_name
     from information_schema.columns c join information_schema.tables t using (table_catalog, table_schema, table_name)
     where c.table_catalog = current_database() and t.table_type = 'BASE TABLE'
       and c.table_schema in (${schemas.map((schema) => `'${schema.replaceAll("'", "''")}'`).join(', ')})
     order by name, c.ordinal_position`,
  );
  const [{ catalog } = { catalog: '' }] = await warehouse.query<{ catalog: string }>(
    'select current_database() as catalog',
  );
  const byTable = new Map<string, string[]>();
  for (const { name, column_name } of columns) {
    if (exclude[name]?.includes(column_name)) continue;
    byTable.set(name, [...(byTable.get(name) ?? []), column_name]);
  }
  const sums: Record<string, string> = {};
  for (const [name, kept] of byTable) {
    const relation = [catalog, ...name.split('.')].map(quote).join('.');
    const row = `hash(row(${kept.map((column) => `t.${quote(column)}`).join(', ')}))`;
    const [result] = await warehouse.query<{ n: number; x: string; s: string }>(
      `select count(*) as n, coalesce(bit_xor(${row}), 0)::varchar as x, coalesce(sum(${row} % 1000000007), 0)::varchar as s from ${relation} as t`,
    );
    sums[name] = `${result!.n}:${result!.x}:${result!.s}`;
  }
  return sums;
}
