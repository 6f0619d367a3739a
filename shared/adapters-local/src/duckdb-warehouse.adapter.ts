import {
  BIGINT,
  BOOLEAN,
  DATE,
  dateValue,
  DOUBLE,
  type DuckDBDoubleVector,
  LIST,
  listValue,
  TIMESTAMPTZ,
  VARCHAR,
  DuckDBInstance,
  DuckDBTypeId,
  StatementType,
  type DuckDBConnection,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  PermanentError,
  type AppendColumn,
  type AppendTarget,
  type NumberFunction,
  type QueryParams,
  type Warehouse,
  type WarehouseColumns,
  type WarehouseNumbers,
  type WarehouseNumberRows,
  type WarehouseColumn,
  type WarehouseDialect,
  type WarehouseRow,
  type WarehouseSchema,
  type WarehouseTransaction,
  type WarehouseValue,
} from '@mlops/kernel';
import { appendColumnsTo, appendNumbersTo, copyDoubles } from './duckdb-warehouse-append.js';
import { withNumberFunctionOn } from './duckdb-warehouse-function.js';
import { scanNumbersOn } from './duckdb-warehouse-scan.js';

/** DuckDB's spelling of what the common SQL subset cannot say (see the port). */
export const DUCKDB_DIALECT: WarehouseDialect = { float64: 'double', timestamp: 'timestamptz', rowId: 'rowid' };

const READ_ONLY_STATEMENTS = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

// One DuckDB instance per file per process: DuckDB locks the file, so a second instance would fail.
// The first open decides the instance's mode; read-only adapters on a read-write instance are
// guarded statement by statement instead. A file that a warehouse access holds is not opened here.
const instances = new Map<string, { instance: Promise<DuckDBInstance>; readOnly: boolean }>();
const accessed = new Set<string>();

/** Memory settings of a DuckDB instance. */
export interface DuckDbMemoryOptions {
  /**
   * DuckDB's `memory_limit` (e.g. `512MB`): what its buffer manager may hold before it spills to
   * the temporary folder (DuckDB's default is 80% of the machine's memory).
   */
  memoryLimit?: string;
}

/**
 * A new DuckDB instance on a file. Every instance gives memory back to the system after each task
 * rather than keep it cached in its allocator. A reader (the dashboard) runs a few large queries
 * once per warehouse version and then mostly small ones (bench/dashboard prints the RSS after
 * warm-up); a writer (the transform's runs, the trainer) shares its process with the pipeline's
 * other stages, and with DuckDB's default (flush past 128 MB) a 60-date transform run of `npm start`
 * held ~85 MB more at its peak for the same CPU (bench/start README, Session 10). Spilled data goes
 * to DuckDB's default temporary folder beside the file (`<file>.tmp`).
 */
export function createDuckDbInstance(
  path: string,
  readOnly: boolean,
  threads?: number,
  memory: DuckDbMemoryOptions = {},
): Promise<DuckDBInstance> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return DuckDBInstance.create(path, {
    ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
    allocator_flush_threshold: ALLOCATOR_FLUSH_THRESHOLD,
    allocator_background_threads: 'true',
    ...(threads ? { threads: String(Math.max(1, Math.floor(threads))) } : {}),
    ...(memory.memoryLimit ? { memory_limit: memory.memoryLimit } : {}),
  });
}

/** DuckDB's `allocator_flush_threshold` for every instance (see {@link createDuckDbInstance}). */
export const ALLOCATOR_FLUSH_THRESHOLD = '8MB';

/** @internal Mark a file as held by a warehouse access of this process (or not any more). */
export function markAccessed(path: string, held: boolean): void {
  if (held && instances.has(path))
    throw new PermanentError(
      'WAREHOUSE.OPEN_ELSEWHERE',
      `${path} is open in this process outside the warehouse access (openDuckDbWarehouse); close it and call releaseDuckDbFile first`,
    );
  if (held) accessed.add(path);
  else accessed.delete(path);
}

async function instanceFor(path: string, readOnly: boolean): Promise<DuckDBInstance> {
  if (path === ':memory:') return DuckDBInstance.create(path);
  if (accessed.has(path))
    throw new PermanentError(
      'WAREHOUSE.OPEN_ELSEWHERE',
      `${path} is held by this process's warehouse access; use its read or write sessions`,
    );
  const cached = instances.get(path);
  if (cached) {
    if (cached.readOnly && !readOnly) {
      throw new PermanentError(
        'WAREHOUSE.OPENED_READ_ONLY',
        `${path} is already open read-only in this process; open it read-write before any read-only user`,
      );
    }
    return cached.instance;
  }
  const instance = createDuckDbInstance(path, readOnly);
  instances.set(path, { instance, readOnly });
  instance.catch(() => instances.delete(path));
  return instance;
}

