/**
 * A read-only warehouse opened on first use. A fresh platform has no warehouse file until the
 * first transform, and DuckDB cannot open a missing file read-only; this wrapper answers
 * `DASHBOARD.WAREHOUSE_MISSING` until the file exists (the views then show empty results) and
 * retries opening after a failure (another process may hold the file for writing).
 */
import { existsSync } from 'node:fs';
import type { QueryParams, Warehouse, WarehouseRow, WarehouseTransaction } from '@mlops/shared';
import { PermanentError } from '@mlops/shared';
import { DashboardErrors } from './errors.js';

/** Options of {@link createLazyWarehouse}. */
export interface LazyWarehouseOptions {
  /** The warehouse file (`:memory:` is always there). */
  path: string;
  /** Open it read-only (`() => platform.warehouse({ readOnly: true })`). */
  open: () => Promise<Warehouse>;
}

/** A read-only warehouse that opens itself when first queried. */
export function createLazyWarehouse(options: LazyWarehouseOptions): Warehouse {
  let opened: Promise<Warehouse> | undefined;
  const refuse = () => new PermanentError('WAREHOUSE.READ_ONLY', 'the dashboard reads the warehouse; it never writes');
  const get = async (): Promise<Warehouse> => {
    if (!opened) {
      if (options.path !== ':memory:' && !existsSync(options.path)) throw DashboardErrors.warehouseMissing(options.path);
      const attempt = options.open().then((warehouse) => {
        if (!warehouse.readOnly) {
          void warehouse.close();
          throw refuse();
        }
        return warehouse;
      });
      opened = attempt;
      attempt.catch(() => {
        if (opened === attempt) opened = undefined;
      });
    }
    try {
      return await opened;
    } catch (error) {
      throw DashboardErrors.warehouseUnavailable(error);
    }
  };
  return {
    readOnly: true,
    async query<T extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams): Promise<T[]> {
      return (await get()).query<T>(sql, params);
    },
    async execute(): Promise<void> {
      throw refuse();
    },
    async transaction<T>(_work: (tx: WarehouseTransaction) => Promise<T>): Promise<T> {
      throw refuse();
    },
    async close(): Promise<void> {
      const current = opened;
      opened = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}
