/**
 * `warehouse.fact_predictions_churn`: one row per customer, snapshot and model version, so a new
 * champion adds its scores beside the earlier ones instead of overwriting them. Written here by
 * batch prediction (the Dataform project declares the table and its champion-of-the-time view).
 *
 * The SQL is the subset DuckDB and BigQuery both accept, with the engine's dialect (the warehouse
 * port) for types and row ids. One version's scores of some snapshots are made in two steps:
 *
 * 1. `scoreVersion`, in the write session before the transaction (BigQuery sends a transaction as
 *    one script, so nothing is read inside it): the active customers' features come back as
 *    Float64 columns and the model scores them. Where the engine names rows (DuckDB `rowid`), each
 *    row comes with its row id only, so no customer id or date passes through JavaScript; where it
 *    does not (BigQuery), with its customer id and snapshot date.
 * 2. `replaceScores`, inside the transaction: the scores go into a temporary table in bulk, the
 *    version's old rows of those snapshots are deleted, and one `insert ... select` writes every
 *    column (bands, version, times) in the engine: on BigQuery one script, delete and insert
 *    together or neither.
 *
 * A row's `predicted_at` is the earliest time any event wrote the version's rows of its snapshot,
 * so delivering events again, or in another order, leaves the same rows.
 */
import type { Warehouse, WarehouseTransaction, WarehouseValue } from '@mlops/kernel';
import { TrainerErrors } from '../errors.js';
import type { ColumnScorer } from '../scoring/compiled-forest.js';
import { float64Of, parameterList, type WarehouseTables } from './warehouse-tables.js';

/** The predictions table (declared by the Dataform project; created here when absent). */
export const PREDICTIONS_TABLE = 'fact_predictions_churn';

/** Columns beyond the first version of the table, added to an older table when missing. */
const ADDED_COLUMNS = [
  ['is_backfilled', 'bool'],
  ['model_data_to', 'date'],
] as const;

/** Create the table when absent, and add the columns an older table lacks. */
export async function ensurePredictionsTable(warehouse: Warehouse, tables: WarehouseTables): Promise<void> {
  const table = tables.table(PREDICTIONS_TABLE);
  const existing = tables.columns(PREDICTIONS_TABLE);
  const { float64, timestamp } = tables.dialect;
  if (existing.length === 0) {
    await warehouse.execute(
      `create table if not exists ${table} (customer_id string, snapshot_date date, churn_probability ${float64}, risk_band string, model_version string, predicted_at ${timestamp}, is_backfilled bool, model_data_to date)`,
    );
    return;
  }
  for (const [name, type] of ADDED_COLUMNS)
    if (!existing.some((column) => column.name === name))
      await warehouse.execute(`alter table ${table} add column if not exists ${name} ${type}`);
}

/** What one snapshot's prediction wrote. */
export interface SnapshotScores {
  snapshotDate: string;
  rows: number;
  riskBands: { low: number; medium: number; high: number };
}

/** One version's scoring of some snapshots. */
export interface ScoreRequest {
  scorer: ColumnScorer;
  modelVersion: string;
  /** The version's training cut-off: snapshots before it are marked backfilled. */
  modelDataTo: string;
  featureTable: string;
  /** The feature that defines the scored population, and its bound (the horizon). */
  recencyColumn: string;
  horizonDays: number;
  dates: readonly string[];
  thresholds: { medium: number; high: number };
}

/** Bulk read and scoring times of one version (ms), for the log. */
export interface ScoreTimings {
  readMs: number;
  scoreMs: number;
}

/** How scored rows find their customer and snapshot again: by row id, or by carrying them. */
type RowKeys = { rowIds: Float64Array } | { customers: string[]; snapshots: string[] };

/** One version's scores, waiting for the transaction that writes them. */
export interface VersionScores {
  request: ScoreRequest;
  keys: RowKeys;
  probabilities: Float64Array;
  snapshots: SnapshotScores[];
  rows: number;
  timings: ScoreTimings;
}

/** `YYYYMMDD` of a date column, as a number on either engine. */
export function dayNumber(column: string): string {
  return `extract(year from ${column}) * 10000 + extract(month from ${column}) * 100 + extract(day from ${column})`;
}

