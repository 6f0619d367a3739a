/**
 * Read access to the gold tables: which tables exist (a fresh warehouse has none), their
 * qualified names, queries whose failures become stable errors, and answers cached per warehouse
 * version.
 */
import type { QueryParams as WarehouseParams, Warehouse, WarehouseRow } from '@mlops/shared';
import { errorMessage } from '@mlops/shared';
import type { AnswerCache } from './cache.js';
import { DashboardError, DashboardErrors } from './errors.js';

/** The gold tables the dashboard reads (dataform/README.md). */
export const GOLD_TABLES = ['fct_sales', 'dim_customer', 'fct_sessions', 'fct_click_features', 'dim_startup', 'fact_predictions_churn'] as const;
/** One gold table. */
export type GoldTable = (typeof GOLD_TABLES)[number];

/** The gold layer as the dashboard reads it. */
export interface GoldReader {
  /** The version of the data (changes whenever the warehouse changes), or undefined when unknown. */
  version(): Promise<string | undefined>;
  /** Whether a gold table exists. */
  has(table: GoldTable): Promise<boolean>;
  /** The quoted, catalog- and schema-qualified name of a gold table (call after `has`). */
  table(table: GoldTable): string;
  /** Run a query; a failure becomes `DASHBOARD.QUERY_FAILED` (or `WAREHOUSE_UNAVAILABLE`). */
  query<T extends WarehouseRow>(what: string, sql: string, params?: WarehouseParams): Promise<T[]>;
  /** An answer computed once per warehouse version. */
  cached<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * Answers for several keys, each computed once per warehouse version; the keys nobody has
   * asked for yet are computed together by one call of `computeMissing`.
   */
  cachedEach<T>(keys: readonly string[], computeMissing: (missing: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>>;
}

/** Options of {@link createGoldReader}. */
export interface GoldReaderOptions {
  warehouse: Warehouse;
  cache: AnswerCache;
  /** DuckDB schema (BigQuery dataset) of the gold tables (default `warehouse`). */
  schema?: string;
  /** The data's version; without it nothing is cached. */
  version?: () => Promise<string | undefined> | string | undefined;
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** Whether an error means the warehouse has not been built yet. */
export function isWarehouseMissing(error: unknown): boolean {
  return error instanceof DashboardError && error.code === 'DASHBOARD.WAREHOUSE_MISSING';
}

/** Create the gold reader over a (read-only) warehouse. */
export function createGoldReader(options: GoldReaderOptions): GoldReader {
  const schema = options.schema ?? 'warehouse';
  const version = async () => (options.version ? await options.version() : undefined);

  const query = async <T extends WarehouseRow>(what: string, sql: string, params?: WarehouseParams): Promise<T[]> => {
    try {
      return await options.warehouse.query<T>(sql, params);
    } catch (error) {
      if (error instanceof DashboardError) throw error;
      if (/could not set lock|conflicting lock|cannot open database/i.test(errorMessage(error))) throw DashboardErrors.warehouseUnavailable(error);
      throw DashboardErrors.queryFailed(what, error);
    }
  };

  const cached = async <T>(key: string, compute: () => Promise<T>): Promise<T> => options.cache.remember(`gold:${key}`, await version(), compute);

  const cachedEach = async <T>(keys: readonly string[], computeMissing: (missing: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>> => {
    const current = await version();
    const missing: string[] = [];
    let batch: Promise<Map<string, T>> | undefined;
    const runBatch = () => (batch ??= Promise.resolve().then(() => computeMissing(missing)));
    // remember() calls compute synchronously on a miss, so `missing` is complete before the batch starts.
    const pending = keys.map((key) =>
      options.cache.remember(`gold:${key}`, current, () => {
        missing.push(key);
        return runBatch().then((results) => {
          if (!results.has(key)) throw new Error(`no answer computed for ${key}`);
          return results.get(key)!;
        });
      }),
    );
    const values = await Promise.all(pending);
    return new Map(keys.map((key, index) => [key, values[index]!]));
  };

  // The database (catalog) name qualifies every table: a DuckDB file named warehouse.duckdb is a
  // catalog called "warehouse", which would make "warehouse".fct_sales ambiguous.
  let catalog: string | undefined;
  const tables = () =>
    cached('catalog', async () => {
      try {
        const rows = await query<{ table_name: string; table_catalog: string }>(
          'catalog',
          'select table_name, table_catalog from information_schema.tables where table_catalog = current_database() and table_schema = ?',
          [schema],
        );
        catalog ??= String((await query<{ db: string }>('catalog', 'select current_database() as db'))[0]?.db ?? '');
        return new Set(rows.map((row) => row.table_name));
      } catch (error) {
        if (isWarehouseMissing(error)) return new Set<string>();
        throw error;
      }
    });

  return {
    version,
    has: async (table) => (await tables()).has(table),
    table: (table) => `${catalog ? `${quote(catalog)}.` : ''}${quote(schema)}.${quote(table)}`,
    query,
    cached,
    cachedEach,
  };
}