/** Drop this process's cached instance of a file (after every user has closed it). */
export function releaseDuckDbFile(path: string): void {
  const cached = instances.get(path);
  instances.delete(path);
  void cached?.instance.then((db) => db.closeSync()).catch(() => undefined);
}

function normalise(value: unknown, typeId: DuckDBTypeId | undefined): WarehouseValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date)
    return typeId === DuckDBTypeId.DATE ? value.toISOString().slice(0, 10) : value.toISOString();
  if (Array.isArray(value)) return value.map((item) => normalise(item, undefined));
  if (typeof value === 'object') {
    const out: Record<string, WarehouseValue> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = normalise(inner, undefined);
    return out;
  }
  return value as WarehouseValue;
}

function rowsOf<T extends WarehouseRow>(reader: DuckDBResultReader): T[] {
  const names = reader.columnNames();
  const types = reader.columnTypes().map((type) => type.typeId);
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, WarehouseValue> = {};
    names.forEach((name, index) => {
      out[name] = normalise(row[name], types[index]);
    });
    return out as T;
  });
}

function columnsOf(reader: DuckDBResultReader): WarehouseColumns {
  const names = reader.columnNames();
  const types = reader.columnTypes().map((type) => type.typeId);
  const read = reader.getColumnsJS();
  // An empty result has no chunks, and then no columns either.
  const columns = names
    .map((_name, index) => read[index] ?? [])
    .map((column, index) => {
      const typeId = types[index];
      const out: WarehouseValue[] = new Array(column.length);
      for (let row = 0; row < column.length; row += 1) {
        const value = column[row];
        // Numbers, strings, booleans and nulls pass as they are; the rest as in rowsOf.
        out[row] =
          typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
            ? value
            : normalise(value, typeId);
      }
      return out;
    });
  return { names, columns, rowCount: reader.currentRowCount };
}

/**
 * Run a numeric query and copy its chunks into one Float64Array per column (NULL becomes NaN). The
 * result is streamed: each chunk is copied as DuckDB makes it, never held as a materialized result
 * beside the arrays, which would double the CPU and memory of a large read.
 */
async function numbersOf(
  connection: DuckDBConnection,
  sql: string,
  params: QueryParams | undefined,
): Promise<WarehouseNumbers> {
  const result = await connection.stream(sql, ...paramsOf(params));
  const names = result.columnNames();
  const types = result.columnTypes();
  types.forEach((type, index) => {
    if (type.typeId !== DuckDBTypeId.DOUBLE)
      throw new PermanentError(
        'WAREHOUSE.NOT_NUMERIC',
        `queryNumbers needs DOUBLE columns; ${names[index]} is ${type.toString()} (cast it in the query)`,
      );
  });
  let capacity = 1 << 16;
  let columns = names.map(() => new Float64Array(capacity));
  let rowCount = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (rowCount + n > capacity) {
      capacity = Math.max(2 * capacity, rowCount + n);
      columns = columns.map((column) => {
        const grown = new Float64Array(capacity);
        grown.set(column.subarray(0, rowCount));
        return grown;
      });
    }
    columns.forEach((column, index) =>
      copyDoubles(chunk.getColumnVector(index) as DuckDBDoubleVector, n, column, rowCount),
    );
    rowCount += n;
  }
  return { names, columns: columns.map((column) => column.slice(0, rowCount)), rowCount };
}

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;

/** An array parameter as a typed list (DuckDB cannot infer a type where `?` could be anything). */
function listParam(items: readonly WarehouseValue[]): { value: DuckDBValue; type: DuckDBType } {
  const present = items.filter((item) => item !== null);
  const all = (test: (item: WarehouseValue) => boolean) => present.length > 0 && present.every(test);
  const values = items as DuckDBValue[];
  if (all((item) => typeof item === 'boolean')) return { value: listValue(values), type: LIST(BOOLEAN) };
  if (all((item) => typeof item === 'bigint' || (typeof item === 'number' && Number.isSafeInteger(item))))
    return {
      value: listValue(items.map((item) => (item === null ? null : BigInt(item as number | bigint)))),
      type: LIST(BIGINT),
    };
  if (all((item) => typeof item === 'number')) return { value: listValue(values), type: LIST(DOUBLE) };
  if (all((item) => item instanceof Date)) return { value: listValue(values), type: LIST(TIMESTAMPTZ) };
  // A list of YYYY-MM-DD strings is a list of dates, as on BigQuery (bigquery-values.ts).
  if (all((item) => typeof item === 'string' && DATE_TEXT.test(item)))
    return {
      value: listValue(
        items.map((item) => (item === null ? null : dateValue(Date.parse(`${item as string}T00:00:00Z`) / 86_400_000))),
      ),
      type: LIST(DATE),
    };
  return { value: listValue(values), type: LIST(VARCHAR) };
}

