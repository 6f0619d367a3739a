/**
 * The predictive ("what will happen") view: churn predictions from the gold layer and the model
 * registry. Scores are read from the champion-of-the-time view (one score per customer and
 * snapshot); only customers still active at the snapshot are scored, and the lapsed ones are
 * counted apart as a win-back figure. Observed churn for a snapshot is computed from `fct_sales`:
 * a customer churned when they placed no order in the `horizonDays` after the snapshot, the same
 * definition the model is trained on. Only snapshots at least `horizonDays` older than the last
 * order day are judged.
 */
import type { ModelRegistry, ModelVersion } from '@mlops/kernel';
import type { GoldReader } from './gold.reader.js';
import type { DateRange } from './params.js';
import { addDays, inRange } from './params.js';
import { num, usd } from './sql.js';
import { salesBounds } from './historical.queries.js';
import { salesIndex } from './sales.index.js';
import { customersInRange, revenueOf } from './sales.ranges.js';
import {
  AT_RISK_LIST_MAX,
  atRiskLists,
  highRiskCustomers,
  scoresTable,
  HISTOGRAM_BINS,
  RISK_BANDS,
  snapshotOutcomes,
  snapshotRisks,
  type RiskBand,
  type SnapshotOutcome,
} from './snapshot.figures.js';

export { AT_RISK_LIST_MAX, RISK_BANDS, type RiskBand, type SnapshotOutcome };
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
  return gold.derived('snapshots', async () => {
    const table = await scoresTable(gold);
    if (table === null) return [];
    // One row per snapshot and model version (no arrays: BigQuery refuses a NULL element in one).
    const rows = await gold.query(
      'snapshots',
      `select cast(snapshot_date as string) as snapshot_date, model_version, count(*) as customers
       from ${table}
       where snapshot_date is not null
       group by all order by snapshot_date desc, model_version nulls last`,
    );
    const out: Snapshot[] = [];
    for (const row of rows) {
      const date = String(row.snapshot_date);
      let snapshot = out[out.length - 1];
      if (snapshot?.snapshotDate !== date)
        out.push((snapshot = { snapshotDate: date, customers: 0, modelVersions: [] }));
      snapshot.customers += num(row.customers);
      if (row.model_version !== null) snapshot.modelVersions.push(String(row.model_version));
    }
    return out;
  });
}

/** The requested snapshot, or the latest; null when there are no predictions. */
export async function resolveSnapshot(gold: GoldReader, requested: string | undefined): Promise<string | null> {
  if (requested !== undefined) return requested;
  return (await snapshots(gold))[0]?.snapshotDate ?? null;
}

/** The distribution of churn risk at a snapshot: a probability histogram and the risk bands. */
export async function riskDistribution(gold: GoldReader, snapshotDate: string | null) {
  const risk = snapshotDate === null ? undefined : (await snapshotRisks(gold)).get(snapshotDate);
  const bands = [...(risk?.bands.values() ?? [])];
  const customers = bands.reduce((sum, band) => sum + band.customers, 0);
  return {
    snapshotDate,
    customers,
    meanProbability:
      customers === 0 ? null : bands.reduce((sum, band) => sum + band.meanProbability * band.customers, 0) / customers,
    modelVersions: risk?.modelVersions ?? [],
    bands: RISK_BANDS.map((band) => ({
      band,
      customers: risk?.bands.get(band)?.customers ?? 0,
      meanProbability: risk?.bands.get(band)?.meanProbability ?? null,
    })),
    histogram: Array.from({ length: HISTOGRAM_BINS }, (_, bin) => ({
      from: bin / HISTOGRAM_BINS,
      to: (bin + 1) / HISTOGRAM_BINS,
      customers: risk?.histogram[bin] ?? 0,
    })),
  };
}

/**
 * Customers lapsed at a snapshot (an order in the 90-day lookback, none in the horizon): they are
 * not scored — already gone by the churn definition — and are counted here as a win-back figure,
 * with their net revenue of the 90 days up to the snapshot.
 */
