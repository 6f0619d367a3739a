/**
 * A read-only warehouse opened on first use. A fresh platform has no warehouse file until the
 * first transform, and DuckDB cannot open a missing file read-only; this wrapper answers
 * `DASHBOARD.WAREHOUSE_MISSING` until the file exists (the views then show empty results) and
 * tries again after a failure.
 *
 * When the dashboard runs as a process of its own, it must not hold the DuckDB file: DuckDB lets
 * one process write or several read, never both, so a reader that never lets go would keep the
 * transformer out for good. With `idleReleaseMs` the connection is closed (and the file released)
 * once no query has run for that long, the same lease discipline the transformer follows; while
 * the transformer holds the file, opening is retried for `openWaitMs` before answering 503.
 */
import { existsSync } from 'node:fs';
import type {
  QueryParams,
  Warehouse,
  WarehouseColumns,
  WarehouseNumbers,
  WarehouseRow,
  WarehouseTransaction,
} from '@mlops/shared';
import { errorMessage, PermanentError } from '@mlops/shared';
import { DashboardErrors } from './errors.js';

/** Options of {@link createLazyWarehouse}. */
export interface LazyWarehouseOptions {
  /** The warehouse file (`:memory:` is always there). */
  path: string;
  /** Open it read-only (`() => platform.warehouse({ readOnly: true })`). */
  open: () => Promise<Warehouse>;
  /** Close the connection after this long without queries (default: keep it open). */
  idleReleaseMs?: number;
  /** Called after an idle close, to let go of the file (e.g. `releaseDuckDbFile(path)`). */
  release?: () => void;
  /** How long to keep trying while another process holds the file (default 0: fail at once). */
  openWaitMs?: number;
}

const LOCKED = /could not set lock|conflicting lock|database is locked/i;

/** A read-only warehouse that opens itself when first queried. */
export function createLazyWarehouse(options: LazyWarehouseOptions): Warehouse {
  let opened: Promise<Warehouse> | undefined;
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const refuse = () => new PermanentError('WAREHOUSE.READ_ONLY', 'the dashboard reads the warehouse; it never writes');

  const openOnce = async (): Promise<Warehouse> => {
    const deadline = Date.now() + (options.openWaitMs ?? 0);
    for (;;) {
      try {
        const warehouse = await options.open();
        if (!warehouse.readOnly) {
          await warehouse.close();
          throw refuse();
        }
        return warehouse;
      } catch (error) {
        if (!LOCKED.test(errorMessage(error)) || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  const get = async (): Promise<Warehouse> => {
    if (!opened) {
      if (options.path !== ':memory:' && !existsSync(options.path))
        throw DashboardErrors.warehouseMissing(options.path);
      const attempt = openOnce();
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

  const closeOpened = async () => {
    const current = opened;
    opened = undefined;
    const warehouse = current ? await current.catch(() => undefined) : undefined;
    if (warehouse) {
      await warehouse.close();
      return true;
    }
    return false;
  };

  const scheduleRelease = () => {
    if (options.idleReleaseMs === undefined) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (active > 0) return;
      void closeOpened().then((closed) => {
        if (closed && active === 0 && !opened) options.release?.();
      });
    }, options.idleReleaseMs);
    idleTimer.unref();
  };

  const use = async <T>(work: (warehouse: Warehouse) => Promise<T>): Promise<T> => {
    active += 1;
    clearTimeout(idleTimer);
    try {
      return await work(await get());
    } finally {
      active -= 1;
      if (active === 0) scheduleRelease();
    }
  };

  return {
    readOnly: true,
    query<T extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams): Promise<T[]> {
      return use((warehouse) => warehouse.query<T>(sql, params));
    },
    queryColumns(sql: string, params?: QueryParams): Promise<WarehouseColumns> {
      return use((warehouse) => warehouse.queryColumns(sql, params));
    },
    queryNumbers(sql: string, params?: QueryParams): Promise<WarehouseNumbers> {
      return use((warehouse) => warehouse.queryNumbers(sql, params));
    },
    async execute(): Promise<void> {
      throw refuse();
    },
    async appendNumbers(): Promise<void> {
      throw refuse();
    },
    async transaction<T>(_work: (tx: WarehouseTransaction) => Promise<T>): Promise<T> {
      throw refuse();
    },
    async close(): Promise<void> {
      clearTimeout(idleTimer);
      if ((await closeOpened()) && options.idleReleaseMs !== undefined) options.release?.();
    },
  };
}
