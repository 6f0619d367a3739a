/** JSON API of the predictive view. */
import type { FastifyInstance } from 'fastify';
import { QueryParams } from './params.js';
import {
  AT_RISK_LIST_MAX,
  customersAtRisk,
  featureImportance,
  modelVersions,
  predictedVsActual,
  resolveSnapshot,
  RISK_BANDS,
  riskDistribution,
  snapshots,
  winBack,
} from './predictive.queries.js';
import type { RouteContext } from './route-context.js';
import { keyOf } from './route-context.js';

/** Limits of the list endpoints: default and maximum rows. */
export const PREDICTIVE_LIMITS = {
  snapshots: { fallback: 100, max: 1000 },
  atRisk: { fallback: 15, max: AT_RISK_LIST_MAX },
  features: { fallback: 15, max: 200 },
  predictedVsActual: { fallback: 12, max: 104 },
} as const;

export function registerPredictiveRoutes(app: FastifyInstance, context: RouteContext): void {
  const { gold, registry, respond, modelName, horizonDays } = context;

  app.get('/api/predictive/snapshots', async (request, reply) => {
    const limit = QueryParams.of(request.query, ['limit']).limit(PREDICTIVE_LIMITS.snapshots);
    return respond(reply, keyOf('snapshots', { limit }), ['gold'], async () => ({
      limit,
      snapshots: (await snapshots(gold)).slice(0, limit),
    }));
  });

  app.get('/api/predictive/risk', async (request, reply) => {
    const requested = QueryParams.of(request.query, ['snapshot']).date('snapshot');
    return respond(reply, keyOf('risk', { requested }), ['gold'], async () => {
      const snapshotDate = await resolveSnapshot(gold, requested);
      return {
        ...(await riskDistribution(gold, snapshotDate)),
        winBack: await winBack(gold, snapshotDate, horizonDays),
      };
    });
  });

  app.get('/api/predictive/at-risk', async (request, reply) => {
    const query = QueryParams.of(request.query, ['snapshot', 'limit', 'band']);
    const requested = query.date('snapshot');
    const limit = query.limit(PREDICTIVE_LIMITS.atRisk);
    const band = query.choice('band', RISK_BANDS);
    return respond(reply, keyOf('at-risk', { requested, limit, band }), ['gold'], async () => ({
      limit,
      band: band ?? null,
      ...(await customersAtRisk(gold, await resolveSnapshot(gold, requested), limit, band)),
    }));
  });

  app.get('/api/predictive/models', async (request, reply) => {
    QueryParams.of(request.query, []);
    return respond(reply, keyOf('models', {}), ['live'], () => modelVersions(registry, modelName));
  });

  app.get('/api/predictive/feature-importance', async (request, reply) => {
    const limit = QueryParams.of(request.query, ['limit']).limit(PREDICTIVE_LIMITS.features);
    return respond(reply, keyOf('features', { limit }), ['live'], () => featureImportance(registry, modelName, limit));
  });

  app.get('/api/predictive/predicted-vs-actual', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'limit']);
    const range = query.range();
    const limit = query.limit(PREDICTIVE_LIMITS.predictedVsActual);
    return respond(reply, keyOf('predicted-vs-actual', { range, limit }), ['gold'], async () => ({
      range,
      limit,
      ...(await predictedVsActual(gold, range, limit, horizonDays)),
    }));
  });
}