export async function winBack(gold: GoldReader, snapshotDate: string | null, horizonDays: number) {
  const base = { snapshotDate, horizonDays, customers: 0, revenueUsd90d: 0 };
  if (snapshotDate === null || !(await gold.has('fct_customer_features'))) return base;
  const figures = await gold.derived(`win-back:${horizonDays}`, async () => {
    const rows = await gold.query(
      'lapsed customers',
      `select cast(snapshot_date as string) as snapshot_date, count(*) as customers, sum(revenue_usd_90d) as revenue
       from ${gold.table('fct_customer_features')} where days_since_last_order > ? group by all`,
      [Math.floor(horizonDays)],
    );
    return new Map(
      rows.map((row) => [String(row.snapshot_date), { customers: num(row.customers), revenue: num(row.revenue) }]),
    );
  });
  const at = figures.get(snapshotDate);
  return { ...base, customers: at?.customers ?? 0, revenueUsd90d: usd(Math.round((at?.revenue ?? 0) * 100)) };
}

/** The 90 days up to a snapshot: revenue at risk and the last order are read there. */
function lookback(snapshotDate: string) {
  return { from: addDays(snapshotDate, -(REVENUE_AT_RISK_DAYS - 1)), to: snapshotDate };
}

/** The customers most at risk at a snapshot, with their revenue of the last 90 days. */
export async function customersAtRisk(
  gold: GoldReader,
  snapshotDate: string | null,
  limit: number,
  band: RiskBand | undefined,
) {
  const totals = await revenueAtRisk(gold, snapshotDate);
  const base = { snapshotDate, lookbackDays: REVENUE_AT_RISK_DAYS, ...totals };
  if (snapshotDate === null) return { ...base, customers: [] };
  if (limit > AT_RISK_LIST_MAX) throw new Error(`at most ${AT_RISK_LIST_MAX} customers at risk per answer`);
  const list = ((await atRiskLists(gold)).get(`${snapshotDate}|${band ?? '*'}`) ?? []).slice(0, limit);
  const index = await salesIndex(gold);
  const sales = customersInRange(
    index,
    lookback(snapshotDate),
    list.flatMap((entry) => (entry.customerId === null ? [] : [entry.customerId])),
  );
  return {
    ...base,
    customers: list.map((entry) => {
      const position = entry.customerId === null ? undefined : index.positionOf.get(entry.customerId);
      const figures = entry.customerId === null ? undefined : sales.get(entry.customerId);
      return {
        customerId: entry.customerId,
        region: position === undefined ? null : index.region[position]!,
        segment: position === undefined ? null : index.segment[position]!,
        churnProbability: entry.churnProbability,
        riskBand: entry.riskBand,
        modelVersion: entry.modelVersion,
        revenueAtRiskUsd: usd(figures?.revenueCents ?? 0),
        /** The last order in the 90 days before the snapshot (null: none in that window). */
        lastOrderDate: figures?.lastOrderDate ?? null,
      };
    }),
  };
}

/**
 * Every snapshot's revenue at risk in cents, once per warehouse version with the other derived
 * structures (at the warm-up): the predictive KPIs are asked again every live slot, and any
 * snapshot can be asked for.
 */
function revenueAtRiskCents(gold: GoldReader): Promise<Map<string, number>> {
  return gold.derived('revenue-at-risk', async () => {
    const [high, index] = await Promise.all([highRiskCustomers(gold), salesIndex(gold)]);
    const out = new Map<string, number>();
    for (const [snapshotDate, { positions }] of high)
      out.set(snapshotDate, revenueOf(index, lookback(snapshotDate), positions));
    return out;
  });
}

