/** A scalar a warehouse row may hold (DuckDB/BigQuery values mapped to JavaScript). */
export type WarehouseValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Date
  | WarehouseValue[]
  | { [key: string]: WarehouseValue };

/** A result row keyed by column name. */
export type WarehouseRow = Record<string, WarehouseValue>;

/** Positional or named parameters of a statement. */
export type QueryParams = readonly WarehouseValue[] | Record<string, WarehouseValue>;

/** A result as columns: `columns[i]` holds every row's value of `names[i]`, in row order. */
export interface WarehouseColumns {
  names: string[];
  columns: WarehouseValue[][];
  rowCount: number;
}

/** A result whose every column is a DOUBLE, as one Float64Array per column (NULL reads as NaN). */
export interface WarehouseNumbers {
  names: string[];
  columns: Float64Array[];
  rowCount: number;
}

/**
 * One batch of a numeric scan: `rows` rows of `names.length` DOUBLE values, row-major (row r's
 * values at `values[r * names.length ...]`), NULL as NaN. Valid only during the visit.
 */
export interface WarehouseNumberRows {
  names: string[];
  rows: number;
  values: Float64Array;
}

/**
 * A table that bulk appends go to: by name, in a schema (a BigQuery dataset), or a temporary table
 * of the session (DuckDB) or of the transaction's script (BigQuery) when `temporary`. `catalog` is
 * DuckDB's only (`temp` with schema `main` is a temporary table there too).
 */
export interface AppendTarget {
  table: string;
  schema?: string;
  catalog?: string;
  temporary?: boolean;
}

/** A column of a bulk append: Float64s for a DOUBLE/FLOAT64 column, strings for a VARCHAR/STRING one. */
export type AppendColumn = Float64Array | readonly string[];

/**
 * What differs between the engines under the common SQL subset (see the BigQuery adapter's header),
 * named so that SQL built from it runs on either engine without asking which engine it is.
 */
export interface WarehouseDialect {
  /** The 64-bit float type, for DDL and casts: `double` on DuckDB, `float64` on BigQuery. */
  readonly float64: string;
  /**
   * The type of an instant, for DDL and casts: `timestamptz` on DuckDB, `timestamp` on BigQuery.
   * A cast of an ISO 8601 string with its offset (`...Z`) reads the same instant on both.
   */
  readonly timestamp: string;
  /**
   * A pseudo-column that names each row of a table until the table next changes (`rowid` on
   * DuckDB), to join results computed outside the engine back to their rows without moving the
   * rows' keys; `undefined` where the engine has none (BigQuery): rows then travel with their keys.
   */
  readonly rowId: string | undefined;
}

/** A column of a warehouse table: its name and its type in the engine's spelling. */
export interface WarehouseColumn {
  name: string;
  type: string;
}

/**
 * The tables of one schema (a DuckDB schema, a BigQuery dataset) as the engine names them: SQL
 * built from `table(name)` runs on either engine.
 */
export interface WarehouseSchema {
  readonly schema: string;
  /** The table's name as SQL text, qualified and quoted for this engine. */
  table(name: string): string;
  /** The existing tables and views of the schema, with their columns in order (empty when the schema is absent). */
  readonly tables: ReadonlyMap<string, readonly WarehouseColumn[]>;
}

/**
 * A function of numbers computed in JavaScript that SQL calls a batch of rows at a time (a model's
 * scores inside an `insert ... select`, so the rows never cross into JavaScript whole).
 */
export interface NumberFunction {
  /** Arguments of every call. */
  readonly arity: number;
  /**
   * The values of `rows` rows into `out[0..rows)`: `columns[i]` holds argument i of each row as a
   * DOUBLE, NULL as NaN. Valid only during the call.
   */
  compute(columns: readonly Float64Array[], rows: number, out: Float64Array): void;
}

/** The statements of one transaction. */
export interface WarehouseTransaction {
  execute(sql: string, params?: QueryParams): Promise<void>;
  query<T extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams): Promise<T[]>;
  /**
   * A numeric query (every column DOUBLE) as Float64Arrays: millions of rows of many columns
   * without a JavaScript value per number.
   */
  queryNumbers(sql: string, params?: QueryParams): Promise<WarehouseNumbers>;
  /**
   * Append rows to a table whose columns are all DOUBLE, one Float64Array per column in table
   * order, all the same length: a bulk write without SQL text per value.
   */
  appendNumbers(target: AppendTarget, columns: readonly Float64Array[]): Promise<void>;
  /**
   * Append rows of DOUBLE/FLOAT64 and VARCHAR/STRING columns, one column per table column in table
   * order, all the same length: strings travel too (slower than `appendNumbers` on DuckDB).
   */
  appendColumns(target: AppendTarget, columns: readonly AppendColumn[]): Promise<void>;
  /**
   * Where the engine can call JavaScript from SQL (DuckDB; absent on BigQuery, whose callers keep
   * their set-based path): runs `use` with `call`, which spells a call of `fn` on SQL argument
   * expressions (each cast to the engine's float64), valid in this transaction or session until
   * `use` settles. A row's NULL argument reaches `fn` as NaN; `fn` throwing fails the statement.
   */
  withNumberFunction?<T>(
    fn: NumberFunction,
    use: (call: (args: readonly string[]) => string) => Promise<T>,
  ): Promise<T>;
}

/**
 * The analytical warehouse (DuckDB locally, BigQuery in the cloud). A read-only warehouse refuses
 * every statement that would change data.
 */
export interface Warehouse extends WarehouseTransaction {
  readonly readOnly: boolean;
  /** How this engine spells what the common SQL subset cannot. */
  readonly dialect: WarehouseDialect;
  /**
   * A query's result by column rather than by row: for results of millions of rows that a caller
   * packs into typed arrays, without building an object per row.
   */
  queryColumns(sql: string, params?: QueryParams): Promise<WarehouseColumns>;
  /**
   * A numeric query (every column DOUBLE) handed to `visit` a batch of rows at a time, row-major:
   * millions of rows scored as they arrive, never held whole (DuckDB: one copy per 2,048 rows).
   * Batches come in the query's order.
   */
  scanNumbers(sql: string, params: QueryParams | undefined, visit: (batch: WarehouseNumberRows) => void): Promise<void>;
  /** The tables of a schema (BigQuery dataset), and how to name them in SQL. */
  describeSchema(schema: string): Promise<WarehouseSchema>;
  /** Run statements atomically: all or nothing. */
  transaction<T>(work: (tx: WarehouseTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