/** Parameters for DuckDB: scalars as they are, arrays as typed lists. */
function paramsOf(
  params: QueryParams | undefined,
): [
  DuckDBValue[] | Record<string, DuckDBValue> | undefined,
  DuckDBType[] | Record<string, DuckDBType | undefined> | undefined,
] {
  if (params === undefined) return [undefined, undefined];
  if (Array.isArray(params)) {
    const list = params as readonly WarehouseValue[];
    if (!list.some(Array.isArray)) return [list as DuckDBValue[], undefined];
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    for (const value of list) {
      if (Array.isArray(value)) {
        const typed = listParam(value);
        values.push(typed.value);
        types.push(typed.type);
      } else {
        values.push(value as DuckDBValue);
        types.push(undefined as unknown as DuckDBType);
      }
    }
    return [values, types];
  }
  const named = params as Record<string, WarehouseValue>;
  if (!Object.values(named).some(Array.isArray)) return [named as Record<string, DuckDBValue>, undefined];
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType | undefined> = {};
  for (const [name, value] of Object.entries(named)) {
    if (Array.isArray(value)) {
      const typed = listParam(value);
      values[name] = typed.value;
      types[name] = typed.type;
    } else values[name] = value as DuckDBValue;
  }
  return [values, types];
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Options of {@link openDuckDbWarehouse}. */
export interface DuckDbWarehouseOptions {
  /** Database file, or `:memory:`. */
  path: string;
  /** Refuse every statement that is not a query. */
  readOnly?: boolean;
  /** DuckDB threads (default: DuckDB's own, one per core). */
  threads?: number;
}

/**
 * The warehouse on a DuckDB file. Statements on one adapter run one at a time on its connection;
 * each transaction takes a connection of its own. A read-only adapter checks the type of every
 * statement before running it, so only queries pass.
 */
export class DuckDbWarehouse implements Warehouse {
  private queue: Promise<unknown> = Promise.resolve();
  private ended: string | undefined;
  readonly dialect = DUCKDB_DIALECT;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly readOnly: boolean,
    readonly path: string,
    private readonly ownsConnection = true,
  ) {}

  static async open(options: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    const instance = await instanceFor(options.path, options.readOnly ?? false);
    const connection = await instance.connect();
    if (options.threads) await connection.run(`set threads = ${Math.max(1, Math.floor(options.threads))}`);
    return new DuckDbWarehouse(instance, connection, options.readOnly ?? false, options.path);
  }

  /** @internal A warehouse over a session's connection; the session closes the connection. */
  static onConnection(
    instance: DuckDBInstance,
    connection: DuckDBConnection,
    readOnly: boolean,
    path: string,
  ): DuckDbWarehouse {
    return new DuckDbWarehouse(instance, connection, readOnly, path, false);
  }

  /** @internal Wait for queued statements, then refuse any further use (`reason` is said then). */
  async end(reason: string): Promise<void> {
    this.ended = reason;
    await this.queue;
  }

  private live(): void {
    if (this.ended !== undefined) throw new PermanentError('WAREHOUSE.SESSION_ENDED', this.ended);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.live();
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async guard(connection: DuckDBConnection, sql: string): Promise<void> {
    if (!this.readOnly) return;
    const statements = await connection.extractStatements(sql);
    for (let index = 0; index < statements.count; index += 1) {
      const prepared = await statements.prepare(index);
      if (!READ_ONLY_STATEMENTS.has(prepared.statementType)) {
        throw new PermanentError(
          'WAREHOUSE.READ_ONLY',
          `this warehouse connection is read-only; statement ${index + 1} is not a query`,
        );
      }
    }
  }

  async execute(sql: string, params?: QueryParams): Promise<void> {
    await this.serial(async () => {
      await this.guard(this.connection, sql);
      await this.connection.run(sql, ...paramsOf(params));
    });
  }

  async query<T extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.serial(async () => {
      await this.guard(this.connection, sql);
      return rowsOf<T>(await this.connection.runAndReadAll(sql, ...paramsOf(params)));
    });
  }

  async queryColumns(sql: string, params?: QueryParams): Promise<WarehouseColumns> {
    return this.serial(async () => {
      await this.guard(this.connection, sql);
      return columnsOf(await this.connection.runAndReadAll(sql, ...paramsOf(params)));
    });
  }

  async queryNumbers(sql: string, params?: QueryParams): Promise<WarehouseNumbers> {
    return this.serial(async () => {
      await this.guard(this.connection, sql);
      return numbersOf(this.connection, sql, params);
    });
  }

  async scanNumbers(
    sql: string,
    params: QueryParams | undefined,
    visit: (batch: WarehouseNumberRows) => void,
  ): Promise<void> {
    await this.serial(async () => {
      await this.guard(this.connection, sql);
      await scanNumbersOn(this.connection, sql, ...paramsOf(params), visit);
    });
  }

  async appendNumbers(target: AppendTarget, columns: readonly Float64Array[]): Promise<void> {
    if (this.readOnly) throw new PermanentError('WAREHOUSE.READ_ONLY', 'a read-only warehouse cannot append rows');
    await this.serial(() => appendNumbersTo(this.connection, target, columns));
  }

  async appendColumns(target: AppendTarget, columns: readonly AppendColumn[]): Promise<void> {
    if (this.readOnly) throw new PermanentError('WAREHOUSE.READ_ONLY', 'a read-only warehouse cannot append rows');
    await this.serial(() => appendColumnsTo(this.connection, target, columns));
  }

  withNumberFunction<T>(
    fn: NumberFunction,
    use: (call: (args: readonly string[]) => string) => Promise<T>,
  ): Promise<T> {
    this.live();
    return withNumberFunctionOn(this.instance, this.connection, fn, use);
  }

  async describeSchema(schema: string): Promise<WarehouseSchema> {
    // Names carry the catalog: a file called warehouse.duckdb is a catalog named "warehouse",
    // which would make warehouse.fct_sales ambiguous.
    const rows = await this.query<{
      db: string;
      table_name: string | null;
      column_name: string | null;
      data_type: string | null;
    }>(
      `select current_database() as db, c.table_name, c.column_name, c.data_type
       from (select 1) left join information_schema.columns c on c.table_catalog = current_database() and c.table_schema = ?
       order by c.table_name, c.ordinal_position`,
      [schema],
    );
    const catalog = String(rows[0]?.db ?? '');
    const tables = new Map<string, WarehouseColumn[]>();
    for (const row of rows) {
      if (row.table_name === null || row.column_name === null) continue;
      let columns = tables.get(row.table_name);
      if (!columns) tables.set(row.table_name, (columns = []));
      columns.push({ name: row.column_name, type: String(row.data_type) });
    }
    const prefix = `${quoteIdentifier(catalog)}.${quoteIdentifier(schema)}`;
    return { schema, table: (name) => `${prefix}.${quoteIdentifier(name)}`, tables };
  }

  async transaction<T>(work: (tx: WarehouseTransaction) => Promise<T>): Promise<T> {
    this.live();
    if (this.readOnly)
      throw new PermanentError('WAREHOUSE.READ_ONLY', 'a read-only warehouse cannot open a write transaction');
    const connection = await this.instance.connect();
    const tx: WarehouseTransaction = {
      execute: async (sql, params) => {
        await connection.run(sql, ...paramsOf(params));
      },
      query: async <R extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams) =>
        rowsOf<R>(await connection.runAndReadAll(sql, ...paramsOf(params))),
      queryNumbers: (sql, params) => numbersOf(connection, sql, params),
      appendNumbers: (target, columns) => appendNumbersTo(connection, target, columns),
      appendColumns: (target, columns) => appendColumnsTo(connection, target, columns),
      withNumberFunction: (fn, use) => withNumberFunctionOn(this.instance, connection, fn, use),
    };
    await connection.run('begin transaction');
    try {
      const result = await work(tx);
      await connection.run('commit');
      return result;
    } catch (error) {
      await connection.run('rollback').catch(() => undefined);
      throw error;
    } finally {
      connection.closeSync();
    }
  }

  /** Close the connection (a session's warehouse leaves that to its session). */
  async close(): Promise<void> {
    await this.queue;
    if (this.ownsConnection) this.connection.closeSync();
  }
}

/** Open the DuckDB warehouse. */
export function openDuckDbWarehouse(options: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
  return DuckDbWarehouse.open(options);
}