/** High-risk customers at a snapshot and their net revenue of the 90 days up to it. */
export async function revenueAtRisk(
  gold: GoldReader,
  snapshotDate: string | null,
): Promise<{ highRiskCustomers: number; revenueAtRiskUsd: number }> {
  const high = snapshotDate === null ? undefined : (await highRiskCustomers(gold)).get(snapshotDate);
  if (snapshotDate === null || high === undefined) return { highRiskCustomers: 0, revenueAtRiskUsd: 0 };
  const cents = (await revenueAtRiskCents(gold)).get(snapshotDate) ?? 0;
  return { highRiskCustomers: high.customers, revenueAtRiskUsd: usd(cents) };
}

/** Predicted against observed churn for the latest `limit` snapshots in range that are old enough to judge. */
export async function predictedVsActual(gold: GoldReader, range: DateRange, limit: number, horizonDays: number) {
  const { to: dataThrough } = await salesBounds(gold);
  const base = {
    horizonDays,
    dataThrough,
    snapshots: [] as SnapshotOutcome[],
    bands: [] as { band: string; customers: number; predictedChurnRate: number; actualChurnRate: number }[],
  };
  if (dataThrough === null || (await scoresTable(gold)) === null) return base;
  const latestJudgeable = addDays(dataThrough, -horizonDays);
  const eligible = (await snapshots(gold))
    .map((snapshot) => snapshot.snapshotDate)
    .filter((date) => date <= latestJudgeable && inRange(date, range))
    .slice(0, limit);
  if (eligible.length === 0) return base;
  // Every judgeable snapshot is judged in one query, once per warehouse version.
  const outcomes = await snapshotOutcomes(gold, latestJudgeable, horizonDays);
  const list = [...eligible].sort().flatMap((date) => {
    const outcome = outcomes.get(date);
    return outcome ? [outcome] : [];
  });
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
      return {
        band,
        customers: total.customers,
        predictedChurnRate: total.predicted / total.customers,
        actualChurnRate: total.churned / total.customers,
      };
    }),
  };
}

/** Model versions with their metrics (active customers, and the whole holdout), the champion marked; then the decisions. */
export async function modelVersions(registry: ModelRegistry, modelName: string, decisionLimit = 20) {
  const [versions, promotions, decisions] = await Promise.all([
    registry.list(modelName),
    registry.promotions(modelName),
    registry.decisions(modelName),
  ]);
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
      holdoutRange: version.holdoutRange,
      trainingRows: version.trainingRows,
      holdoutRows: version.holdoutRows,
      rocAuc: version.metrics?.rocAuc ?? null,
      prAuc: version.metrics?.prAuc ?? null,
      logLoss: version.metrics?.logLoss ?? null,
      rocAucAll: version.sliceMetrics?.all?.rocAuc ?? null,
      baselineRocAuc: version.baselineMetrics?.rocAuc ?? null,
      runId: version.lineage?.runId ?? null,
      isChampion: version.version === champion,
      wasChampion: everChampion.has(version.version),
    })),
    decisions: decisions
      .slice()
      .reverse()
      .slice(0, decisionLimit)
      .map((decision) => {
        const difference = decision.evidence.difference as { rocAuc?: number; low?: number; high?: number } | null;
        return {
          decidedAt: decision.decidedAt,
          challengerVersion: decision.challengerVersion,
          championVersion: decision.championVersion,
          promoted: decision.promoted,
          reason: decision.reason,
          rows: typeof decision.evidence.rows === 'number' ? decision.evidence.rows : null,
          difference: difference?.rocAuc ?? null,
          low: difference?.low ?? null,
          high: difference?.high ?? null,
        };
      }),
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
  const features = [...(model.featureImportance ?? [])].sort(
    (a, b) => b.gain - a.gain || a.feature.localeCompare(b.feature),
  );
  const total = features.reduce((sum, feature) => sum + Math.max(0, feature.gain), 0);
  return {
    modelName,
    version: model.version,
    features: features.slice(0, limit).map((feature) => ({
      feature: feature.feature,
      gain: feature.gain,
      splits: feature.splits,
      share: total === 0 ? 0 : feature.gain / total,
    })),
  };
}
