/** Health, metadata (what data exists) and the key figures of each view. */
import type { FastifyInstance } from 'fastify';
import { DashboardErrors } from './errors.js';
import { GOLD_TABLES } from './gold.reader.js';
import { funnel, salesBounds, salesSummary, startups } from './historical.queries.js';
import { runs, subscriptions } from './operations.queries.js';
import { QueryParams } from './params.js';
import { resolveSnapshot, revenueAtRisk, riskDistribution, snapshots } from './predictive.queries.js';
import type { RouteContext } from './route-context.js';
import { keyOf } from './route-context.js';

/** The views of the page. */
export const VIEWS = ['historical', 'predictive', 'operations'] as const;
/** One view. */
export type View = (typeof VIEWS)[number];

export function registerOverviewRoutes(app: FastifyInstance, context: RouteContext): void {
  const { gold, registry, bus, ledgerEntries, liveValue, respond, modelName } = context;

  app.get('/api/health', async (request, reply) => {
    QueryParams.of(request.query, []);
    return reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });

  app.get('/api/meta', async (request, reply) => {
    QueryParams.of(request.query, []);
    return respond(reply, keyOf('meta', {}), ['gold'], async () => {
      const tables: Record<string, boolean> = {};
      for (const table of GOLD_TABLES) tables[table] = await gold.has(table);
      const bounds = await salesBounds(gold);
      const all = await snapshots(gold);
      return {
        views: VIEWS,
        horizonDays: context.horizonDays,
        modelName,
        tables,
        sales: bounds,
        snapshots: {
          count: all.length,
          latest: all[0]?.snapshotDate ?? null,
          earliest: all[all.length - 1]?.snapshotDate ?? null,
        },
      };
    });
  });

  app.get('/api/kpis', async (request, reply) => {
    const query = QueryParams.of(request.query, ['view', 'from', 'to', 'snapshot']);
    const view = query.text('view');
    if (view === undefined) throw DashboardErrors.missingParameter('view', `one of ${VIEWS.join(', ')}`);
    if (!(VIEWS as readonly string[]).includes(view)) throw DashboardErrors.unknownView(view, VIEWS);
    const range = query.range();
    const requested = query.date('snapshot');
    switch (view as View) {
      case 'historical':
        return respond(reply, keyOf('kpis-historical', { range }), ['gold'], async () => {
          const [sales, sessions, companies] = await Promise.all([
            salesSummary(gold, range),
            funnel(gold, range),
            startups(gold, 1),
          ]);
          return {
            view,
            range,
            kpis: {
              ...sales,
              sessions: sessions.sessions,
              conversionRate: sessions.conversionRate,
              startups: companies.companies,
              startupFundingUsd: companies.totalFundingUsd,
            },
          };
        });
      case 'predictive':
        return respond(reply, keyOf('kpis-predictive', { requested }), ['gold', 'live'], async () => {
          const snapshotDate = await resolveSnapshot(gold, requested);
          // The registry's figures are the same for every snapshot: read once per live slot.
          const models = () =>
            liveValue('registry-summary', async () => ({
              champion: await registry.champion(modelName),
              versions: (await registry.list(modelName)).length,
            }));
          const [risk, atRisk, { champion, versions }] = await Promise.all([
            riskDistribution(gold, snapshotDate),
            revenueAtRisk(gold, snapshotDate),
            models(),
          ]);
          return {
            view,
            snapshotDate,
            kpis: {
              customersScored: risk.customers,
              meanProbability: risk.meanProbability,
              highRiskCustomers: atRisk.highRiskCustomers,
              revenueAtRiskUsd: atRisk.revenueAtRiskUsd,
              championVersion: champion?.version ?? null,
              championRocAuc: champion?.metrics?.rocAuc ?? null,
              championPrAuc: champion?.metrics?.prAuc ?? null,
              modelVersions: versions,
            },
          };
        });
      case 'operations':
        return respond(reply, keyOf('kpis-operations', { range }), ['live'], async () => {
          // The bus's and the registry's figures are the same for every range: read once per live slot.
          const [summary, stats, letters, history] = await Promise.all([
            runs(ledgerEntries, range, 1),
            liveValue('subscriptions', () => subscriptions(bus)),
            liveValue('dead-letters:1000', () => bus.listDeadLetters({ limit: 1000 })),
            liveValue('promotions', () => registry.promotions(modelName)),
          ]);
          const last = summary.runs[0] ?? null;
          return {
            view,
            range,
            kpis: {
              runs: summary.total,
              succeededRuns: summary.byStatus.succeeded ?? 0,
              failedRuns: summary.byStatus.failed ?? 0,
              runningRuns: summary.byStatus.running ?? 0,
              lastRun: last
                ? { runId: last.runId, runDate: last.runDate, status: last.status, durationMs: last.durationMs }
                : null,
              deadLetters: letters.length,
              deadLettersCapped: letters.length >= 1000,
              pendingMessages: stats.totals.pending + stats.totals.inFlight,
              promotions: history.length,
            },
          };
        });
    }
  });
}
