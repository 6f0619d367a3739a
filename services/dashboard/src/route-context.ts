/**
 * What every route module receives: the data sources and `respond`, which caches an answer's
 * JSON per (endpoint, parameters, data version) and sends it. While a writer holds the warehouse
 * and an answer of the new version cannot be computed, the last answer computed for the same
 * request is sent instead, marked `x-mlops-data: stale`.
 */
import { type LedgerEntry, type ModelRegistry, errorCode } from '@mlops/kernel';
import type { FastifyReply } from 'fastify';
import type { AnswerCache } from './cache.js';
import { withFallback, type GoldReader } from './gold.reader.js';
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

/** Build `respond` from the cache and the two version sources; `lastGood` answers are kept up to `keep`. */
export function createResponder(
  cache: AnswerCache,
  versions: { gold: () => Promise<string | undefined>; live: () => string },
  keep = 500,
): RouteContext['respond'] {
  const lastGood = new Map<string, Buffer>();
  return async (reply, key, sources, compute) => {
    const parts: string[] = [];
    let cacheable = true;
    for (const source of sources) {
      const version = source === 'gold' ? await versions.gold() : versions.live();
      if (version === undefined) cacheable = false;
      else parts.push(version);
    }
    let body: Buffer;
    let stale = false;
    const held = lastGood.get(key);
    // Held as bytes: a repeated answer is sent without measuring or encoding its text again.
    const computeJson = async () => {
      const answer = await compute();
      if (!(answer instanceof JsonText)) return Buffer.from(JSON.stringify(answer));
      return typeof answer.text === 'string' ? Buffer.from(answer.text) : answer.text;
    };
    try {
      body = await cache.remember(
        `json:${key}`,
        cacheable ? parts.join('|') : undefined,
        held === undefined ? computeJson : () => withFallback(computeJson),
      );
      lastGood.delete(key);
      lastGood.set(key, body);
      while (lastGood.size > keep) lastGood.delete(lastGood.keys().next().value as string);
    } catch (error) {
      if (held === undefined || errorCode(error) !== 'DASHBOARD.WAREHOUSE_UNAVAILABLE') throw error;
      body = held;
      stale = true;
    }
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-mlops-data', stale ? 'stale' : 'current')
      .send(body);
  };
}

/** An answer already serialised as JSON (sent as it is): for answers joined from JSON made once per version. */
export class JsonText {
  constructor(readonly text: string | Buffer) {}
}

/** A cache key from an endpoint and its validated parameters. */
export function keyOf(endpoint: string, params: Record<string, unknown>): string {
  return `${endpoint}?${JSON.stringify(params)}`;
}
