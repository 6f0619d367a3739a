import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, T } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

let world: World;
const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
  world.sql.query(text, params as never) as Promise<R[]>;

beforeAll(async () => {
  world = await buildWorld();
});
afterAll(async () => {
  await world?.close();
});

interface Risk {
  snapshotDate: string;
  customers: number;
  meanProbability: number;
  bands: { band: string; customers: number }[];
  histogram: { from: number; customers: number }[];
}

describe('predictive API', () => {
  it('lists prediction snapshots newest first', async () => {
    const answer = await ok<{ snapshots: { snapshotDate: string; customers: number; modelVersions: string[] }[] }>(
      world,
      '/api/predictive/snapshots',
    );
    const expected = await sql(
      `select snapshot_date::varchar as d, count(*) as n from ${T('fact_predictions_churn')} group by 1 order by 1 desc`,
    );
    expect(answer.snapshots.map((row) => [row.snapshotDate, row.customers])).toEqual(
      expected.map((row) => [row.d, row.n]),
    );
    expect(answer.snapshots[0]!.modelVersions).toEqual([world.ops.championVersion]);
  });

  it('describes the churn-risk distribution of the latest snapshot and of a chosen one', async () => {
    for (const [url, snapshot] of [
      ['/api/predictive/risk', '2026-06-30'],
      ['/api/predictive/risk?snapshot=2026-05-19', '2026-05-19'],
    ] as const) {
      const risk = await ok<Risk>(world, url);
      expect(risk.snapshotDate).toBe(snapshot);
      const bands = await sql(
        `select risk_band, count(*) as n from ${T('fact_predictions_churn')} where snapshot_date = ? group by 1`,
        [snapshot],
      );
      for (const band of risk.bands)
        expect(band.customers).toBe(bands.find((row) => row.risk_band === band.band)?.n ?? 0);
      const bins = await sql(
        `select least(floor(churn_probability * 20), 19)::int as bin, count(*) as n from ${T('fact_predictions_churn')} where snapshot_date = ? group by 1`,
        [snapshot],
      );
      risk.histogram.forEach((bin, index) => expect(bin.customers).toBe(bins.find((row) => row.bin === index)?.n ?? 0));
      const [totals] = await sql(
        `select count(*) as n, avg(churn_probability) as p from ${T('fact_predictions_churn')} where snapshot_date = ?`,
        [snapshot],
      );
      expect(risk.customers).toBe(totals!.n);
      expect(risk.meanProbability).toBeCloseTo(Number(totals!.p), 9);
    }
  });

  it('lists the customers most at risk with their revenue of the last 90 days', async () => {
    const snapshot = '2026-06-23';
    const answer = await ok<{
      highRiskCustomers: number;
      revenueAtRiskUsd: number;
      customers: { customerId: string; churnProbability: number; revenueAtRiskUsd: number }[];
    }>(world, `/api/predictive/at-risk?snapshot=${snapshot}&limit=8`);
    // Written differently from the API (a correlated subquery), on purpose.
    const expected = await sql(
      `select p.customer_id, p.churn_probability,
              (select coalesce(sum(s.net_amount_usd), 0)::double from ${T('fct_sales')} s
                where s.customer_id = p.customer_id and s.is_completed and s.order_date between ?::date - 89 and ?::date) as revenue
       from ${T('fact_predictions_churn')} p where p.snapshot_date = ? order by p.churn_probability desc, p.customer_id limit 8`,
      [snapshot, snapshot, snapshot],
    );
    expect(answer.customers.map((row) => [row.customerId, row.churnProbability, row.revenueAtRiskUsd])).toEqual(
      expected.map((row) => [row.customer_id, row.churn_probability, Math.round(Number(row.revenue) * 100) / 100]),
    );
    const [high] = await sql(
      `select count(*) as n,
              (select coalesce(sum(s.net_amount_usd), 0)::double from ${T('fct_sales')} s
                where s.is_completed and s.order_date between ?::date - 89 and ?::date
                  and s.customer_id in (select customer_id from ${T('fact_predictions_churn')} where snapshot_date = ? and risk_band = 'high')) as revenue
       from ${T('fact_predictions_churn')} where snapshot_date = ? and risk_band = 'high'`,
      [snapshot, snapshot, snapshot, snapshot],
    );
    expect(answer.highRiskCustomers).toBe(high!.n);
    expect(answer.revenueAtRiskUsd).toBeCloseTo(Number(high!.revenue), 2);
    expect(answer.revenueAtRiskUsd).toBeGreaterThan(0);

    const mediumOnly = await ok<{ customers: { riskBand: string }[] }>(
      world,
      `/api/predictive/at-risk?snapshot=${snapshot}&band=medium&limit=5`,
    );
    expect(mediumOnly.customers.length).toBe(5);
    expect(new Set(mediumOnly.customers.map((row) => row.riskBand))).toEqual(new Set(['medium']));
  });

  it('compares predicted with observed churn for snapshots at least 30 days old', async () => {
    const answer = await ok<{
      dataThrough: string;
      snapshots: { snapshotDate: string; customers: number; predictedChurnRate: number; actualChurnRate: number }[];
    }>(world, '/api/predictive/predicted-vs-actual?limit=50');
    expect(answer.dataThrough).toBe('2026-06-30');
    const eligible = await sql(
      `select distinct snapshot_date::varchar as d from ${T('fact_predictions_churn')} where snapshot_date + 30 <= date '2026-06-30' order by 1`,
    );
    expect(answer.snapshots.map((row) => row.snapshotDate)).toEqual(eligible.map((row) => row.d));
    expect(answer.snapshots.length).toBeGreaterThan(5);
    const observed = await sql(
      `select p.snapshot_date::varchar as d, count(*) as n, avg(p.churn_probability) as predicted,
              avg(case when not exists (select 1 from ${T('fct_sales')} s where s.customer_id = p.customer_id and s.order_date > p.snapshot_date and s.order_date <= p.snapshot_date + 30) then 1 else 0 end) as actual
       from ${T('fact_predictions_churn')} p where p.snapshot_date + 30 <= date '2026-06-30' group by 1 order by 1`,
    );
    answer.snapshots.forEach((row, index) => {
      expect(row.customers).toBe(observed[index]!.n);
      expect(row.predictedChurnRate).toBeCloseTo(Number(observed[index]!.predicted), 9);
      expect(row.actualChurnRate).toBeCloseTo(Number(observed[index]!.actual), 9);
    });
    // Other ranges reuse the snapshots already judged and judge the rest: the same numbers either way.
    const fresh = await ok<{ snapshots: { snapshotDate: string; actualChurnRate: number }[] }>(
      world,
      '/api/predictive/predicted-vs-actual?from=2026-03-01&to=2026-04-10&limit=3',
    );
    const ranged = await ok<{ snapshots: { snapshotDate: string; actualChurnRate: number }[] }>(
      world,
      '/api/predictive/predicted-vs-actual?from=2026-04-01&to=2026-04-30',
    );
    expect(ranged.snapshots.every((row) => row.snapshotDate >= '2026-04-01' && row.snapshotDate <= '2026-04-30')).toBe(
      true,
    );
    expect(ranged.snapshots.length).toBeGreaterThan(0);
    for (const row of [...fresh.snapshots, ...ranged.snapshots]) {
      expect(row.actualChurnRate).toBe(
        answer.snapshots.find((item) => item.snapshotDate === row.snapshotDate)!.actualChurnRate,
      );
    }
    const latest = await ok<{ snapshots: { snapshotDate: string }[] }>(
      world,
      '/api/predictive/predicted-vs-actual?limit=2',
    );
    expect(latest.snapshots.map((row) => row.snapshotDate)).toEqual(eligible.slice(-2).map((row) => row.d));
  });

  it('shows the model versions, the champion, and its feature importance', async () => {
    const models = await ok<{
      champion: string;
      versions: { version: string; rocAuc: number; isChampion: boolean; wasChampion: boolean }[];
    }>(world, '/api/predictive/models');
    expect(models.champion).toBe(world.ops.championVersion);
    expect(models.versions.map((row) => row.version)).toEqual(world.ops.versions.map((version) => version.version));
    expect(models.versions.filter((row) => row.isChampion).map((row) => row.version)).toEqual([
      world.ops.championVersion,
    ]);
    const promotions = await world.ops.registry.promotions('churn');
    expect(
      models.versions
        .filter((row) => row.wasChampion)
        .map((row) => row.version)
        .sort(),
    ).toEqual(promotions.map((p) => p.version).sort());

    const features = await ok<{ version: string; features: { feature: string; gain: number; share: number }[] }>(
      world,
      '/api/predictive/feature-importance?limit=3',
    );
    expect(features.version).toBe(world.ops.championVersion);
    expect(features.features.map((row) => row.feature)).toEqual([
      'days_since_last_order',
      'orders_90d',
      'sessions_trend_28d',
    ]);
    expect(features.features[0]!.share).toBeCloseTo(120 / 287, 12);

    const { kpis } = await ok<{
      kpis: { championRocAuc: number; championVersion: string; highRiskCustomers: number; modelVersions: number };
    }>(world, '/api/kpis?view=predictive');
    const champion = world.ops.versions.find((version) => version.version === world.ops.championVersion)!;
    expect(kpis.championVersion).toBe(champion.version);
    expect(kpis.championRocAuc).toBe(champion.metrics.rocAuc);
    expect(kpis.modelVersions).toBe(world.ops.versions.length);
    const [high] = await sql(
      `select count(*) as n from ${T('fact_predictions_churn')} where snapshot_date = date '2026-06-30' and risk_band = 'high'`,
    );
    expect(kpis.highRiskCustomers).toBe(high!.n);
  });
});
