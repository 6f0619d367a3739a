/**
 * `features`: the labelled training set of one run. Features come only from the point-in-time
 * table (`warehouse.fct_customer_features`, computed as of each snapshot date); the label of a
 * customer and snapshot is 1 (churned) when `warehouse.fct_sales` holds no order of the customer
 * placed strictly after the snapshot and at most `horizon_days` after it, among the orders that
 * landed by `as_of`. Only snapshots whose label window is complete are used (see
 * `data/snapshot.plan.ts`: warm-up, grid, split by time, embargo).
 *
 * Every row of the chosen snapshots is kept, lapsed customers too (the `all` slice); models learn
 * from and are judged on the active ones (`days_since_last_order <= horizon_days`). Each row also
 * carries its days since the last order, its segment and a customer number (slices, bootstrap).
 */
import type { Warehouse, WarehouseColumns } from '@mlops/kernel';
import { TRAINER_ERROR_CODES, TrainerError } from '../ml/index.js';
import { TrainerErrors } from '../errors.js';
import { DatasetBuilder, decodeDataset, fingerprintOf, type DatasetSnapshot } from '../data/dataset.artifact.js';
import { isDate } from '../data/dates.js';
import { planSnapshots } from '../data/snapshot.plan.js';
import {
  checkIdentifier,
  float64Of,
  isNumericType,
  parameterList,
  resolveTables,
  type WarehouseTables,
} from '../data/warehouse-tables.js';
import { defineComponent, type JsonValue } from './component.js';

/** Lookback of the point-in-time features in the Dataform project (`includes/constants.js`). */
export const FEATURE_LOOKBACK_DAYS = 90;

/** Columns of the feature table that identify a row rather than describe it. */
export const KEY_COLUMNS = ['customer_id', 'snapshot_date'] as const;

/** The column that defines the scored population (active: at most the horizon). */
export const RECENCY_COLUMN = 'days_since_last_order';

/** The column that names a customer's segment (a slice, not a feature). */
export const SEGMENT_COLUMN = 'customer_segment';

/** Snapshots read per query: bounds the rows held at once. */
const SNAPSHOTS_PER_READ = 2;

/** The numeric feature columns of a feature table, in table order. */
export function featureColumns(tables: WarehouseTables, featureTable: string): string[] {
  const columns = tables.columns(featureTable);
  if (columns.length === 0) throw TrainerErrors.featureTableMissing(`${tables.schema}.${featureTable}`);
  return columns
    .filter((column) => !(KEY_COLUMNS as readonly string[]).includes(column.name) && isNumericType(column.type))
    .map((column) => checkIdentifier('feature column', column.name));
}

/** The feature columns of `f` as 64-bit floats (booleans as 0 or 1), on either engine. */
export function featureSelect(tables: WarehouseTables, featureTable: string, columns: readonly string[]): string {
  const types = new Map(tables.columns(featureTable).map((column) => [column.name, column.type]));
  return columns
    .map(
      (column) =>
        `${float64Of(tables.dialect, `f.${checkIdentifier('feature column', column)}`, types.get(column) ?? '')} as ${column}`,
    )
    .join(',\n    ');
}

function toDateStrings(values: readonly JsonValue[], name: string): string[] {
  return values.map((value) => {
    if (!isDate(value))
      throw TrainerErrors.invalidSetting(name, `must hold dates (YYYY-MM-DD); got ${JSON.stringify(value)}`);
    return value;
  });
}

/** What {@link readLabelledRows} reads. */
export interface LabelledRowsRequest {
  featureTable: string;
  columns: readonly string[];
  snapshots: readonly string[];
  asOf: string;
  horizonDays: number;
  /** Whether the table has a segment column (older tables do not). */
  hasSegment: boolean;
}

/** The labelled rows of the given snapshots (labels from fct_sales, orders landed by `asOf`), by column. */
export async function readLabelledRows(
  warehouse: Warehouse,
  tables: WarehouseTables,
  request: LabelledRowsRequest,
): Promise<WarehouseColumns> {
  const { sql, params } = labelledRowsQuery(tables, request);
  return warehouse.queryColumns(sql, params);
}

