/**
 * The predictive ("what will happen") view: churn predictions from the gold layer and the model
 * registry. Observed churn for a snapshot is computed from `fct_sales`: a customer churned when
 * they placed no order in the `horizonDays` after the snapshot, the same definition the model
 * is trained on. Only snapshots at least `horizonDays` older than the last order day are judged.
 */
import type { ModelRegistry, ModelVersion } from '@mlops/shared';
import type { GoldReader } from './gold.reader.js';
import type { DateRange } from './params.js';
import { addDays, inRange, isCalendarDate } from './params.js';
import { num, str, usd } from './sql.js';
import { salesBounds } from './historical.queries.js';

/** Risk bands of a prediction, lowest first. */
export const RISK_BANDS = ['low', 'medium', 'high'] as const;
/** A risk band. */
export type RiskBand = (typeof RISK_BANDS)[number];

/** Bins of the probability histogram. */
const HISTOGRAM_BINS = 20;
/** Revenue at risk looks back this many days from the snapshot. */
export const REVENUE_AT_RISK_DAYS = 90;

/** One prediction snapshot. */
export interface Snapshot {
  snapshotDate: string;
  customers: number;
  modelVersions: string[];
}

/** Every snapshot, newest first. */
export async function snapshots(gold: GoldReader): Promise<Snapshot[]> {
  return gold.cached('snapshots', async () => {
    if (!(await gold.has('fact_predictions_churn'))) return [];
    const rows = await gold.query(
      'snapshots',
      `select snapshot_date::varchar as snapshot_date, count(*) as customers, list(distinct model_version order by model_version) as versions
       from ${gold.table('fact_predictions_churn')}
       where snapshot_date is not null
       group by snapshot_date order by snapshot_date desc`,
    );
    return rows.map((row) => ({
      snapshotDate: String(row.snapshot_date),
      customers: num(row.customers),
      modelVersions: Array.isArray(row.versions) ? row.versions.filter((v) => v !== null).map(String) : [],
    }));
  });
}

/** The requested snapshot, or the latest; null when there are no predictions. */
export async function resolveSnapshot(gold: GoldReader, requested: string | undefined): Promise<string | null> {
  if (requested !== undefined) return requested;
  return (await snapshots(gold))[0]?.snapshotDate ?? null;
}

/** The distribution of churn risk at a snapshot: a probability histogram and the risk bands. */
export async function riskDistribution(gold: GoldReader, snapshotDate: string | null) {
  return gold.cached(`risk:${snapshotDate}`, () => computeRiskDistribution(gold, snapshotDate));
}

async function computeRiskDistribution(gold: GoldReader, snapshotDate: string | null) {
  const empty = { snapshotDate, customers: 0, meanProbability: null as number | null, modelVersions: [] as string[], bands: RISK_BANDS.map((band) => ({ band, customers: 0, meanProbability: null as number | null })), histogram: bins(new Map()) };
  if (snapshotDate === null || !(await gold.has('fact_predictions_churn'))) return empty;
  const table = gold.table('fact_predictions_churn');
  const [histogram, bands, versions] = await Promise.all([
    gold.query(
      'risk histogram',
      `select least(floor(churn_probability * ${HISTOGRAM_BINS}), ${HISTOGRAM_BINS - 1})::integer as bin, count(*) as customers
       from ${table} where snapshot_date = ?::date and churn_probability is not null group by bin`,
      [snapshotDate],
    ),
    gold.query('risk bands', `select risk_band, count(*) as customers, avg(churn_probability) as mean_probability from ${table} where snapshot_date = ?::date group by risk_band`, [snapshotDate]),
    gold.query('snapshot versions', `select distinct model_version from ${table} where snapshot_date = ?::date order by model_version`, [snapshotDate]),
  ]);
  const byBand = new Map(bands.map((row) => [String(row.risk_band), row]));
  const customers = bands.reduce((sum, row) => sum + num(row.customers), 0);
  const meanProbability = customers === 0 ? null : bands.reduce((sum, row) => sum + num(row.mean_probability) * num(row.customers), 0) / customers;
  return {
    snapshotDate,
    customers,
    meanProbability,
    modelVersions: versions.map((row) => String(row.model_version)),
    bands: RISK_BANDS.map((band) => ({ band, customers: num(byBand.get(band)?.customers), meanProbability: byBand.has(band) ? num(byBand.get(band)!.mean_probability) : null })),
    histogram: bins(new Map(histogram.map((row) => [num(row.bin), num(row.customers)]))),
  };
}

function bins(counts: Map<number, number>) {
  return Array.from({ length: HISTOGRAM_BINS }, (_, bin) => ({ from: bin / HISTOGRAM_BINS, to: (bin + 1) / HISTOGRAM_BINS, customers: counts.get(bin) ?? 0 }));
}

