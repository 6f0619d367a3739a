/**
 * What every route module receives: the data sources and `respond`, which caches an answer's
 * JSON per (endpoint, parameters, data version) and sends it.
 */
import type { LedgerEntry, ModelRegistry } from '@mlops/shared';
import type { FastifyReply } from 'fastify';
import type { AnswerCache } from './cache.js';
import type { GoldReader } from './gold.reader.js';
import type { BusView } from './operations.queries.js';

/** Which sources an answer is computed from (they decide how long it may be reused). */
export type Source = 'gold' | 'live';

/** The dependencies of the route modules. */
export interface RouteContext {
  gold: GoldReader;
  registry: ModelRegistry;
  bus: BusView;
  /** Every ledger entry, oldest first (read once per live slot). */
  ledgerEntries: () => Promise<LedgerEntry[]>;
  /** A value from a live source (the registry, the ledger), computed once per live slot whatever the request. */
  liveValue<T>(key: string, compute: () => Promise<T>): Promise<T>;
  modelName: string;
  horizonDays: number;
  /** Compute (or reuse) an answer and send it as JSON. */
  respond(
    reply: FastifyReply,
    key: string,
    sources: readonly Source[],
    compute: () => Promise<unknown>,
  ): Promise<FastifyReply>;
}

/** Build `respond` from the cache and the two version sources. */
export function createResponder(
  cache: AnswerCache,
  versions: { gold: () => Promise<string | undefined>; live: () => string },
): RouteContext['respond'] {
  return async (reply, key, sources, compute) => {
    const parts: string[] = [];
    let cacheable = true;
    for (const source of sources) {
      const version = source === 'gold' ? await versions.gold() : versions.live();
      if (version === undefined) cacheable = false;
      else parts.push(version);
    }
    const body = await cache.remember(`json:${key}`, cacheable ? parts.join('|') : undefined, async () =>
      JSON.stringify(await compute()),
    );
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(body);
  };
}

/** A cache key from an endpoint and its validated parameters. */
export function keyOf(endpoint: string, params: Record<string, unknown>): string {
  return `${endpoint}?${JSON.stringify(params)}`;
}