/**
 * The SQL of the labelled rows (keys, features as 64-bit floats, `recency__`, `segment__`,
 * `is_churned`), ordered by snapshot and customer, and its parameters.
 */
export function labelledRowsQuery(
  tables: WarehouseTables,
  request: LabelledRowsRequest,
): { sql: string; params: string[] } {
  const { columns, snapshots, asOf, horizonDays } = request;
  if (!Number.isInteger(horizonDays) || horizonDays < 1)
    throw TrainerErrors.invalidSetting('horizon_days', `must be a whole number of days >= 1 (got ${horizonDays})`);
  // The SQL both engines accept (see the warehouse port): values are parameters, but for the
  // horizon (a whole number, checked above), as DuckDB takes no parameter inside an interval.
  const sql = `
with features as (
  select f.* from ${tables.table(request.featureTable)} as f
  where f.snapshot_date in ${parameterList(snapshots)}
),

ordered_after as (
  select distinct features.customer_id, features.snapshot_date
  from features
  inner join ${tables.table('fct_sales')} as sales
    on sales.customer_id = features.customer_id
    and sales.order_date > features.snapshot_date
    and sales.order_date <= date_add(features.snapshot_date, interval ${horizonDays} day)
    -- Implied by the two above; on the sales alone, so the engine skips the sales outside the window.
    and sales.order_date > cast(? as date)
    and sales.order_date <= date_add(cast(? as date), interval ${horizonDays} day)
    and sales.run_date <= cast(? as date)
),

final as (
  select
    cast(f.snapshot_date as string) as snapshot_date,
    f.customer_id,
    ${featureSelect(tables, request.featureTable, columns)},
    cast(f.${RECENCY_COLUMN} as int64) as recency__,
    ${request.hasSegment ? `coalesce(cast(f.${SEGMENT_COLUMN} as string), 'unknown')` : `'unknown'`} as segment__,
    case when ordered_after.customer_id is null then 1 else 0 end as is_churned
  from features as f
  left join ordered_after
    on ordered_after.customer_id = f.customer_id
    and ordered_after.snapshot_date = f.snapshot_date
)

select * from final
order by snapshot_date, customer_id`;
  const sorted = [...snapshots].sort();
  return { sql, params: [...snapshots, sorted[0]!, sorted.at(-1)!, asOf] };
}

/** The numeric part of the labelled rows, in their order: the features, `recency__`, `is_churned`. */
function numericRowsSql(tables: WarehouseTables, request: LabelledRowsRequest): string {
  const { sql } = labelledRowsQuery(tables, request);
  const float = (name: string) => float64Of(tables.dialect, `labelled.${name}`, 'INT64');
  return `select ${request.columns.map((column) => `labelled.${column}`).join(', ')}, ${float('recency__')} as recency__, ${float('is_churned')} as is_churned
from (${sql}) as labelled
order by labelled.snapshot_date, labelled.customer_id`;
}

/** The keys, segment and recency of the same rows, in the same order (no labels needed). */
function keyRowsSql(tables: WarehouseTables, request: LabelledRowsRequest): string {
  return `select
  cast(f.snapshot_date as string) as snapshot_date,
  f.customer_id,
  ${request.hasSegment ? `coalesce(cast(f.${SEGMENT_COLUMN} as string), 'unknown')` : `'unknown'`} as segment__,
  cast(f.${RECENCY_COLUMN} as int64) as recency__
from ${tables.table(request.featureTable)} as f
where f.snapshot_date in ${parameterList(request.snapshots)}
order by cast(f.snapshot_date as string), f.customer_id`;
}

