/** JSON API of the operations view. */
import type { FastifyInstance } from 'fastify';
import { QueryParams } from './params.js';
import { dataQuality, deadLetters, promotions, recentEvents, runs, subscriptions } from './operations.queries.js';
import type { RouteContext } from './route-context.js';
import { keyOf } from './route-context.js';

/** Limits of the list endpoints: default and maximum rows. */
export const OPERATIONS_LIMITS = {
  runs: { fallback: 20, max: 500 },
  events: { fallback: 50, max: 1000 },
  deadLetters: { fallback: 50, max: 1000 },
  quality: { fallback: 20, max: 500 },
  promotions: { fallback: 20, max: 500 },
} as const;

export function registerOperationsRoutes(app: FastifyInstance, context: RouteContext): void {
  const { ledgerEntries, bus, registry, respond } = context;

  app.get('/api/operations/runs', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'limit']);
    const range = query.range();
    const limit = query.limit(OPERATIONS_LIMITS.runs);
    return respond(reply, keyOf('runs', { range, limit }), ['live'], async () => ({
      range,
      limit,
      ...(await runs(ledgerEntries, range, limit)),
    }));
  });

  app.get('/api/operations/events', async (request, reply) => {
    const query = QueryParams.of(request.query, ['limit', 'runId']);
    const limit = query.limit(OPERATIONS_LIMITS.events);
    const runId = query.identifier('runId');
    return respond(reply, keyOf('events', { limit, runId }), ['live'], async () => ({
      limit,
      runId: runId ?? null,
      ...(await recentEvents(ledgerEntries, limit, runId)),
    }));
  });

  app.get('/api/operations/dead-letters', async (request, reply) => {
    const limit = QueryParams.of(request.query, ['limit']).limit(OPERATIONS_LIMITS.deadLetters);
    return respond(reply, keyOf('dead-letters', { limit }), ['live'], async () => ({
      limit,
      ...(await deadLetters(bus, limit)),
    }));
  });

  app.get('/api/operations/subscriptions', async (request, reply) => {
    QueryParams.of(request.query, []);
    return respond(reply, keyOf('subscriptions', {}), ['live'], () => subscriptions(bus));
  });

  app.get('/api/operations/quality', async (request, reply) => {
    const query = QueryParams.of(request.query, ['from', 'to', 'limit']);
    const range = query.range();
    const limit = query.limit(OPERATIONS_LIMITS.quality);
    return respond(reply, keyOf('quality', { range, limit }), ['live'], async () => ({
      range,
      limit,
      ...(await dataQuality(ledgerEntries, range, limit)),
    }));
  });

  app.get('/api/operations/promotions', async (request, reply) => {
    const limit = QueryParams.of(request.query, ['limit']).limit(OPERATIONS_LIMITS.promotions);
    return respond(reply, keyOf('promotions', { limit }), ['live'], async () => ({
      limit,
      ...(await promotions(registry, context.modelName, limit)),
    }));
  });
}
