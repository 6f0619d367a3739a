/**
 * The transform runner: runs the Dataform project (bronze ▶ silver ▶ gold) for a set of run dates,
 * on DuckDB locally (the project compiled by the real Dataform CLI, translated from BigQuery SQL)
 * or on BigQuery through the Dataform API, and reports the same result either way.
 */
import { PlatformError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** The engine a transform ran on. */
export type TransformEngine = 'duckdb' | 'bigquery';

/** What to run. */
export interface TransformRunRequest {
  /**
   * The run dates (YYYY-MM-DD) whose partitions the run replaces, in any order, duplicates allowed.
   * A value that is not a calendar date is refused ({@link TransformErrors.invalidRunDate}) before
   * anything is compiled or executed.
   */
  readonly runDates: readonly string[];
  /** Extra Dataform vars (`run_dates` is always set from `runDates`). */
  readonly vars?: Readonly<Record<string, string>>;
  /** Correlation id of the pipeline run, for logs and invocation labels. */
  readonly runId?: string;
  /** Where the run logs (e.g. a wait for the warehouse), with the caller's event and run ids. */
  readonly log?: Logger;
  /**
   * Rows the run dates' landed partitions hold, when the caller knows them: a hint an engine may
   * size the run by (DuckDB picks its threads from the rows per date). Never changes the result.
   */
  readonly landedRows?: number;
}

/** Rows of one table after the run. */
export interface TransformTableCount {
  /** `dataset.table` (BigQuery dataset = DuckDB schema). */
  readonly name: string;
  /** Rows in the whole table. */
  readonly rows: number;
}

/** Rows a quarantine table received for the run dates. */
export interface TransformQuarantineCount {
  /** `dataset.table`. */
  readonly table: string;
  /** Rows quarantined for this run's dates. */
  readonly rows: number;
}

/** The outcome of one Dataform assertion. */
export interface TransformAssertionResult {
  /** The assertion's action name, e.g. `warehouse_fct_sales_assertions_uniqueKey_0`. */
  readonly name: string;
  readonly passed: boolean;
  /** Rows the assertion query returned (0 when it passed). */
  readonly failingRows: number;
}

/** Kinds of actions a compiled Dataform graph holds (plus bronze sources, which runners treat apart). */
export type TransformActionType =
  | 'source'
  | 'table'
  | 'view'
  | 'incremental'
  | 'operations'
  | 'assertion'
  | 'declaration';

/** How one action went. */
export interface TransformActionResult {
  /** `dataset.name` of the action's target. */
  readonly name: string;
  readonly type: TransformActionType;
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly durationMs: number;
}

/** What a run did. */
export interface TransformRunResult {
  readonly engine: TransformEngine;
  /** The run dates, sorted and unique. */
  readonly runDates: readonly string[];
  /** Row counts of every table the project builds (not views, not assertions). */
  readonly tables: readonly TransformTableCount[];
  /** Rows quarantined for the run dates, per quarantine table (actions tagged `quarantine`). */
  readonly quarantine: readonly TransformQuarantineCount[];
  /** Every assertion of the project; the run itself does not fail when one fails. */
  readonly assertions: readonly TransformAssertionResult[];
  /** Every action, in execution order. */
  readonly actions: readonly TransformActionResult[];
  /** Wall time of the whole run, compilation included. */
  readonly durationMs: number;
  /** Compilation: how long it took and whether a cached graph was reused. */
  readonly compilation: { readonly cached: boolean; readonly durationMs: number };
  /** The Dataform workflow invocation (gcp). */
  readonly invocation?: string;
}

/**
 * Runs the Dataform project. Implementations: the DuckDB runner (local and emulator modes) and the
 * Dataform API runner (gcp). A run that cannot complete throws a {@link TransformError}; a run
 * whose assertions fail resolves normally and reports them, so the caller decides what to publish.
 */
export interface TransformRunner {
  readonly engine: TransformEngine;
  run(request: TransformRunRequest): Promise<TransformRunResult>;
}

/** A run submitted to an engine that finishes it later (the Dataform API). */
export interface TransformSubmission {
  /** The workflow invocation's resource name. */
  readonly invocation: string;
  /** The run dates, sorted and unique. */
  readonly runDates: readonly string[];
}

/** Where a submitted run stands: still running, or ended with its result. */
export type TransformProgress =
  | { readonly state: 'running' }
  | { readonly state: 'done'; readonly result: TransformRunResult };

/**
 * A runner whose runs end after the request that started them (gcp): `submit` starts a run and
 * returns at once; `read` re-reads it when its completion is announced, and throws the
 * {@link TransformError} of a run that failed or was cancelled.
 */
export interface AsyncTransformRunner extends TransformRunner {
  submit(request: TransformRunRequest): Promise<TransformSubmission>;
  read(invocation: string, runDates: readonly string[]): Promise<TransformProgress>;
  /** The invocation's resource name from the id a completion log entry carries. */
  invocationName(id: string): string;
  /** Cancel a run that outlived its deadline (best effort). */
  cancel(invocation: string): Promise<void>;
}

/** Whether a runner finishes its runs asynchronously. */
export function isAsyncTransformRunner(runner: TransformRunner): runner is AsyncTransformRunner {
  return typeof (runner as Partial<AsyncTransformRunner>).submit === 'function';
}

/** Stable codes of {@link TransformError}. */
export type TransformErrorCode =
  | 'DATAFORM.INVALID_RUN_DATE'
  | 'DATAFORM.INVALID_VAR'
  | 'DATAFORM.COMPILATION_FAILED'
  | 'DATAFORM.TRANSLATION_FAILED'
  | 'DATAFORM.ACTION_FAILED'
  | 'DATAFORM.WAREHOUSE_BUSY'
  | 'DATAFORM.OUT_OF_MEMORY'
  | 'DATAFORM.INVOCATION_FAILED'
  | 'DATAFORM.INVOCATION_TIMEOUT'
  | 'DATAFORM.API_UNAVAILABLE';

/**
 * A transform that could not complete. `details` carries the failing action's name, its file and
 * the SQL that ran (translated, on DuckDB) when an action failed.
 */
export class TransformError extends PlatformError {
  declare readonly code: TransformErrorCode;
  /** The failing action (`dataset.name`), when one failed. */
  readonly action?: string;
  /** The action's file in the Dataform project. */
  readonly fileName?: string;
  /** The statement that failed, as executed. */
  readonly sql?: string;

  constructor(
    code: TransformErrorCode,
    message: string,
    options: {
      transient?: boolean;
      cause?: unknown;
      action?: string;
      fileName?: string;
      sql?: string;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(code, message, {
      errorClass: options.transient ? 'transient' : 'permanent',
      cause: options.cause,
      details: {
        ...(options.details ?? {}),
        ...(options.action ? { action: options.action } : {}),
        ...(options.fileName ? { fileName: options.fileName } : {}),
      },
    });
    if (options.action !== undefined) this.action = options.action;
    if (options.fileName !== undefined) this.fileName = options.fileName;
    if (options.sql !== undefined) this.sql = options.sql;
  }
}

/** The catalogue of transform errors. */
export const TransformErrors = {
  invalidRunDate: (value: unknown) =>
    new TransformError(
      'DATAFORM.INVALID_RUN_DATE',
      `run date ${JSON.stringify(value)} is not a calendar date (YYYY-MM-DD); nothing was run`,
      { details: { value: String(value).slice(0, 100) } },
    ),
  noRunDates: () =>
    new TransformError('DATAFORM.INVALID_RUN_DATE', 'a transform needs at least one run date; nothing was run'),
  invalidVar: (name: string, reason: string) =>
    new TransformError('DATAFORM.INVALID_VAR', `Dataform var "${name}" ${reason}; nothing was run`, {
      details: { name },
    }),
  compilationFailed: (reason: string, cause?: unknown) =>
    new TransformError('DATAFORM.COMPILATION_FAILED', `the Dataform project did not compile: ${reason}`, { cause }),
  translationFailed: (action: string, fileName: string, reason: string, sql: string) =>
    new TransformError(
      'DATAFORM.TRANSLATION_FAILED',
      `action ${action} (${fileName}) could not be translated to DuckDB: ${reason}`,
      { action, fileName, sql },
    ),
  actionFailed: (action: string, fileName: string, reason: string, sql: string, cause?: unknown) =>
    new TransformError('DATAFORM.ACTION_FAILED', `action ${action} (${fileName}) failed: ${reason}`, {
      action,
      fileName,
      sql,
      cause,
    }),
  warehouseBusy: (reason: string, cause?: unknown, action?: string) =>
    new TransformError(
      'DATAFORM.WAREHOUSE_BUSY',
      `the warehouse is in use by another writer (${reason}); retry later`,
      { transient: true, cause, ...(action ? { action } : {}) },
    ),
  /** Permanent: the same run under the same limit fails the same way; raise the limit or shorten the runs, then redrive. */
  outOfMemory: (reason: string, cause?: unknown, action?: string) =>
    new TransformError(
      'DATAFORM.OUT_OF_MEMORY',
      `${action ? `action ${action}` : 'the run'} exceeded the warehouse's memory limit (${reason}); raise MLOPS_WAREHOUSE_MEMORY_LIMIT or lower MLOPS_TRANSFORM_MAX_ROWS or MLOPS_TRANSFORM_MAX_DATES, then redrive the dead letter`,
      { cause, ...(action ? { action } : {}) },
    ),
  invocationFailed: (invocation: string, reason: string, action?: string) =>
    new TransformError('DATAFORM.INVOCATION_FAILED', `Dataform workflow invocation ${invocation} failed: ${reason}`, {
      ...(action ? { action } : {}),
      details: { invocation },
    }),
  invocationTimeout: (invocation: string, waitedMs: number) =>
    new TransformError(
      'DATAFORM.INVOCATION_TIMEOUT',
      `Dataform workflow invocation ${invocation} did not finish within ${Math.round(waitedMs / 1000)} s; it was cancelled`,
      {
        transient: true,
        details: { invocation, waitedMs },
      },
    ),
  apiUnavailable: (operation: string, cause: unknown) =>
    new TransformError(
      'DATAFORM.API_UNAVAILABLE',
      `the Dataform API did not answer ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { transient: true, cause },
    ),
} as const;

const ISO_DATE = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

function isCalendarDate(value: string): boolean {
  const time = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(time) && new Date(time).toISOString().slice(0, 10) === value;
}

/**
 * The run dates of a request, checked, unique and sorted. Throws `DATAFORM.INVALID_RUN_DATE` for
 * anything that is not a real calendar date (`2026-02-30` included), before any SQL can run.
 */
export function normaliseRunDates(values: readonly unknown[]): string[] {
  if (!Array.isArray(values) || values.length === 0) throw TransformErrors.noRunDates();
  for (const value of values) {
    if (typeof value !== 'string' || !ISO_DATE.test(value) || !isCalendarDate(value)) {
      throw TransformErrors.invalidRunDate(value);
    }
  }
  return [...new Set(values as string[])].sort();
}