export const featuresComponent = defineComponent({
  name: 'features',
  description:
    'Labelled churn training set from the point-in-time feature table, split by time into train and holdout with an embargo.',
  io: {
    parameters: {
      as_of: { type: 'STRING', description: 'Data cut-off (YYYY-MM-DD): the latest run date whose data is read.' },
      horizon_days: { type: 'NUMBER_INTEGER', description: 'Churn = no order in this many days after the snapshot.' },
      snapshot_every_days: { type: 'NUMBER_INTEGER', description: 'Grid step of the sampled snapshots (7 = weekly).' },
      warmup_days: {
        type: 'NUMBER_INTEGER',
        description: 'Days of history skipped at the start where the data allows (the longest feature window).',
      },
      min_warmup_days: { type: 'NUMBER_INTEGER', description: 'The shortest warm-up the plan may fall back to.' },
      min_snapshots: {
        type: 'NUMBER_INTEGER',
        description: 'Fewest train snapshots aimed for; the warm-up shortens, then the grid gets finer, below it.',
      },
      max_snapshots: { type: 'NUMBER_INTEGER', description: 'Most snapshots used (the latest).' },
      holdout_fraction: { type: 'NUMBER_DOUBLE', description: 'Share of the snapshots held out (the latest).' },
      embargo_days: {
        type: 'NUMBER_INTEGER',
        description: 'Days from the last train snapshot to the first holdout snapshot, at least (the horizon).',
      },
      excluded_dates: {
        type: 'LIST',
        description: 'Run dates an upstream stage failed for; snapshots reading them are left out.',
      },
      feature_table: { type: 'STRING', description: 'Point-in-time feature table of the warehouse schema.' },
      warehouse_schema: { type: 'STRING', description: 'Schema (BigQuery dataset) of the gold tables.' },
    },
    artifacts: {},
    outputParameters: {
      data_fingerprint: { type: 'STRING', description: 'SHA-256 of the training set artifact (the exact rows).' },
      data_from: { type: 'STRING', description: 'First snapshot date of the training set.' },
      data_to: { type: 'STRING', description: 'Data cut-off (as_of).' },
      holdout_from: { type: 'STRING', description: 'First holdout snapshot date.' },
      holdout_to: { type: 'STRING', description: 'Last holdout snapshot date.' },
      train_rows: { type: 'NUMBER_INTEGER', description: 'Rows of the train part (active customers).' },
      holdout_rows: { type: 'NUMBER_INTEGER', description: 'Rows of the holdout part (active customers).' },
      positive_rate: { type: 'NUMBER_DOUBLE', description: 'Share of churned rows among the active ones.' },
      sampling: {
        type: 'STRUCT',
        description: 'The sampling as applied: grid step, warm-up, embargo, snapshots per part, population.',
      },
    },
    outputArtifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set (mlops.dataset.v2).' },
    },
  },
  async run({ params, outputs }, deps) {
    if (!isDate(params.as_of))
      throw TrainerErrors.invalidSetting('as_of', `must be a date (YYYY-MM-DD); got ${JSON.stringify(params.as_of)}`);
    const horizon = params.horizon_days;
    // One read session: every query sees the same warehouse, and no write waits while the model trains.
    const { plan, snapshots, counts, total, nFeatures, builder, labels, recency, segments } = await deps.warehouse.read(
      async (warehouse) => {
        const tables = await resolveTables(warehouse, params.warehouse_schema);
        const columns = featureColumns(tables, params.feature_table);
        if (!columns.includes(RECENCY_COLUMN))
          throw TrainerErrors.invalidComponentIo(
            'features',
            `the feature table ${params.feature_table} has no ${RECENCY_COLUMN} column, which defines the scored population`,
          );
        const hasSegment = tables.columns(params.feature_table).some((column) => column.name === SEGMENT_COLUMN);
        if (!tables.exists('fct_sales')) throw TrainerErrors.featureTableMissing(`${tables.schema}.fct_sales`);
        const asOf = params.as_of;
        const featureDates = (
          await warehouse.query<{ d: string }>(
            `select distinct cast(snapshot_date as string) as d from ${tables.table(params.feature_table)} where snapshot_date <= cast(? as date) order by 1`,
            [asOf],
          )
        ).map((row) => row.d);
        if (featureDates.length === 0) {
          throw new TrainerError(
            TRAINER_ERROR_CODES.EMPTY_TRAINING_SET,
            `the training set is empty: ${tables.schema}.${params.feature_table} holds no snapshot up to ${asOf}`,
            {
              table: params.feature_table,
              asOf,
            },
          );
        }
        const salesDates = new Set(
          (
            await warehouse.query<{ d: string }>(
              `select distinct cast(run_date as string) as d from ${tables.table('fct_sales')} where run_date <= cast(? as date)`,
              [asOf],
            )
          ).map((row) => row.d),
        );
        const plan = planSnapshots({
          asOf,
          featureDates,
          salesDates,
          horizonDays: horizon,
          lookbackDays: FEATURE_LOOKBACK_DAYS,
          excludedDates: toDateStrings(params.excluded_dates, 'excluded_dates'),
          sampling: {
            everyDays: params.snapshot_every_days,
            warmupDays: params.warmup_days,
            minWarmupDays: params.min_warmup_days,
            minSnapshots: params.min_snapshots,
            maxSnapshots: params.max_snapshots,
            holdoutFraction: params.holdout_fraction,
            embargoDays: params.embargo_days,
          },
        });
        const snapshots = [...plan.train, ...plan.holdout];
        // Read a few snapshots at a time, by column, straight into typed arrays: a year at scale 20 is
        // millions of labelled rows, and as JavaScript objects they overflowed the heap.
        const ordered = [...snapshots].sort();
        const perSnapshot = new Map(
          (
            await warehouse.query<{ d: string; n: number | bigint }>(
              `select cast(snapshot_date as string) as d, count(*) as n from ${tables.table(params.feature_table)} where snapshot_date in ${parameterList(ordered)} group by 1`,
              ordered,
            )
          ).map((row) => [row.d, Number(row.n)]),
        );
        const total = ordered.reduce((sum, date) => sum + (perSnapshot.get(date) ?? 0), 0);
        const nFeatures = columns.length;
        // The rows are read into the artifact's own buffer (the set is held once).
        const builder = new DatasetBuilder(columns, total);
        const { values, labels } = builder;
        const { daysSinceLastOrder: recency, segment, customer } = builder.facts;
        const segments: string[] = [];
        const customers = new Map<string, number>();
        const counts = new Map<string, number>();
        const changed = () =>
          TrainerErrors.invalidComponentIo(
            'features',
            `the feature table changed while it was read (${params.feature_table})`,
          );
        let r = 0;
        for (let first = 0; first < ordered.length; first += SNAPSHOTS_PER_READ) {
          const request = {
            featureTable: params.feature_table,
            columns,
            snapshots: ordered.slice(first, first + SNAPSHOTS_PER_READ),
            asOf,
            horizonDays: horizon,
            hasSegment,
          };
          // The numbers stream straight into the set, row-major (no value per cell in JavaScript);
          // the keys and segments come by a second read of the same rows in the same order.
          const start = r;
          await warehouse.scanNumbers(
            numericRowsSql(tables, request),
            labelledRowsQuery(tables, request).params,
            (batch) => {
              const width = nFeatures + 2;
              if (r + batch.rows > total) throw changed();
              for (let i = 0; i < batch.rows; i++, r++) {
                const at = i * width;
                // A NULL feature arrives as NaN, which the dataset check names (feature and row).
                values.set(batch.values.subarray(at, at + nFeatures), r * nFeatures);
                const days = batch.values[at + nFeatures]!;
                recency[r] = Number.isNaN(days) ? 65535 : Math.min(65535, Math.max(0, days));
                labels[r] = batch.values[at + nFeatures + 1] === 1 ? 1 : 0;
              }
            },
          );
          const keys = await warehouse.queryColumns(keyRowsSql(tables, request), request.snapshots);
          if (keys.rowCount !== r - start) throw changed();
          const [dates, ids, names, days] = keys.columns;
          for (let i = 0; i < keys.rowCount; i++) {
            const row = start + i;
            const day = days![i];
            if (
              (day === null || day === undefined ? 65535 : Math.min(65535, Math.max(0, Number(day)))) !== recency[row]
            )
              throw changed();
            const name = String(names![i]);
            let index = segments.indexOf(name);
            if (index < 0) index = segments.push(name) - 1;
            segment[row] = index;
            const id = String(ids![i]);
            let number = customers.get(id);
            if (number === undefined) customers.set(id, (number = customers.size));
            customer[row] = number;
            counts.set(String(dates![i]), (counts.get(String(dates![i])) ?? 0) + 1);
          }
        }
        if (r !== total) throw changed();
        return { plan, snapshots, counts, total, nFeatures, builder, labels, recency, segments };
      },
      { purpose: `trainer: features as of ${params.as_of}`, log: deps.log },
    );
    const asOf = params.as_of;
    const snapshotRows: DatasetSnapshot[] = snapshots.map((date) => ({
      date,
      rows: counts.get(date) ?? 0,
      split: plan.holdout.includes(date) ? 'holdout' : 'train',
    }));
    const bytes = builder.finish({ snapshots: snapshotRows, horizonDays: horizon, segments });
    // Validate now (NaN, Infinity, shapes) so a bad feature table fails in this step, naming the feature.
    const set = decodeDataset(bytes, outputs.dataset.uri);
    const active = (rows: readonly number[]) => rows.filter((row) => recency[row]! <= horizon);
    const trainRows = active(set.trainRows);
    const holdoutRows = active(set.holdoutRows);
    if (trainRows.length === 0 || holdoutRows.length === 0) {
      throw new TrainerError(
        TRAINER_ERROR_CODES.EMPTY_TRAINING_SET,
        `the ${trainRows.length === 0 ? 'train' : 'holdout'} part has no active customers: ${params.feature_table} holds none with an order in the ${horizon} days before snapshot(s) ${(trainRows.length === 0 ? plan.train : plan.holdout).join(', ')}`,
        { train: plan.train, holdout: plan.holdout },
      );
    }
    const positives = [...trainRows, ...holdoutRows].reduce((sum, row) => sum + labels[row]!, 0);
    await outputs.dataset.write(bytes, { rows: total, features: nFeatures, snapshots: snapshots.length });
    deps.log.info(
      `features: ${total} rows over ${snapshots.length} snapshot(s) (${plan.train.length} train, ${plan.holdout.length} holdout, grid ${plan.step} day(s), warm-up ${plan.warmupDays}, embargo ${plan.embargoDays}); ${trainRows.length + holdoutRows.length} active`,
      {
        rows: total,
        labelled: plan.labelled,
        tainted: plan.tainted,
        embargoed: plan.embargoed,
      },
    );
    return {
      data_fingerprint: fingerprintOf(bytes),
      data_from: snapshots[0]!,
      data_to: asOf,
      holdout_from: plan.holdout[0]!,
      holdout_to: plan.holdout.at(-1)!,
      train_rows: trainRows.length,
      holdout_rows: holdoutRows.length,
      positive_rate: positives / (trainRows.length + holdoutRows.length),
      sampling: {
        population: `active: ${RECENCY_COLUMN} <= ${horizon}`,
        horizonDays: horizon,
        everyDays: plan.step,
        warmupDays: plan.warmupDays,
        requestedWarmupDays: params.warmup_days,
        embargoDays: plan.embargoDays,
        embargoedSnapshots: plan.embargoed,
        holdoutFraction: params.holdout_fraction,
        maxSnapshots: params.max_snapshots,
        trainSnapshots: plan.train.length,
        holdoutSnapshots: plan.holdout.length,
        excludedDates: params.excluded_dates.length,
      },
    };
  },
});
