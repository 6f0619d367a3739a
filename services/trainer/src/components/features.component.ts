/**
 * `features`: the labelled training set of one run. Features come only from the point-in-time
 * table (`warehouse.fct_customer_features`, computed as of each snapshot date); the label of a
 * customer and snapshot is 1 (churned) when `warehouse.fct_sales` holds no order of the customer
 * placed strictly after the snapshot and at most `horizon_days` after it, among the orders that
 * landed by `as_of`. Only snapshots whose label window is complete are used (see
 * `data/snapshot.plan.ts`), split by time into train and holdout.
 */
import type { Warehouse, WarehouseRow } from '@mlops/shared';
import { TRAINER_ERROR_CODES, TrainerError } from '../ml/index.js';
import { TrainerErrors } from '../errors.js';
import { decodeDataset, encodeDataset, fingerprintOf, type DatasetSnapshot } from '../data/dataset.artifact.js';
import { dateLiteral, isDate } from '../data/dates.js';
import { planSnapshots } from '../data/snapshot.plan.js';
import { isNumericType, resolveTables, type WarehouseTables } from '../data/warehouse-tables.js';
import { defineComponent, type JsonValue } from './component.js';

/** Lookback of the point-in-time features in the Dataform project (`includes/constants.js`). */
export const FEATURE_LOOKBACK_DAYS = 90;

/** Columns of the feature table that identify a row rather than describe it. */
export const KEY_COLUMNS = ['customer_id', 'snapshot_date'] as const;

/** The numeric feature columns of a feature table, in table order. */
/** Snapshots read per query: bounds the rows held as objects at once. */
const SNAPSHOTS_PER_READ = 2;

export async function featureColumns(tables: WarehouseTables, featureTable: string): Promise<string[]> {
  const columns = await tables.columns(featureTable);
  if (columns.length === 0) throw TrainerErrors.featureTableMissing(`${tables.schema}.${featureTable}`);
  return columns
    .filter((column) => !(KEY_COLUMNS as readonly string[]).includes(column.name) && isNumericType(column.type))
    .map((column) => column.name);
}

