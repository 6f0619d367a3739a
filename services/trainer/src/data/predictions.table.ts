/**
 * `warehouse.fact_predictions_churn`: one row per customer, snapshot and model version, so a new
 * champion adds its scores beside the earlier ones instead of overwriting them. Written here by
 * batch prediction (the Dataform project declares the table and its champion-of-the-time view).
 *
 * One version's scores of some snapshots are read, scored and written in one transaction:
 *
 * 1. the active customers' features come back as Float64 columns (`queryNumbers`) with each row's
 *    `rowid`, in the table's own order (no sort);
 * 2. the model scores the columns;
 * 3. the scores go into a temporary table in bulk (`appendNumbers`: a native copy per 2,048 rows),
 *    keyed by `rowid`;
 * 4. the version's old rows of those snapshots are deleted, and one `insert ... select` joins the
 *    scores back to their customer and snapshot and writes every column (bands, version, times)
 *    in DuckDB, so no customer id or date ever passes through JavaScript.
 *
 * A row's `predicted_at` is the earliest time any event wrote it, so delivering events again, or
 * in another order, leaves the same rows.
 */
import type { Warehouse, WarehouseTransaction } from '@mlops/shared';
import type { ColumnScorer } from '../scoring/compiled-forest.js';
import { dateLiteral, epochDay } from './dates.js';
import type { WarehouseTables } from './warehouse-tables.js';

/** The predictions table (declared by the Dataform project; created here when absent). */
export const PREDICTIONS_TABLE = 'fact_predictions_churn';

/** Columns beyond the first version of the table, added to an older table when missing. */
const ADDED_COLUMNS = [
  ['is_backfilled', 'boolean'],
  ['model_data_to', 'date'],
] as const;

/** Create the table when absent, and add the columns an older table lacks. */
export async function ensurePredictionsTable(warehouse: Warehouse, tables: WarehouseTables): Promise<void> {
  const table = tables.table(PREDICTIONS_TABLE);
  const existing = await tables.columns(PREDICTIONS_TABLE);
  if (existing.length === 0) {
    await warehouse.execute(
      `create table if not exists ${table} (customer_id varchar, snapshot_date date, churn_probability double, risk_band varchar, model_version varchar, predicted_at timestamptz, is_backfilled boolean, model_data_to date)`,
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
  /** Written on new rows; a row written earlier keeps its earlier time. */
  predictedAt: string;
  thresholds: { medium: number; high: number };
}

/** Bulk read, write and scoring times of one call (ms), for the log. */
export interface ScoreTimings {
  readMs: number;
  scoreMs: number;
  writeMs: number;
}

function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const SCORES = 'churn_scores__';

/** Score one version's snapshots and replace its rows of them, inside the caller's transaction. */
export async function scoreAndReplace(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  request: ScoreRequest,
): Promise<{ snapshots: SnapshotScores[]; rows: number; timings: ScoreTimings }> {
  const { scorer, thresholds } = request;
  const features = tables.table(request.featureTable);
  const predictions = tables.table(PREDICTIONS_TABLE);
  const dates = request.dates.map(dateLiteral).join(', ');
  const population = `snapshot_date in (${dates}) and ${quoted(request.recencyColumn)} <= ${Math.floor(request.horizonDays)}`;
  let started = performance.now();
  const read = await tx.queryNumbers(
    `select cast(rowid as double) as row__, cast(date_diff('day', date '1970-01-01', snapshot_date) as double) as day__${scorer.features.map((name) => `, cast(${quoted(name)} as double) as ${quoted(name)}`).join('')}
     from ${features} where ${population}`,
  );
  const readMs = performance.now() - started;
  started = performance.now();
  const n = read.rowCount;
  const probabilities = scorer.score(read.columns.slice(2), n);
  const byDay = new Map<number, SnapshotScores>(
    request.dates.map((date) => [
      epochDay(date),
      { snapshotDate: date, rows: 0, riskBands: { low: 0, medium: 0, high: 0 } },
    ]),
  );
  const day = read.columns[1]!;
  for (let r = 0; r < n; r++) {
    const entry = byDay.get(day[r]!)!;
    const p = probabilities[r]!;
    entry.rows += 1;
    entry.riskBands[p >= thresholds.high ? 'high' : p >= thresholds.medium ? 'medium' : 'low'] += 1;
  }
  const scoreMs = performance.now() - started;

  started = performance.now();
  const earlier = await tx.query<{ d: string; t: string }>(
    `select cast(snapshot_date as varchar) as d, strftime(min(predicted_at) at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') as t
     from ${predictions} where model_version = ? and snapshot_date in (${dates}) group by 1`,
    [request.modelVersion],
  );
  const firstWritten = new Map(earlier.map((row) => [row.d, row.t]));
  const writtenAt = request.dates.map((date) => {
    const before = firstWritten.get(date);
    const at =
      before !== undefined && Date.parse(before) < Date.parse(request.predictedAt) ? before : request.predictedAt;
    return `(${dateLiteral(date)}, cast('${new Date(at).toISOString()}' as timestamptz))`;
  });
  await tx.execute(`create temp table if not exists ${SCORES} (row__ double, p double)`);
  await tx.execute(`delete from temp.main.${SCORES}`);
  await tx.appendNumbers({ table: SCORES, schema: 'main', catalog: 'temp' }, [read.columns[0]!, probabilities]);
  await tx.execute(`delete from ${predictions} where model_version = ? and snapshot_date in (${dates})`, [
    request.modelVersion,
  ]);
  await tx.execute(
    `insert into ${predictions} (customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at, is_backfilled, model_data_to)
     with written(snapshot_date, predicted_at) as (values ${writtenAt.join(', ')})
     select f.customer_id, f.snapshot_date, s.p,
            case when s.p >= cast(${thresholds.high} as double) then 'high' when s.p >= cast(${thresholds.medium} as double) then 'medium' else 'low' end,
            ?, written.predicted_at, f.snapshot_date < ${dateLiteral(request.modelDataTo)}, ${dateLiteral(request.modelDataTo)}
     from ${features} as f
     inner join temp.main.${SCORES} as s on f.rowid = cast(s.row__ as bigint)
     inner join written on written.snapshot_date = f.snapshot_date`,
    [request.modelVersion],
  );
  await tx.execute(`drop table temp.main.${SCORES}`);
  const writeMs = performance.now() - started;
  return { snapshots: [...byDay.values()], rows: n, timings: { readMs, scoreMs, writeMs } };
}
