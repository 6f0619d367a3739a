import type { Logger } from '../log/logger.js';
import type { Warehouse } from './warehouse.port.js';

/** What a session is for: named in the log line of a session that has to wait. */
export interface WarehouseSessionOptions {
  /** Who asks and why, e.g. `trainer: features 2026-10-10`. */
  readonly purpose?: string;
  /** The run the work belongs to: a label of the BigQuery jobs it sends. */
  readonly runId?: string;
  /** Where a wait is logged (the caller's logger, with its event and run ids). */
  readonly log?: Logger;
  /** Longest wait for the session before `WAREHOUSE.BUSY` (default: the access's own bound). */
  readonly waitMs?: number;
}

/**
 * Access to the warehouse shared by every process of the platform (DuckDB locally, BigQuery on
 * Google Cloud). Work runs in sessions:
 *
 * - a read session sees one consistent state of the warehouse for its whole length, and never a
 *   write session's work in progress;
 * - a write session may change anything; write sessions never overlap.
 *
 * A session that cannot start at once waits, bounded, inside `read`/`write` (a busy warehouse is
 * not a failure); past the bound it fails with the transient `WAREHOUSE.BUSY`. The `Warehouse`
 * handed to `work` is valid only until `work` settles. Sessions do not nest.
 */
export interface WarehouseAccess {
  /** Run `work` in a read session; its warehouse refuses every statement that would change data. */
  read<T>(work: (warehouse: Warehouse) => Promise<T>, options?: WarehouseSessionOptions): Promise<T>;
  /** Run `work` in a write session. Statements outside `transaction` commit one by one. */
  write<T>(work: (warehouse: Warehouse) => Promise<T>, options?: WarehouseSessionOptions): Promise<T>;
  /**
   * A cheap token that changes after every write session (`missing` while nothing was ever
   * written): readers keep what they computed until it changes.
   */
  version(): Promise<string>;
  /**
   * Let go now of what this access keeps open while idle (a read-only file that lingers for a burst
   * of reads), so closing it does not fall on later work; the next session opens it again.
   */
  release?(): Promise<void>;
  /** Wait for open sessions, then let go of everything this access holds. */
  close(): Promise<void>;
}