function quoteColumn(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Read rows of the feature table (as doubles) for some snapshot dates, ordered by snapshot and customer. */
export function featureSelect(columns: readonly string[]): string {
  return columns.map((column) => `cast(f.${quoteColumn(column)} as double) as ${quoteColumn(column)}`).join(',\n  ');
}

function toDateStrings(values: readonly JsonValue[], name: string): string[] {
  return values.map((value) => {
    if (!isDate(value))
      throw TrainerErrors.invalidSetting(name, `must hold dates (YYYY-MM-DD); got ${JSON.stringify(value)}`);
    return value;
  });
}

type LabelledRow = WarehouseRow & { snapshot_date: string; is_churned: number };

/** The labelled rows of the given snapshots (labels from fct_sales, orders landed by `asOf`). */
export async function readLabelledRows(
  warehouse: Warehouse,
  tables: WarehouseTables,
  request: {
    featureTable: string;
    columns: readonly string[];
    snapshots: readonly string[];
    asOf: string;
    horizonDays: number;
  },
): Promise<LabelledRow[]> {
  const { columns, snapshots, asOf, horizonDays } = request;
  if (!Number.isInteger(horizonDays) || horizonDays < 1)
    throw TrainerErrors.invalidSetting('horizon_days', `must be a whole number of days >= 1 (got ${horizonDays})`);
  const sql = `
with snapshots as (
  select * from (values ${snapshots.map((date) => `(${dateLiteral(date)})`).join(', ')}) as s(snapshot_date)
),

features as (
  select f.* from ${tables.table(request.featureTable)} as f
  where f.snapshot_date in (select snapshot_date from snapshots)
),

ordered_after as (
  select distinct features.customer_id, features.snapshot_date
  from features
  inner join ${tables.table('fct_sales')} as sales
    on sales.customer_id = features.customer_id
    and sales.order_date > features.snapshot_date
    and sales.order_date <= date_add(features.snapshot_date, interval ${horizonDays} day)
    and sales.run_date <= ${dateLiteral(asOf)}
),

final as (
  select
    cast(f.snapshot_date as varchar) as snapshot_date,
    f.customer_id,
    ${featureSelect(columns)},
    case when ordered_after.customer_id is null then 1 else 0 end as is_churned
  from features as f
  left join ordered_after
    on ordered_after.customer_id = f.customer_id
    and ordered_after.snapshot_date = f.snapshot_date
)

select * from final
order by snapshot_date, customer_id`;
  return warehouse.query<LabelledRow>(sql);
}

export const featuresComponent = defineComponent({
  name: 'features',
  description:
    'Labelled churn training set from the point-in-time feature table, split by time into train and holdout.',
  io: {
    parameters: {
      as_of: { type: 'STRING', description: 'Data cut-off (YYYY-MM-DD): the latest run date whose data is read.' },
      horizon_days: { type: 'NUMBER_INTEGER', description: 'Churn = no order in this many days after the snapshot.' },
      snapshot_every_days: { type: 'NUMBER_INTEGER', description: 'Grid step of the sampled snapshots (7 = weekly).' },
      warmup_days: { type: 'NUMBER_INTEGER', description: 'Days of history skipped at the start.' },
      min_snapshots: {
        type: 'NUMBER_INTEGER',
        description: 'Fewest snapshots aimed for; the grid gets finer below it.',
      },
      max_snapshots: { type: 'NUMBER_INTEGER', description: 'Most snapshots used (the latest).' },
      holdout_fraction: { type: 'NUMBER_DOUBLE', description: 'Share of the snapshots held out (the latest).' },
      excluded_dates: {
        type: 'LIST',
        description: 'Run dates an upstream stage failed for; snapshots reading them are left out.',
      },
      feature_table: { type: 'STRING', description: 'Point-in-time feature table of the warehouse schema.' },
      warehouse_schema: { type: 'STRING', description: 'Schema (BigQuery dataset) of the gold tables.' },
    },
    artifacts: {},
    outputParameters: {
      data_fingerprint: { type: 'STRING', description: 'SHA-256 of the training set artifact.' },
      data_from: { type: 'STRING', description: 'First snapshot date of the training set.' },
      data_to: { type: 'STRING', description: 'Data cut-off (as_of).' },
      holdout_from: { type: 'STRING', description: 'First holdout snapshot date.' },
      holdout_to: { type: 'STRING', description: 'Last holdout snapshot date.' },
      train_rows: { type: 'NUMBER_INTEGER', description: 'Rows of the train part.' },
      holdout_rows: { type: 'NUMBER_INTEGER', description: 'Rows of the holdout part.' },
      positive_rate: { type: 'NUMBER_DOUBLE', description: 'Share of churned rows.' },
    },
    outputArtifacts: {
      dataset: { type: 'system.Dataset', description: 'The labelled set (mlops.dataset.v1).' },
    },
  },
  async run({ params, outputs }, deps) {
    if (!isDate(params.as_of))
      throw TrainerErrors.invalidSetting('as_of', `must be a date (YYYY-MM-DD); got ${JSON.stringify(params.as_of)}`);
    // One read session: every query sees the same warehouse, and no write waits while the model trains.
    const read = await deps.warehouse.read(
      async (warehouse) => {
        const tables = await resolveTables(warehouse, params.warehouse_schema);
        const columns = await featureColumns(tables, params.feature_table);
        if (!(await tables.exists('fct_sales'))) throw TrainerErrors.featureTableMissing(`${tables.schema}.fct_sales`);
        const asOf = params.as_of;
        const featureDates = (
          await warehouse.query<{ d: string }>(
            `select distinct cast(snapshot_date as varchar) as d from ${tables.table(params.feature_table)} where snapshot_date <= ${dateLiteral(asOf)} order by 1`,
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
              `select distinct cast(run_date as varchar) as d from ${tables.table('fct_sales')} where run_date <= ${dateLiteral(asOf)}`,
            )
          ).map((row) => row.d),
        );
        const plan = planSnapshots({
          asOf,
          featureDates,
          salesDates,
          horizonDays: params.horizon_days,
          lookbackDays: FEATURE_LOOKBACK_DAYS,
          excludedDates: toDateStrings(params.excluded_dates, 'excluded_dates'),
          sampling: {
            everyDays: params.snapshot_every_days,
            warmupDays: params.warmup_days,
            minSnapshots: params.min_snapshots,
            maxSnapshots: params.max_snapshots,
            holdoutFraction: params.holdout_fraction,
          },
        });
        const snapshots = [...plan.train, ...plan.holdout];
        // Read a few snapshots at a time straight into typed arrays: a year at scale 20 is millions of
        // labelled rows, and as JavaScript objects of ~30 fields they overflowed the heap (4 GB).
        const ordered = [...snapshots].sort();
        const perSnapshot = new Map(
          (
            await warehouse.query<{ d: string; n: number | bigint }>(
              `select cast(snapshot_date as varchar) as d, count(*) as n from ${tables.table(params.feature_table)} where snapshot_date in (${ordered.map(dateLiteral).join(', ')}) group by 1`,
            )
          ).map((row) => [row.d, Number(row.n)]),
        );
        const total = ordered.reduce((sum, date) => sum + (perSnapshot.get(date) ?? 0), 0);
        const nFeatures = columns.length;
        const values = new Float64Array(total * nFeatures);
        const labels = new Uint8Array(total);
        const counts = new Map<string, number>();
        let r = 0;
        for (let first = 0; first < ordered.length; first += SNAPSHOTS_PER_READ) {
          const some = ordered.slice(first, first + SNAPSHOTS_PER_READ);
          const rows = await readLabelledRows(warehouse, tables, {
            featureTable: params.feature_table,
            columns,
            snapshots: some,
            asOf,
            horizonDays: params.horizon_days,
          });
          if (r + rows.length > total)
            throw TrainerErrors.invalidComponentIo(
              'features',
              `the feature table changed while it was read (${params.feature_table})`,
            );
          for (const row of rows) {
            for (let f = 0; f < nFeatures; f++) {
              const value = row[columns[f]!];
              // A NULL feature becomes NaN, which the dataset check names (feature and row).
              values[r * nFeatures + f] = typeof value === 'number' ? value : NaN;
            }
            labels[r] = row.is_churned === 1 ? 1 : 0;
            counts.set(row.snapshot_date, (counts.get(row.snapshot_date) ?? 0) + 1);
            r += 1;
          }
        }
        if (r !== total)
          throw TrainerErrors.invalidComponentIo(
            'features',
            `the feature table changed while it was read (${params.feature_table})`,
          );
        return { columns, plan, snapshots, values, labels, counts, total };
      },
      { purpose: `trainer: features as of ${params.as_of}`, log: deps.log },
    );
    const { columns, plan, snapshots, values, labels, counts, total } = read;
    const nFeatures = columns.length;
    const snapshotRows: DatasetSnapshot[] = snapshots.map((date) => ({
      date,
      rows: counts.get(date) ?? 0,
      split: plan.holdout.includes(date) ? 'holdout' : 'train',
    }));
    const trainRows = snapshotRows.filter((s) => s.split === 'train').reduce((sum, s) => sum + s.rows, 0);
    const holdoutRows = total - trainRows;
    if (trainRows === 0 || holdoutRows === 0) {
      throw new TrainerError(
        TRAINER_ERROR_CODES.EMPTY_TRAINING_SET,
        `the ${trainRows === 0 ? 'train' : 'holdout'} part has no rows: ${params.feature_table} holds no customers on snapshot(s) ${(trainRows === 0 ? plan.train : plan.holdout).join(', ')}`,
        { train: plan.train, holdout: plan.holdout },
      );
    }
    const bytes = encodeDataset(
      { featureNames: columns, snapshots: snapshotRows, horizonDays: params.horizon_days },
      values,
      labels,
    );
    // Validate now (NaN, Infinity, shapes) so a bad feature table fails in this step, naming the feature.
    decodeDataset(bytes, outputs.dataset.uri);
    const positives = labels.reduce((sum, y) => sum + y, 0);
    await outputs.dataset.write(bytes, { rows: total, features: nFeatures, snapshots: snapshots.length });
    deps.log.info(
      `features: ${total} rows over ${snapshots.length} snapshot(s) (${plan.train.length} train, ${plan.holdout.length} holdout, grid ${plan.step} day(s))`,
      {
        rows: total,
        labelled: plan.labelled,
        tainted: plan.tainted,
      },
    );
    return {
      data_fingerprint: fingerprintOf(bytes),
      data_from: snapshots[0]!,
      data_to: params.as_of,
      holdout_from: plan.holdout[0]!,
      holdout_to: plan.holdout.at(-1)!,
      train_rows: trainRows,
      holdout_rows: holdoutRows,
      positive_rate: positives / total,
    };
  },
});
