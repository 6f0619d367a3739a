/**
 * Read access to the gold tables: which tables exist (a fresh warehouse has none), their
 * qualified names, queries whose failures become stable errors, and answers cached per warehouse
 * version. Every query is a read session of its own: while a writer holds the warehouse, a query
 * waits at most `readWaitMs` (or `staleAfterMs` for an answer that has an older one to fall back
 * on, see {@link withFallback}) and then answers `DASHBOARD.WAREHOUSE_UNAVAILABLE`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type QueryParams as WarehouseParams,
  type WarehouseAccess,
  type WarehouseColumns,
  type WarehouseRow,
  type WarehouseSchema,
  errorCode,
} from '@mlops/kernel';
import type { AnswerCache } from './cache.js';
import { DashboardError, DashboardErrors } from './errors.js';

/** The gold tables the dashboard reads (dataform/README.md). */
export const GOLD_TABLES = [
  'fct_sales',
  'dim_customer',
  'fct_sessions',
  'fct_click_features',
  'dim_startup',
  'fact_predictions_churn',
  'fact_predictions_churn_champion',
  'fct_customer_features',
  'bi_customer_sales_daily',
  'bi_customer_category_sales_daily',
  'bi_product_sales_daily',
] as const;
/** One gold table. */
export type GoldTable = (typeof GOLD_TABLES)[number];

/** The gold layer as the dashboard reads it. */
export interface GoldReader {
  /** The version of the data (changes after every write to the warehouse; `missing` before the first). */
  version(): Promise<string>;
  /** Whether a gold table exists. */
  has(table: GoldTable): Promise<boolean>;
  /** The quoted, catalog- and schema-qualified name of a gold table (call after `has`). */
  table(table: GoldTable): string;
  /** Run a query; a failure becomes `DASHBOARD.QUERY_FAILED` (or `WAREHOUSE_UNAVAILABLE`). */
  query<T extends WarehouseRow>(what: string, sql: string, params?: WarehouseParams): Promise<T[]>;
  /** A query's result by column (for results too large to hold as one object per row). */
  queryColumns(what: string, sql: string, params?: WarehouseParams): Promise<WarehouseColumns>;
  /** An answer computed once per warehouse version (kept in the answer cache, least recently used out first). */
  cached<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * A structure derived from the gold tables (a cube, an index), computed once per warehouse
   * version and held until the version changes: never evicted by the answer cache, so a burst of
   * distinct answers cannot force a rebuild.
   */
  derived<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * Answers for several keys, each computed once per warehouse version; the keys nobody has
   * asked for yet are computed together by one call of `computeMissing`.
   */
  cachedEach<T>(
    keys: readonly string[],
    computeMissing: (missing: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>>;
}

// Set while an answer is computed that has an older answer to fall back on.
const fallback = new AsyncLocalStorage<true>();

/**
 * Compute an answer that has an older one to fall back on: its queries wait only `staleAfterMs`
 * for a writer to let go of the warehouse, since the caller can answer meanwhile.
 */
export function withFallback<T>(compute: () => Promise<T>): Promise<T> {
  return fallback.run(true, compute);
}

/** Options of {@link createGoldReader}. */
export interface GoldReaderOptions {
  warehouse: WarehouseAccess;
  cache: AnswerCache;
  /** DuckDB schema (BigQuery dataset) of the gold tables (default `warehouse`). */
  schema?: string;
  /** Longest wait of a query while a writer holds the warehouse (default 5 s). */
  readWaitMs?: number;
  /** The same for an answer with an older one to fall back on (default 250 ms). */
  staleAfterMs?: number;
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
  const access = options.warehouse;
  // Read once per turn of the event loop: an answer asks for it several times (its cache key, each
  // derived structure), and every read is a query of the lock file; the next turn reads it again.
  let memo: string | undefined;
  const version = async (): Promise<string> => {
    if (memo === undefined) {
      memo = await access.version();
      setImmediate(() => {
        memo = undefined;
      });
    }
    return memo;
  };
  const session = (what: string) => ({
    purpose: `dashboard: ${what}`,
    waitMs: fallback.getStore() ? (options.staleAfterMs ?? 250) : (options.readWaitMs ?? 5_000),
  });

  const failure = (what: string, error: unknown): DashboardError => {
    if (error instanceof DashboardError) return error;
    const code = errorCode(error);
    if (code === 'WAREHOUSE.MISSING') return DashboardErrors.warehouseMissing(error);
    if (code === 'WAREHOUSE.BUSY' || code === 'WAREHOUSE.OPEN_ELSEWHERE')
      return DashboardErrors.warehouseUnavailable(error);
    return DashboardErrors.queryFailed(what, error);
  };
  const query = async <T extends WarehouseRow>(what: string, sql: string, params?: WarehouseParams): Promise<T[]> => {
    try {
      return await access.read((warehouse) => warehouse.query<T>(sql, params), session(what));
    } catch (error) {
      throw failure(what, error);
    }
  };
  const queryColumns = async (what: string, sql: string, params?: WarehouseParams): Promise<WarehouseColumns> => {
    try {
      return await access.read((warehouse) => warehouse.queryColumns(sql, params), session(what));
    } catch (error) {
      throw failure(what, error);
    }
  };

  // Derived structures of the current version only: a new version drops them all.
  let derivedVersion: string | undefined;
  let derivedEntries = new Map<string, Promise<unknown>>();
  const derived = async <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    const current = await version();
    if (current !== derivedVersion) {
      derivedVersion = current;
      derivedEntries = new Map();
    }
    const entries = derivedEntries;
    const held = entries.get(key);
    if (held) return held as Promise<T>;
    const pending = compute();
    entries.set(key, pending);
    // A failure is not kept: the next asker tries again.
    pending.catch(() => {
      if (entries.get(key) === pending) entries.delete(key);
    });
    return pending;
  };

  const cached = async <T>(key: string, compute: () => Promise<T>): Promise<T> =>
    options.cache.remember(`gold:${key}`, await version(), compute);

  const cachedEach = async <T>(
    keys: readonly string[],
    computeMissing: (missing: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>> => {
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

  // Which gold tables exist and how this engine names them (DuckDB qualifies with its catalog,
  // BigQuery with its project), once per warehouse version. Held with the derived structures, not
  // in the answer cache: a burst of distinct answers would evict it, and reading it again opens
  // the warehouse file (and closes it a second later, a pause of the event loop) mid-traffic.
  let names: WarehouseSchema | undefined;
  const tables = () =>
    derived('catalog', async () => {
      try {
        const described = await access.read((warehouse) => warehouse.describeSchema(schema), session('catalog'));
        names = described;
        return new Set(described.tables.keys());
      } catch (error) {
        const failed = failure('catalog', error);
        if (isWarehouseMissing(failed)) return new Set<string>();
        throw failed;
      }
    });

  return {
    version,
    has: async (table) => (await tables()).has(table),
    table: (table) => (names ? names.table(table) : `${quote(schema)}.${quote(table)}`),
    query,
    queryColumns,
    cached,
    derived,
    cachedEach,
  };
}
