/**
 * Figures of every prediction snapshot at once, computed once per warehouse version: a year of
 * weekly snapshots is about fifty, so reading them all in one pass costs less than reading the
 * first few one by one, and after it no request for any snapshot touches the warehouse.
 *
 * - risk: the probability histogram, the risk bands and the model versions of each snapshot;
 * - high risk: the customers in the high band of each snapshot (positions in the sales index);
 * - at-risk lists: the `AT_RISK_LIST_MAX` most likely churners of each snapshot, overall and per band;
 * - outcomes: predicted against observed churn of each snapshot old enough to judge.
 */
import type { WarehouseValue } from '@mlops/kernel';
import type { GoldReader } from './gold.reader.js';
import { addDays, isCalendarDate } from './params.js';
import { salesIndex } from './sales.index.js';
import { num, str } from './sql.js';

/**
 * Where each snapshot's scores are read: the view of the champion of the time (one row per
 * customer and snapshot although several versions scored it), or the table itself on a warehouse
 * built before the view existed (one version per snapshot then). Null when there are no predictions.
 */
export async function scoresTable(gold: GoldReader): Promise<string | null> {
  if (await gold.has('fact_predictions_churn_champion')) return gold.table('fact_predictions_churn_champion');
  if (await gold.has('fact_predictions_churn')) return gold.table('fact_predictions_churn');
  return null;
}

/** Risk bands of a prediction, lowest first. */
export const RISK_BANDS = ['low', 'medium', 'high'] as const;
/** A risk band. */
export type RiskBand = (typeof RISK_BANDS)[number];
/** Bins of the probability histogram. */
export const HISTOGRAM_BINS = 20;
/** The longest list of customers at risk an answer can hold. */
export const AT_RISK_LIST_MAX = 200;

/** The risk figures of one snapshot. */
export interface SnapshotRisk {
  /** Customers per histogram bin (index = bin). */
  histogram: number[];
  /** Per risk band (null band included), customers and mean probability. */
  bands: Map<string | null, { customers: number; meanProbability: number }>;
  modelVersions: string[];
}

/** The risk figures of every snapshot, by snapshot date. */
export function snapshotRisks(gold: GoldReader): Promise<Map<string, SnapshotRisk>> {
  return gold.derived('snapshot-risks', async () => {
    const out = new Map<string, SnapshotRisk>();
    const table = await scoresTable(gold);
    if (table === null) return out;
    const histogram = await gold.query(
      'risk histograms',
      `select cast(snapshot_date as string) as snapshot_date, cast(least(floor(churn_probability * ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS - 1}) as integer) as bin, count(*) as customers
       from ${table} where snapshot_date is not null and churn_probability is not null group by all`,
    );
    const bands = await gold.query(
      'risk bands',
      `select cast(snapshot_date as string) as snapshot_date, risk_band, count(*) as customers, avg(churn_probability) as mean_probability
       from ${table} where snapshot_date is not null group by all`,
    );
    const versions = await gold.query(
      'snapshot versions',
      `select distinct cast(snapshot_date as string) as snapshot_date, model_version from ${table} where snapshot_date is not null order by snapshot_date, model_version nulls last`,
    );
    const of = (date: WarehouseValue | undefined) => {
      const key = String(date);
      let risk = out.get(key);
      if (!risk)
        out.set(
          key,
          (risk = { histogram: new Array<number>(HISTOGRAM_BINS).fill(0), bands: new Map(), modelVersions: [] }),
        );
      return risk;
    };
    for (const row of bands)
      of(row.snapshot_date).bands.set(str(row.risk_band), {
        customers: num(row.customers),
        meanProbability: num(row.mean_probability),
      });
    for (const row of histogram) of(row.snapshot_date).histogram[num(row.bin)] = num(row.customers);
    for (const row of versions) of(row.snapshot_date).modelVersions.push(String(row.model_version));
    return out;
  });
}