/** The customers most at risk at a snapshot, with their revenue of the last 90 days. */
export async function customersAtRisk(gold: GoldReader, snapshotDate: string | null, limit: number, band: RiskBand | undefined) {
  const totals = await revenueAtRisk(gold, snapshotDate);
  const base = { snapshotDate, lookbackDays: REVENUE_AT_RISK_DAYS, ...totals };
  if (snapshotDate === null || !(await gold.has('fact_predictions_churn'))) return { ...base, customers: [] };
  const hasCustomers = await gold.has('dim_customer');
  const sales = (await gold.has('fct_sales')) ? gold.table('fct_sales') : null;
  // Only the 90 days before the snapshot are read: revenue at risk and the last order in that window.
  const list = await gold.query(
    'customers at risk',
    `with p as (
       select customer_id, churn_probability, risk_band, model_version
       from ${gold.table('fact_predictions_churn')}
       where snapshot_date = ?::date ${band ? 'and risk_band = ?' : ''}
       order by churn_probability desc, customer_id
       limit ?
     )${
       sales
         ? `, r as (
       select s.customer_id,
              coalesce(sum(round(s.net_amount_usd * 100)) filter (where s.is_completed), 0)::bigint as revenue_cents,
              max(s.order_date)::varchar as last_order_date
       from ${sales} s semi join p on p.customer_id = s.customer_id
       where s.order_date > ?::date and s.order_date <= ?::date
       group by s.customer_id
     )`
         : ''
     }
     select p.*, ${sales ? 'coalesce(r.revenue_cents, 0) as revenue_cents, r.last_order_date' : '0 as revenue_cents, null::varchar as last_order_date'},
            ${hasCustomers ? 'c.region, c.segment' : 'null::varchar as region, null::varchar as segment'}
     from p ${sales ? 'left join r on r.customer_id = p.customer_id' : ''}
     ${hasCustomers ? `left join ${gold.table('dim_customer')} c on c.customer_id = p.customer_id` : ''}
     order by p.churn_probability desc, p.customer_id`,
    [snapshotDate, ...(band ? [band] : []), limit, ...(sales ? [addDays(snapshotDate, -REVENUE_AT_RISK_DAYS), snapshotDate] : [])],
  );
  return {
    ...base,
    customers: list.map((row) => ({
      customerId: str(row.customer_id),
      region: str(row.region),
      segment: str(row.segment),
      churnProbability: num(row.churn_probability),
      riskBand: str(row.risk_band),
      modelVersion: str(row.model_version),
      revenueAtRiskUsd: usd(num(row.revenue_cents)),
      /** The last order in the 90 days before the snapshot (null: none in that window). */
      lastOrderDate: str(row.last_order_date),
    })),
  };
}

