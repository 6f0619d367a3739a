/** JSON API of the historical view. */
import type { FastifyInstance } from 'fastify';
import { QueryParams } from './params.js';
import {
  funnel,
  REVENUE_GROUPINGS,
  revenueSeriesJson,
  startups,
  topCustomers,
  topProducts,
  traffic,
} from './historical.queries.js';
import type { RouteContext } from './route-context.js';
import { JsonText, keyOf } from './route-context.js';

/** Limits of the list endpoints: default and maximum rows. */
export const HISTORICAL_LIMITS = {
  topCustomers: { fallback: 10, max: 100 },
  topProducts: { fallback: 10, max: 100 },
  startups: { fallback: 10, max: 100 },
} as const;

export function registerHistoricalRoutes(app: FastifyInstance, context: RouteContext): void {
  const { gold, respond } = context;

  app.get('/api/historical/revenue', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'groupBy']);
    const range = query.range();
    const groupBy = query.choice('groupBy', REVENUE_GROUPINGS, 'day')!;
    return respond(
      reply,
      keyOf('revenue', { range, groupBy }),
      ['gold'],
      async () => new JsonText(await revenueSeriesJson(gold, range, groupBy)),
    );
  });

  app.get('/api/historical/top-customers', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'limit']);
    const range = query.range();
    const limit = query.limit(HISTORICAL_LIMITS.topCustomers);
    return respond(reply, keyOf('top-customers', { range, limit }), ['gold'], async () => ({
      range,
      limit,
      customers: await topCustomers(gold, range, limit),
    }));
  });

  app.get('/api/historical/top-products', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'limit']);
    const range = query.range();
    const limit = query.limit(HISTORICAL_LIMITS.topProducts);
    return respond(reply, keyOf('top-products', { range, limit }), ['gold'], async () => ({
      range,
      limit,
      products: await topProducts(gold, range, limit),
    }));
  });

  app.get('/api/historical/funnel', async (request, reply) => {
    const range = QueryParams.of(request.query, ['from', 'to']).range();
    return respond(reply, keyOf('funnel', { range }), ['gold'], async () => ({
      range,
      ...(await funnel(gold, range)),
    }));
  });

  app.get('/api/historical/traffic', async (request, reply) => {
    const range = QueryParams.of(request.query, ['from', 'to']).range();
    return respond(reply, keyOf('traffic', { range }), ['gold'], async () => ({
      range,
      ...(await traffic(gold, range)),
    }));
  });

  app.get('/api/historical/startups', async (request, reply) => {
    const limit = QueryParams.of(request.query, ['limit']).limit(HISTORICAL_LIMITS.startups);
    return respond(reply, keyOf('startups', { limit }), ['gold'], async () => ({
      limit,
      ...(await startups(gold, limit)),
    }));
  });
}