/** The sales-index positions of each snapshot's high-risk customers, and how many there are. */
export function highRiskCustomers(gold: GoldReader): Promise<Map<string, { customers: number; positions: number[] }>> {
  return gold.derived('high-risk-customers', async () => {
    const out = new Map<string, { customers: number; positions: number[] }>();
    const table = await scoresTable(gold);
    if (table === null) return out;
    const index = await salesIndex(gold);
    const result = await gold.queryColumns(
      'high-risk customers',
      `select cast(snapshot_date as string) as snapshot_date, customer_id from ${table}
       where snapshot_date is not null and risk_band = 'high' order by snapshot_date, customer_id nulls last`,
    );
    const [dates, ids] = result.columns as [WarehouseValue[], WarehouseValue[]];
    let current: { customers: number; positions: number[] } | undefined;
    let currentDate: string | undefined;
    const seen = new Set<number>();
    for (let row = 0; row < result.rowCount; row += 1) {
      const date = String(dates[row]);
      if (date !== currentDate) {
        out.set(date, (current = { customers: 0, positions: [] }));
        currentDate = date;
        seen.clear();
      }
      current!.customers += 1;
      const position = ids[row] === null ? undefined : index.positionOf.get(String(ids[row]));
      // A customer counts once in the revenue however many rows it has.
      if (position !== undefined && !seen.has(position)) {
        seen.add(position);
        current!.positions.push(position);
      }
    }
    return out;
  });
}

/** A customer at risk as the prediction table states it. */
export interface AtRiskEntry {
  customerId: string | null;
  churnProbability: number;
  riskBand: string | null;
  modelVersion: string | null;
}

/**
 * For every snapshot, the most likely churners (probability descending, then id), overall (key
 * `date|*`) and per band (key `date|band`), up to {@link AT_RISK_LIST_MAX} each.
 */
export function atRiskLists(gold: GoldReader): Promise<Map<string, AtRiskEntry[]>> {
  return gold.derived('at-risk-lists', async () => {
    const out = new Map<string, AtRiskEntry[]>();
    const table = await scoresTable(gold);
    if (table === null) return out;
    const result = await gold.queryColumns(
      'customers at risk',
      `select cast(snapshot_day as string) as snapshot_date, customer_id, churn_probability, risk_band, model_version, overall_rank, band_rank
       from (
         select snapshot_date as snapshot_day, customer_id, churn_probability, risk_band, model_version,
                row_number() over (partition by snapshot_date order by churn_probability desc, customer_id nulls last) as overall_rank,
                row_number() over (partition by snapshot_date, risk_band order by churn_probability desc, customer_id nulls last) as band_rank
         from ${table}
         where snapshot_date is not null
       )
       where overall_rank <= ? or band_rank <= ?
       order by snapshot_day, churn_probability desc, customer_id nulls last`,
      [AT_RISK_LIST_MAX, AT_RISK_LIST_MAX],
    );
    const [dates, ids, probabilities, bands, versions, overallRanks, bandRanks] =
      result.columns as WarehouseValue[][] as [
        WarehouseValue[],
        WarehouseValue[],
        WarehouseValue[],
        WarehouseValue[],
        WarehouseValue[],
        WarehouseValue[],
        WarehouseValue[],
      ];
    const push = (key: string, entry: AtRiskEntry) => {
      let list = out.get(key);
      if (!list) out.set(key, (list = []));
      list.push(entry);
    };
    for (let row = 0; row < result.rowCount; row += 1) {
      const entry = {
        customerId: str(ids[row]),
        churnProbability: num(probabilities[row]),
        riskBand: str(bands[row]),
        modelVersion: str(versions[row]),
      };
      const date = String(dates[row]);
      if (num(overallRanks[row]) <= AT_RISK_LIST_MAX) push(`${date}|*`, entry);
      if (entry.riskBand !== null && num(bandRanks[row]) <= AT_RISK_LIST_MAX) push(`${date}|${entry.riskBand}`, entry);
    }
    return out;
  });
}

