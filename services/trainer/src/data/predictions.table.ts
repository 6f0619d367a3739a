/**
 * `warehouse.fact_predictions_churn`: one row per customer, snapshot and model version, so a new
 * champion adds its scores beside the earlier ones instead of overwriting them. Written here by
 * batch prediction (the Dataform project declares the table and its champion-of-the-time view).
 *
 * Writing one version's scores of some snapshots replaces exactly those (snapshot, version) rows in
 * one transaction. A row's `predicted_at` is the earliest time any event wrote it, so delivering
 * events again, or in another order, leaves the same rows.
 */
import type { Warehouse, WarehouseTransaction } from '@mlops/shared';
import { dateLiteral } from './dates.js';
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

/** One version's scores of some snapshots, by column. */
export interface ScoredRows {
  modelVersion: string;
  /** The version's training cut-off. */
  modelDataTo: string;
  customerIds: string[];
  snapshotDates: string[];
  probabilities: Float64Array;
  bands: string[];
  /** Per row: scored by a model trained after the snapshot. */
  backfilled: boolean[];
}

// Rows per INSERT statement (bounds the JSON held at once).
const INSERT_BATCH = 50_000;

/** The earliest `predicted_at` already written per snapshot for a version (ISO strings). */
export async function earlierPredictedAt(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  modelVersion: string,
  dates: readonly string[],
): Promise<Map<string, string>> {
  const rows = await tx.query<{ d: string; t: string }>(
    `select cast(snapshot_date as varchar) as d, min(predicted_at) as t from ${tables.table(PREDICTIONS_TABLE)}
     where model_version = ? and snapshot_date in (${dates.map(dateLiteral).join(', ')}) group by 1`,
    [modelVersion],
  );
  return new Map(rows.map((row) => [row.d, new Date(row.t).toISOString()]));
}

/** Replace a version's rows of some snapshots (inside the caller's transaction). */
export async function replaceScores(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  dates: readonly string[],
  scored: ScoredRows,
  predictedAt: ReadonlyMap<string, string>,
): Promise<void> {
  const table = tables.table(PREDICTIONS_TABLE);
  await tx.execute(
    `delete from ${table} where model_version = ? and snapshot_date in (${dates.map(dateLiteral).join(', ')})`,
    [scored.modelVersion],
  );
  // Columns travel as JSON arrays zipped by unnest: one statement per batch instead of a parameter
  // per value. JSON numbers round-trip doubles exactly.
  for (let start = 0; start < scored.customerIds.length; start += INSERT_BATCH) {
    const end = Math.min(scored.customerIds.length, start + INSERT_BATCH);
    const times = scored.snapshotDates.slice(start, end).map((date) => predictedAt.get(date)!);
    await tx.execute(
      `insert into ${table} (customer_id, snapshot_date, churn_probability, risk_band, model_version, predicted_at, is_backfilled, model_data_to)
       select unnest(from_json(?, '["VARCHAR"]')), cast(unnest(from_json(?, '["VARCHAR"]')) as date), unnest(from_json(?, '["DOUBLE"]')),
              unnest(from_json(?, '["VARCHAR"]')), ?, cast(unnest(from_json(?, '["VARCHAR"]')) as timestamptz),
              unnest(from_json(?, '["BOOLEAN"]')), cast(? as date)`,
      [
        JSON.stringify(scored.customerIds.slice(start, end)),
        JSON.stringify(scored.snapshotDates.slice(start, end)),
        JSON.stringify(Array.from(scored.probabilities.subarray(start, end))),
        JSON.stringify(scored.bands.slice(start, end)),
        scored.modelVersion,
        JSON.stringify(times),
        JSON.stringify(scored.backfilled.slice(start, end)),
        scored.modelDataTo,
      ],
    );
  }
}
