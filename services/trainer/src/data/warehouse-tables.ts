/**
 * Names of the gold tables the trainer reads and writes. On DuckDB every name is qualified with the
 * database (catalog): a file called warehouse.duckdb is a catalog named "warehouse", which would
 * make `warehouse.fct_sales` ambiguous.
 */
import type { WarehouseTransaction } from '@mlops/shared';
import { TrainerErrors } from '../errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Check a schema or table name before it goes into SQL (they come from settings, never from events). */
export function checkIdentifier(kind: string, name: string): string {
  if (!IDENTIFIER.test(name))
    throw TrainerErrors.invalidSetting(kind, `must be a plain SQL identifier (got ${JSON.stringify(name)})`);
  return name;
}

/** Resolved names of one warehouse schema. */
export interface WarehouseTables {
  readonly schema: string;
  /** The qualified, quoted name of a table of the schema. */
  table(name: string): string;
  /** Whether the table exists. */
  exists(name: string): Promise<boolean>;
  /** Column names and types of a table, in order. */
  columns(name: string): Promise<{ name: string; type: string }[]>;
}

/** Resolve the tables of `schema` on a warehouse (one catalog lookup). */
export async function resolveTables(warehouse: WarehouseTransaction, schema: string): Promise<WarehouseTables> {
  checkIdentifier('warehouse schema', schema);
  const [row] = await warehouse.query<{ db: string }>('select current_database() as db');
  const catalog = String(row?.db ?? '');
  const prefix = catalog ? `${quote(catalog)}.${quote(schema)}` : quote(schema);
  const columns = async (name: string) =>
    (
      await warehouse.query<{ column_name: string; data_type: string }>(
        'select column_name, data_type from information_schema.columns where table_catalog = current_database() and table_schema = ? and table_name = ? order by ordinal_position',
        [schema, name],
      )
    ).map((column) => ({ name: column.column_name, type: column.data_type }));
  return {
    schema,
    table: (name) => `${prefix}.${quote(checkIdentifier('table', name))}`,
    exists: async (name) => (await columns(name)).length > 0,
    columns,
  };
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC|INT64|FLOAT64|BOOLEAN|BOOL)/i;

/** Whether a column type can be read as a feature (numbers and booleans). */
export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}