function dateOfDayNumber(day: number): string {
  const text = String(day);
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

/** `array` copied into a new array of `capacity` values (its first `used` count). */
function grown(array: Float64Array, capacity: number, used: number): Float64Array {
  const out = new Float64Array(capacity);
  out.set(array.subarray(0, used));
  return out;
}

/** A queried column of numbers (NULL as NaN) as a Float64Array. */
function float64s(values: readonly WarehouseValue[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length; r++) {
    const value = values[r];
    out[r] = typeof value === 'number' ? value : Number.NaN;
  }
  return out;
}

/**
 * Read the active customers of the request's snapshots and score them (step 1 of the module
 * comment). Runs in a write session, so the rows it names stay as they are until the transaction.
 */
export async function scoreVersion(
  warehouse: Warehouse,
  tables: WarehouseTables,
  request: ScoreRequest,
): Promise<VersionScores> {
  const { scorer, thresholds } = request;
  const { dialect } = tables;
  const types = new Map(tables.columns(request.featureTable).map((column) => [column.name, column.type]));
  const features = scorer.features
    .map((name) => `, ${float64Of(dialect, `f.${name}`, types.get(name) ?? '')} as ${name}`)
    .join('');
  const population = `from ${tables.table(request.featureTable)} as f
     where f.snapshot_date in ${parameterList(request.dates)} and f.${request.recencyColumn} <= ?`;
  const params = [...request.dates, Math.floor(request.horizonDays)];
  const started = performance.now();
  let scoreMs = 0;
  let keys: RowKeys;
  let day: Float64Array;
  let probabilities: Float64Array;
  let n = 0;
  if (dialect.rowId !== undefined) {
    // Scored batch by batch as the engine streams them: no feature matrix is ever held whole.
    let capacity = 1 << 16;
    let rowIds: Float64Array = new Float64Array(capacity);
    day = new Float64Array(capacity);
    probabilities = new Float64Array(capacity);
    await warehouse.scanNumbers(
      `select cast(f.${dialect.rowId} as ${dialect.float64}) as row__, cast(${dayNumber('f.snapshot_date')} as ${dialect.float64}) as day__${features}
     ${population}`,
      params,
      ({ names, rows, values }) => {
        if (n + rows > capacity) {
          capacity = Math.max(2 * capacity, n + rows);
          rowIds = grown(rowIds, capacity, n);
          day = grown(day, capacity, n);
          probabilities = grown(probabilities, capacity, n);
        }
        const width = names.length;
        for (let r = 0, k = 0; r < rows; r++, k += width) {
          rowIds[n + r] = values[k]!;
          day[n + r] = values[k + 1]!;
        }
        const scoring = performance.now();
        scorer.scoreRows(values, rows, width, 2, probabilities, n);
        scoreMs += performance.now() - scoring;
        n += rows;
      },
    );
    keys = { rowIds: rowIds.subarray(0, n) };
    day = day.subarray(0, n);
    probabilities = probabilities.subarray(0, n);
  } else {
    const read = await warehouse.queryColumns(
      `select f.customer_id, cast(f.snapshot_date as string) as snapshot_date${features}
     ${population}`,
      params,
    );
    const snapshots = read.columns[1]!.map(String);
    keys = { customers: read.columns[0]!.map(String), snapshots };
    day = Float64Array.from(snapshots, (date) => Number(date.replaceAll('-', '')));
    n = read.rowCount;
    const scoring = performance.now();
    probabilities = scorer.score(read.columns.slice(2).map(float64s), n);
    scoreMs += performance.now() - scoring;
  }
  const tallying = performance.now();
  const byDay = new Map<number, SnapshotScores>(
    request.dates.map((date) => [
      Number(date.replaceAll('-', '')),
      { snapshotDate: date, rows: 0, riskBands: { low: 0, medium: 0, high: 0 } },
    ]),
  );
  let entry: SnapshotScores | undefined;
  let entryDay = Number.NaN;
  const { high, medium } = thresholds;
  for (let r = 0; r < n; r++) {
    // Rows come grouped by snapshot, so the lookup is mostly skipped.
    if (day[r] !== entryDay) {
      entryDay = day[r]!;
      entry = byDay.get(entryDay);
      if (!entry)
        throw TrainerErrors.invalidComponentIo(
          'batch_predict',
          `the warehouse gave a row of snapshot ${dateOfDayNumber(entryDay)}, which was not asked for`,
        );
    }
    const p = probabilities[r]!;
    entry!.rows += 1;
    entry!.riskBands[p >= high ? 'high' : p >= medium ? 'medium' : 'low'] += 1;
  }
  scoreMs += performance.now() - tallying;
  const readMs = performance.now() - started - scoreMs;
  return {
    request,
    keys,
    probabilities,
    snapshots: [...byDay.values()],
    rows: n,
    timings: { readMs, scoreMs },
  };
}

/**
 * Scored rows that carry their keys travel as parameters of the transaction's script, and BigQuery
 * takes at most 10 MB a request (about 75 bytes a row here): a transaction carries at most this
 * many of them. Rows named by row id carry nothing, so they all go in one transaction.
 */
export const MAX_CARRIED_ROWS_PER_TRANSACTION = 50_000;

/** One version's scores of some snapshots, cut to the snapshots of `dates`. */
function ofSnapshots(scored: VersionScores, dates: ReadonlySet<string>): VersionScores {
  const keys = scored.keys;
  if ('rowIds' in keys) throw new Error('rows named by row id are not cut');
  const rows: number[] = [];
  keys.snapshots.forEach((date, row) => {
    if (dates.has(date)) rows.push(row);
  });
  return {
    ...scored,
    request: { ...scored.request, dates: scored.request.dates.filter((date) => dates.has(date)) },
    keys: { customers: rows.map((row) => keys.customers[row]!), snapshots: rows.map((row) => keys.snapshots[row]!) },
    probabilities: Float64Array.from(rows, (row) => scored.probabilities[row]!),
    snapshots: scored.snapshots.filter((snapshot) => dates.has(snapshot.snapshotDate)),
    rows: rows.length,
  };
}

/**
 * The transactions that write `scored`: whole snapshots of a version stay together (each is
 * replaced all or nothing), and a transaction carries at most `maxCarried` rows that travel with
 * their keys (a single larger snapshot goes alone). Rows named by row id all go in the first.
 */
export function transactionsOf(
  scored: readonly VersionScores[],
  maxCarried = MAX_CARRIED_ROWS_PER_TRANSACTION,
): VersionScores[][] {
  const transactions: VersionScores[][] = [[]];
  let carried = 0;
  for (const scores of scored) {
    if ('rowIds' in scores.keys) {
      transactions[0]!.push(scores);
      continue;
    }
    let dates = new Set<string>();
    let rows = 0;
    const flush = () => {
      if (dates.size === 0) return;
      if (carried > 0 && carried + rows > maxCarried) {
        transactions.push([]);
        carried = 0;
      }
      transactions.at(-1)!.push(ofSnapshots(scores, dates));
      carried += rows;
      dates = new Set();
      rows = 0;
    };
    for (const snapshot of scores.snapshots) {
      if (rows > 0 && rows + snapshot.rows > maxCarried) flush();
      dates.add(snapshot.snapshotDate);
      rows += snapshot.rows;
    }
    flush();
  }
  return transactions.filter((transaction) => transaction.length > 0);
}

/**
 * Replace the version's rows of its snapshots with `scored`, inside the caller's transaction
 * (step 2 of the module comment). `index` names this call's temporary tables apart from the
 * transaction's other calls.
 */
export async function replaceScores(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  scored: VersionScores,
  index: number,
  predictedAt: string,
): Promise<void> {
  const { request, keys, probabilities } = scored;
  const { float64, rowId } = tables.dialect;
  const features = tables.table(request.featureTable);
  const scores = `scores_${index}__`;
  let rows: string;
  if ('rowIds' in keys) {
    await tx.execute(`create temp table ${scores} (row__ ${float64}, p ${float64})`);
    await tx.appendNumbers({ table: scores, temporary: true }, [keys.rowIds, probabilities]);
    rows = `select f.customer_id, f.snapshot_date, s.p from ${features} as f
       inner join ${scores} as s on f.${rowId} = cast(s.row__ as int64)`;
  } else {
    await tx.execute(`create temp table ${scores} (customer_id string, snapshot_date string, p ${float64})`);
    await tx.appendColumns({ table: scores, temporary: true }, [keys.customers, keys.snapshots, probabilities]);
    rows = `select s.customer_id, cast(s.snapshot_date as date) as snapshot_date, s.p from ${scores} as s`;
  }
  await rewriteVersionRows(tx, tables, request, index, predictedAt, rows, []);
}

/**
 * Replace a version's rows of its snapshots by `rows` (customer_id, snapshot_date, p; `rowParams`
 * are its parameters), in the caller's transaction: the bands from the thresholds, and each
 * snapshot keeps the time the version first wrote it, so a re-run leaves the same table.
 */
export async function rewriteVersionRows(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  request: Pick<ScoreRequest, 'modelVersion' | 'dates' | 'thresholds' | 'modelDataTo'>,
  index: number,
  predictedAt: string,
  rows: string,
  rowParams: readonly WarehouseValue[],
): Promise<void> {
  const { timestamp } = tables.dialect;
  const predictions = tables.table(PREDICTIONS_TABLE);
  const written = `written_${index}__`;
  const version = [request.modelVersion, ...request.dates];
  const dates = parameterList(request.dates);
  // The version's first write time of each snapshot, before its rows are deleted.
  await tx.execute(
    `create temp table ${written} as
     select snapshot_date, min(predicted_at) as predicted_at from ${predictions}
     where model_version = ? and snapshot_date in ${dates} group by snapshot_date`,
    version,
  );
  await tx.execute(`delete from ${predictions} where model_version = ? and snapshot_date in ${dates}`, version);
  const { high, medium } = request.thresholds;
  await tx.execute(
    `insert into ${predictions} (customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at, is_backfilled, model_data_to)
     select r.customer_id, r.snapshot_date, r.p,
            case when r.p >= ? then 'high' when r.p >= ? then 'medium' else 'low' end,
            ?, coalesce(least(w.predicted_at, cast(? as ${timestamp})), cast(? as ${timestamp})),
            r.snapshot_date < cast(? as date), cast(? as date)
     from (${rows}) as r
     left join ${written} as w on w.snapshot_date = r.snapshot_date`,
    [
      high,
      medium,
      request.modelVersion,
      predictedAt,
      predictedAt,
      request.modelDataTo,
      request.modelDataTo,
      ...rowParams,
    ],
  );
}
