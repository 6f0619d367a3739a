/**
 * The gold tables the trainer reads and writes, as the warehouse describes them (`describeSchema`):
 * their names in this engine's SQL (a DuckDB catalog and schema, a BigQuery project and dataset),
 * their columns, and the engine's dialect for what the common SQL subset cannot say.
 */
import type { Warehouse, WarehouseDialect } from '@mlops/kernel';
import { TrainerErrors } from '../errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Check a schema, table or column name before it goes into SQL (they come from settings and schemas, never from events). */
export function checkIdentifier(kind: string, name: string): string {
  if (!IDENTIFIER.test(name))
    throw TrainerErrors.invalidSetting(kind, `must be a plain SQL identifier (got ${JSON.stringify(name)})`);
  return name;
}

/** Resolved names of one warehouse schema. */
export interface WarehouseTables {
  readonly schema: string;
  readonly dialect: WarehouseDialect;
  /** The qualified, quoted name of a table of the schema. */
  table(name: string): string;
  /** Whether the table exists. */
  exists(name: string): boolean;
  /** Column names and types of a table, in order (empty when the table is absent). */
  columns(name: string): { name: string; type: string }[];
}

/** Resolve the tables of `schema` on a warehouse (one description of the schema). */
export async function resolveTables(warehouse: Warehouse, schema: string): Promise<WarehouseTables> {
  checkIdentifier('warehouse schema', schema);
  const described = await warehouse.describeSchema(schema);
  const columns = (name: string) => (described.tables.get(name) ?? []).map((column) => ({ ...column }));
  return {
    schema,
    dialect: warehouse.dialect,
    table: (name) => described.table(checkIdentifier('table', name)),
    exists: (name) => described.tables.has(name),
    columns,
  };
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC|INT64|FLOAT64|BOOLEAN|BOOL)/i;

/** Whether a column type can be read as a feature (numbers and booleans). */
export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

/** Whether a column type is a boolean (read as 0 or 1). */
export function isBooleanType(type: string): boolean {
  return /^(BOOLEAN|BOOL)$/i.test(type);
}

/** A numeric or boolean column as a 64-bit float, on either engine (BigQuery casts no BOOL to FLOAT64). */
export function float64Of(dialect: WarehouseDialect, expression: string, type: string): string {
  return isBooleanType(type)
    ? `cast(cast(${expression} as int64) as ${dialect.float64})`
    : `cast(${expression} as ${dialect.float64})`;
}

/**
 * `(?, ?, ...)`: one parameter per value of an IN list. DuckDB prunes a scan by such a list (not by
 * `in (select * from unnest(?))`, a join); BigQuery takes up to 10,000 parameters a query.
 */
export function parameterList(values: readonly unknown[]): string {
  return `(${values.map(() => '?').join(', ')})`;
}