/** High-risk customers at a snapshot and their net revenue of the 90 days up to it (once per snapshot). */
export async function revenueAtRisk(gold: GoldReader, snapshotDate: string | null): Promise<{ highRiskCustomers: number; revenueAtRiskUsd: number }> {
  return gold.cached(`revenue-at-risk:${snapshotDate}`, async () => {
    if (snapshotDate === null || !(await gold.has('fact_predictions_churn'))) return { highRiskCustomers: 0, revenueAtRiskUsd: 0 };
    const sales = (await gold.has('fct_sales')) ? gold.table('fct_sales') : null;
    const rows = await gold.query(
      'revenue at risk',
      `with h as (select customer_id from ${gold.table('fact_predictions_churn')} where snapshot_date = ?::date and risk_band = 'high')
       select (select count(*) from h) as customers,
              ${
                sales
                  ? `(select coalesce(sum(round(s.net_amount_usd * 100)) filter (where s.is_completed), 0)::bigint
                      from ${sales} s semi join h on h.customer_id = s.customer_id
                      where s.order_date > ?::date and s.order_date <= ?::date)`
                  : '0'
              } as revenue_cents`,
      [snapshotDate, ...(sales ? [addDays(snapshotDate, -REVENUE_AT_RISK_DAYS), snapshotDate] : [])],
    );
    return { highRiskCustomers: num(rows[0]?.customers), revenueAtRiskUsd: usd(num(rows[0]?.revenue_cents)) };
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

async function computeOutcomes(gold: GoldReader, dates: readonly string[], horizonDays: number): Promise<Map<string, SnapshotOutcome>> {
  if (dates.some((date) => !isCalendarDate(date))) throw new Error('snapshot dates must be calendar dates');
  const sorted = [...dates].sort();
  const list = sorted.map((date) => `date '${date}'`).join(', ');
  const rows = await gold.query(
    'predicted vs actual',
    `with p as (
       select customer_id, snapshot_date, churn_probability, risk_band
       from ${gold.table('fact_predictions_churn')} where snapshot_date in (${list})
     ), o as (
       select customer_id, list(distinct order_date) as days
       from ${gold.table('fct_sales')}
       where order_date > ?::date and order_date <= ?::date
       group by customer_id
     ), judged as (
       select p.snapshot_date, p.risk_band, p.churn_probability,
              not coalesce(list_bool_or(list_transform(o.days, d -> d > p.snapshot_date and d <= p.snapshot_date + ${horizonDays})), false) as churned
       from p left join o on o.customer_id = p.customer_id
     )
     select snapshot_date::varchar as snapshot_date, risk_band, count(*) as customers,
            sum(churn_probability) as probability_sum, count(*) filter (where churned) as churned
     from judged group by all`,
    [sorted[0]!, addDays(sorted[sorted.length - 1]!, horizonDays)],
  );
  const out = new Map<string, SnapshotOutcome>();
  for (const date of sorted) {
    const mine = rows.filter((row) => row.snapshot_date === date);
    const customers = mine.reduce((sum, row) => sum + num(row.customers), 0);
    const probability = mine.reduce((sum, row) => sum + num(row.probability_sum), 0);
    const churned = mine.reduce((sum, row) => sum + num(row.churned), 0);
    const rank = (band: string | null) => (band === null ? -1 : (RISK_BANDS as readonly string[]).indexOf(band));
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
}

/** Predicted against observed churn for the latest `limit` snapshots in range that are old enough to judge. */
export async function predictedVsActual(gold: GoldReader, range: DateRange, limit: number, horizonDays: number) {
  const { to: dataThrough } = await salesBounds(gold);
  const base = { horizonDays, dataThrough, snapshots: [] as SnapshotOutcome[], bands: [] as { band: string; customers: number; predictedChurnRate: number; actualChurnRate: number }[] };
  if (dataThrough === null || !(await gold.has('fact_predictions_churn'))) return base;
  const latestJudgeable = addDays(dataThrough, -horizonDays);
  const eligible = (await snapshots(gold))
    .map((snapshot) => snapshot.snapshotDate)
    .filter((date) => date <= latestJudgeable && inRange(date, range))
    .slice(0, limit);
  if (eligible.length === 0) return base;
  // Each snapshot is judged once per warehouse version; the ones no request has judged yet are
  // judged together in one query.
  const results = await gold.cachedEach(
    eligible.map((date) => `outcome:${horizonDays}:${date}`),
    async (missing) => {
      const dates = missing.map((key) => key.slice(key.lastIndexOf(':') + 1));
      const outcomes = await computeOutcomes(gold, dates, horizonDays);
      return new Map(dates.map((date) => [`outcome:${horizonDays}:${date}`, outcomes.get(date)!]));
    },
  );
  const list = [...eligible].sort().map((date) => results.get(`outcome:${horizonDays}:${date}`)!);
  const bandTotals = new Map<string, { customers: number; predicted: number; churned: number }>();
  for (const outcome of list) {
    for (const band of outcome.bands) {
      const total = bandTotals.get(band.band) ?? { customers: 0, predicted: 0, churned: 0 };
      total.customers += band.customers;
      total.predicted += band.predictedChurnRate * band.customers;
      total.churned += band.actualChurnRate * band.customers;
      bandTotals.set(band.band, total);
    }
  }
  return {
    ...base,
    snapshots: list,
    bands: RISK_BANDS.filter((band) => bandTotals.has(band)).map((band) => {
      const total = bandTotals.get(band)!;
      return { band, customers: total.customers, predictedChurnRate: total.predicted / total.customers, actualChurnRate: total.churned / total.customers };
    }),
  };
}

/** Model versions with their metrics, the champion marked. */
export async function modelVersions(registry: ModelRegistry, modelName: string) {
  const [versions, promotions] = await Promise.all([registry.list(modelName), registry.promotions(modelName)]);
  const champion = promotions[promotions.length - 1]?.version ?? null;
  const everChampion = new Set(promotions.map((promotion) => promotion.version));
  return {
    modelName,
    champion,
    versions: versions.map((version) => ({
      version: version.version,
      createdAt: version.createdAt,
      algorithm: version.algorithm,
      dataRange: version.dataRange,
      trainingRows: version.trainingRows,
      holdoutRows: version.holdoutRows,
      rocAuc: version.metrics?.rocAuc ?? null,
      prAuc: version.metrics?.prAuc ?? null,
      logLoss: version.metrics?.logLoss ?? null,
      baselineRocAuc: version.baselineMetrics?.rocAuc ?? null,
      isChampion: version.version === champion,
      wasChampion: everChampion.has(version.version),
    })),
  };
}

/** The champion (or undefined before the first promotion). */
export async function champion(registry: ModelRegistry, modelName: string): Promise<ModelVersion | undefined> {
  return registry.champion(modelName);
}

/** Feature importance of the champion, by gain. */
export async function featureImportance(registry: ModelRegistry, modelName: string, limit: number) {
  const model = await registry.champion(modelName);
  if (!model) return { modelName, version: null, features: [] };
  const features = [...(model.featureImportance ?? [])].sort((a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature));
  const total = features.reduce((sum, feature) => sum + Math.max(0, feature.gain), 0);
  return {
    modelName,
    version: model.version,
    features: features.slice(0, limit).map((feature) => ({ feature: feature.feature, gain: feature.gain, splits: feature.splits, share: total === 0 ? 0 : feature.gain / total })),
  };
}