/** Observed against predicted churn of one snapshot (and per risk band). */
export interface SnapshotOutcome {
  snapshotDate: string;
  customers: number;
  predictedChurnRate: number;
  actualChurnRate: number;
  bands: { band: string; customers: number; predictedChurnRate: number; actualChurnRate: number }[];
}

/**
 * The outcome of every snapshot up to `latestJudgeable` (the last order day minus the horizon): a
 * customer churned when they placed no order in the `horizonDays` after the snapshot.
 */
export function snapshotOutcomes(
  gold: GoldReader,
  latestJudgeable: string,
  horizonDays: number,
): Promise<Map<string, SnapshotOutcome>> {
  return gold.derived(`outcomes:${horizonDays}:${latestJudgeable}`, async () => {
    if (!isCalendarDate(latestJudgeable)) throw new Error('the latest judgeable snapshot must be a calendar date');
    const out = new Map<string, SnapshotOutcome>();
    const table = await scoresTable(gold);
    if (table === null || !(await gold.has('bi_customer_sales_daily'))) return out;
    const bounds = await gold.query(
      'judgeable snapshots',
      `select cast(min(snapshot_date) as string) as first_snapshot from ${table} where snapshot_date <= cast(? as date)`,
      [latestJudgeable],
    );
    const first = str(bounds[0]?.first_snapshot);
    if (first === null) return out;
    const rows = await gold.query(
      'predicted vs actual',
      `with events as (
         select customer_id, snapshot_date as event_day, 1 as is_snapshot, churn_probability, risk_band
         from ${table} where snapshot_date <= cast(? as date)
         union all
         select customer_id, order_date, 0, null, cast(null as string)
         from ${gold.table('bi_customer_sales_daily')}
         where customer_id is not null and order_date > cast(? as date) and order_date <= cast(? as date)
       ), nexts as (
         -- Each prediction with its customer's next order strictly after the snapshot: a running
         -- minimum from the last day back, snapshots before the orders of their own day.
         select event_day, is_snapshot, churn_probability, risk_band,
                min(if(is_snapshot = 0, event_day, null)) over (
                  partition by customer_id order by event_day desc, is_snapshot desc rows between unbounded preceding and current row
                ) as next_order
         from events
       )
       select cast(event_day as string) as snapshot_date, risk_band, count(*) as customers,
              sum(churn_probability) as probability_sum,
              countif(next_order is null or next_order > date_add(event_day, interval (?) day)) as churned
       from nexts where is_snapshot = 1 group by all order by snapshot_date`,
      [latestJudgeable, first, addDays(latestJudgeable, horizonDays), Math.floor(horizonDays)],
    );
    const rank = (band: string | null) => (band === null ? -1 : (RISK_BANDS as readonly string[]).indexOf(band));
    const bySnapshot = new Map<string, typeof rows>();
    for (const row of rows) {
      const date = String(row.snapshot_date);
      bySnapshot.set(date, [...(bySnapshot.get(date) ?? []), row]);
    }
    for (const [date, mine] of bySnapshot) {
      const customers = mine.reduce((sum, row) => sum + num(row.customers), 0);
      const probability = mine.reduce((sum, row) => sum + num(row.probability_sum), 0);
      const churned = mine.reduce((sum, row) => sum + num(row.churned), 0);
      out.set(date, {
        snapshotDate: date,
        customers,
        predictedChurnRate: customers === 0 ? 0 : probability / customers,
        actualChurnRate: customers === 0 ? 0 : churned / customers,
        bands: mine
          .map((row) => ({
            band: String(row.risk_band),
            customers: num(row.customers),
            predictedChurnRate: num(row.probability_sum) / Math.max(1, num(row.customers)),
            actualChurnRate: num(row.churned) / Math.max(1, num(row.customers)),
          }))
          .sort((a, b) => rank(a.band) - rank(b.band)),
      });
    }
    return out;
  });
}
